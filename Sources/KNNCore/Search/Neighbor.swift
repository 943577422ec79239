/// One candidate neighbour. Neighbours are ordered by distance, then by id, so that ties never
/// depend on visiting order or timing.
public struct Neighbor: Equatable, Comparable, Sendable, BitwiseCopyable {
    public var distance: Float
    public var id: Int

    public init(distance: Float, id: Int) {
        self.distance = distance
        self.id = id
    }

    @inline(__always)
    public static func < (a: Neighbor, b: Neighbor) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.id < b.id)
    }
}
