/// A read-only view of `rows` float32 vectors of `dim` components, row `i` starting at
/// `base + i * stride`.
///
/// The stride lets one type cover every layout without copying: a NumPy float32 file maps with
/// `stride == dim`; an fvecs file maps with `stride == dim + 1`, each row preceded by its 4-byte
/// dimension header; an owned buffer is packed (`stride == dim`) and 64-byte aligned.
/// `owner` keeps the memory (a mapping or a buffer) alive for as long as any view exists.
public struct VectorMatrix: @unchecked Sendable {
    public let rows: Int
    public let dim: Int
    public let stride: Int
    public let base: UnsafePointer<Float>
    private let owner: AnyObject
    var ownerObject: AnyObject { owner }

    init(rows: Int, dim: Int, stride: Int, base: UnsafePointer<Float>, owner: AnyObject) {
        self.rows = rows
        self.dim = dim
        self.stride = stride
        self.base = base
        self.owner = owner
    }

    @inline(__always)
    public func row(_ i: Int) -> UnsafePointer<Float> { base + i &* stride }

    /// Rows `range` as a matrix of their own (row 0 is row `range.lowerBound`), sharing this
    /// one's memory.
    func rows(_ range: Range<Int>) -> VectorMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows)
        return VectorMatrix(rows: range.count, dim: dim, stride: stride, base: base + range.lowerBound * stride, owner: owner)
    }

    /// A new packed matrix whose rows are filled by `fill(row, destination)`.
    public static func make(rows: Int, dim: Int, fill: (Int, UnsafeMutablePointer<Float>) throws(KNNError) -> Void) throws(KNNError) -> VectorMatrix {
        let buffer = FloatBuffer(count: rows * dim)
        for i in 0..<rows { try fill(i, buffer.pointer + i * dim) }
        return VectorMatrix(rows: rows, dim: dim, stride: dim, base: UnsafePointer(buffer.pointer), owner: buffer)
    }

    /// A packed matrix holding a copy of `values` (row-major), for tests and small inputs.
    public init(rows: Int, dim: Int, values: [Float]) {
        precondition(values.count == rows * dim, "values must hold rows × dim floats")
        let buffer = FloatBuffer(count: rows * dim)
        values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: values.count) }
        self.init(rows: rows, dim: dim, stride: dim, base: UnsafePointer(buffer.pointer), owner: buffer)
    }

    /// A view of rows that live inside a memory map.
    init(mapping: MappedFile, byteOffset: Int, rows: Int, dim: Int, stride: Int) {
        let base = mapping.bytes.baseAddress!.advanced(by: byteOffset).assumingMemoryBound(to: Float.self)
        self.init(rows: rows, dim: dim, stride: stride, base: base, owner: mapping)
    }

    /// For a view of a memory map, drops the pages holding `rows` from memory (they are read
    /// again if touched); for an owned buffer, does nothing.
    func releasePages(rows: Range<Int>) {
        guard let file = owner as? MappedFile, !rows.isEmpty, let start = file.bytes.baseAddress else { return }
        let offset = UnsafeRawPointer(row(rows.lowerBound)) - start
        let end = UnsafeRawPointer(row(rows.upperBound - 1) + dim) - start
        file.releasePages(offset..<end)
    }

    /// Copies row `i` into `destination`. Rows of a memory map are read with `pread`, not
    /// through the map: scattered reads through a map fault in the cached pages around each row
    /// too, so a few thousand of them make the whole file resident in this process.
    func copyRow(_ i: Int, into destination: UnsafeMutablePointer<Float>) {
        if let file = owner as? MappedFile, let start = file.bytes.baseAddress {
            file.copyBytes(at: UnsafeRawPointer(row(i)) - start, count: dim * MemoryLayout<Float>.size, into: UnsafeMutableRawPointer(destination))
        } else {
            destination.update(from: row(i), count: dim)
        }
    }

    /// Bytes this matrix's rows occupy (the payload, not counting row headers).
    public var payloadBytes: Int { rows * dim * MemoryLayout<Float>.size }

    /// The rows as nested arrays, for tests.
    public func toArrays() -> [[Float]] {
        (0..<rows).map { i in Array(UnsafeBufferPointer(start: row(i), count: dim)) }
    }
}
