/// Splits the queries into blocks, written in order one after another, and each block into
/// slices, which the workers take one at a time.
///
/// A block bounds memory: only its result rows (and the previous block's, while it is written)
/// exist at once, however many queries there are. A slice bounds the work a worker takes at a
/// time; too small a slice re-reads the index too often, too large one leaves workers idle at the
/// end of a block. Results never depend on either size.
public struct Planner: Equatable, Sendable {
    public let queryCount: Int
    public let threads: Int
    public let blockSize: Int
    public let sliceSize: Int
    /// What the block search keeps beside the result rows (`BlockScratch`).
    let scratch: BlockScratch

    /// Result rows of one block (ids and distances, and the block search's scratch per query)
    /// are capped to this many bytes, whatever the job asks for.
    static let blockResultBytes = 64 << 20
    static let defaultBlockQueries = 16_384
    static let defaultSliceQueries = 64

    /// `sliceQueries` is the job's setting, else the index type's preference, else 64.
    init(queryCount: Int, k: Int, threads: Int, blockQueries: Int? = nil, sliceQueries: Int? = nil, scratch: BlockScratch = .none) {
        self.queryCount = queryCount
        self.threads = max(1, threads)
        self.scratch = scratch
        let rowBytes = k * (MemoryLayout<Int64>.size + MemoryLayout<Float>.size) + scratch.perQuery
        let cap = max(1, Self.blockResultBytes / rowBytes)
        blockSize = max(1, min(blockQueries ?? Self.defaultBlockQueries, cap, max(queryCount, 1)))
        sliceSize = max(1, min(sliceQueries ?? Self.defaultSliceQueries, blockSize))
    }

    public var blockCount: Int { (queryCount + blockSize - 1) / blockSize }

    /// Workers that can have a slice at once: no block has more slices than queries, so threads
    /// beyond that would only hold scratch.
    public var workers: Int { min(threads, blockSize) }

    public func block(_ index: Int) -> Range<Int> {
        let start = index * blockSize
        return start..<min(start + blockSize, queryCount)
    }

    /// The block's slices, relative to its first query: as many as `sliceSize` asks for, rounded
    /// up to a multiple of the workers and made equal, so that no worker is left with a last
    /// slice while the others wait (5 slices of 2,048 on 2 workers kept one idle a sixth of the
    /// time). `sliceSize` is a maximum.
    public func slices(ofBlockWith rows: Int) -> [Range<Int>] {
        guard rows > 0 else { return [] }
        let wanted = (rows + sliceSize - 1) / sliceSize
        let count = min(rows, (wanted + threads - 1) / threads * threads)
        return (0..<count).map { (rows * $0 / count)..<(rows * ($0 + 1) / count) }
    }
}

extension Planner {
    /// The plan of a job, the same for `validate` and `run`: the block search's scratch counts
    /// against blocks. `scratch` is the built index's, which can exceed the spec's estimate when
    /// the data holds identical rows (`DuplicateRows`).
    /// `k`: the neighbours searched per query, when more than the job's (a dataset shard of a
    /// self-join searches one more).
    static func forJob(_ spec: JobSpec, queryCount: Int, datasetRows: Int, dim: Int, threads: Int, scratch: BlockScratch? = nil, k: Int? = nil) -> Planner {
        Planner(queryCount: queryCount, k: k ?? spec.k, threads: threads, blockQueries: spec.planner.blockQueries,
                sliceQueries: spec.planner.sliceQueries ?? spec.index.resolved(dim: dim, count: datasetRows, metric: spec.metric).spec.preferredSliceQueries,
                scratch: scratch ?? spec.index.blockScratch(k: spec.k, dim: dim, count: datasetRows, metric: spec.metric))
    }
}
