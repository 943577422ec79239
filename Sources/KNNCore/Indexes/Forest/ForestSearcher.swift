import KNNKernelsVNNI

/// Searches a `Forest` for one worker: every tree's root enters one queue; the node with the
/// largest priority (the smallest margin on the query's side along its path) is opened next,
/// until the leaves reached hold `search_budget` ids, counting an id found by several trees each
/// time (as Annoy's search_k); the distinct ones that may be among the k nearest (all of them,
/// or those the int16 prefilter keeps) are scored with the exact kernels. De-duplication stamps
/// a per-worker array, so nothing is allocated per query.
final class ForestSearcher: NeighborSearcher, CandidateFinder {
    let forest: Forest
    let k: Int
    let budget: Int
    private let topK: TopK
    /// Open nodes, largest priority first (stored negated in a min-heap).
    private let queue = MinHeap<OpenNode>(capacity: 1024)
    /// Per vector the stamp of the last query that found it; the ids found, in order. Raw
    /// buffers: a Swift array's uniqueness check on every write cost 2% of a search.
    private let stamps: AlignedBuffer<UInt32>
    private var stamp: UInt32 = 0
    private let found: AlignedBuffer<Int32>
    private var foundCount = 0
    private var candidates: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: found.pointer, count: foundCount) }
    /// The prefilter's scratch: the candidates' integer dots and (distance, id) keys, the
    /// query's code and its centred copy.
    private let dots: AlignedBuffer<Int32>
    private let keys: AlignedBuffer<UInt64>
    private let queryWords: AlignedBuffer<Int32>
    private let queryScratch: FloatBuffer
    /// The query's code for the walk's plane codes (`PlaneCodes`), zero-padded.
    private let queryPlaneWords: AlignedBuffer<Int32>

    init(forest: Forest, k: Int) {
        self.forest = forest
        self.k = k
        budget = forest.parameters.budget(k: k)
        topK = TopK(k: k)
        stamps = AlignedBuffer(count: max(forest.count, 1))
        // Distinct ids: the walk opens leaves until `budget` ids are gathered, so at most
        // budget − 1 and one more leaf, and at most n; and the slot past them that a repeated
        // id is written to (`collect`).
        let most = min(forest.count, budget + forest.largestLeaf) + 1
        found = AlignedBuffer(count: most, zeroed: false)
        let rowWords = forest.codes?.rowWords ?? 0, codedRows = forest.codes == nil ? 0 : most
        (dots, keys) = (AlignedBuffer(count: codedRows, zeroed: false), AlignedBuffer(count: codedRows, zeroed: false))
        (queryWords, queryScratch) = (AlignedBuffer(count: rowWords), FloatBuffer(count: forest.codes == nil ? 0 : forest.dim))
        queryPlaneWords = AlignedBuffer(count: forest.planeCodes?.rowWords ?? 0)
    }

    /// Each query's distinct candidates (its own id left out in a self-join) into its row of
    /// `rows`: those that may be among its k nearest, where the forest has codes (`prefilter`);
    /// all of them otherwise.
    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows) {
        for q in 0..<batch.vectors.rows {
            collect(batch.vectors.row(q))
            let ids = rows.ids(ofRow: q), excluded = batch.excludedID(ofRow: q)
            if let codes = forest.codes, foundCount > 2 * k {
                rows.setCount(prefilter(batch.vectors.row(q), codes: codes, excluded: excluded, into: ids, room: rows.perRow), ofRow: q)
                continue
            }
            var written = 0
            for id in candidates where Int(id) != excluded && written < rows.perRow {
                ids[written] = id
                written += 1
            }
            rows.setCount(written, ofRow: q)
        }
    }

    /// Writes to `ids` the found candidates whose code distance is within the slack of the k-th
    /// smallest (`excluded` left out) and returns how many: the argument of `CandidateFilters`,
    /// with the code distance as the approximate score, so the exact k nearest among them are
    /// the exact k nearest among all found. A few dozen rows are then read and scored exactly
    /// instead of thousands.
    private func prefilter(_ query: UnsafePointer<Float>, codes: NavigationCodes, excluded: Int, into ids: UnsafeMutablePointer<Int32>, room: Int) -> Int {
        let count = foundCount, found = found.pointer
        let (navigation, error) = codes.query(query, row: queryWords.pointer, scratch: queryScratch.pointer)
        let view = codes.view
        KernelVariant.selected.quantizedDots(navigation.words!, base: view.words, words: view.rowWords, ids: found, count: count, into: dots.pointer)
        // Keys of (distance, id), the excluded id's at +∞: the k-th smallest is the cut-off.
        for i in 0..<count {
            let id = Int(found[i])
            keys.pointer[i] = SelectionPools.key(score: id == excluded ? .infinity : view.distance(dot: dots.pointer[i], navigation, id), id: id)
        }
        SelectionPools.select(keys.pointer, count: count, nth: k - 1)
        let kth = SelectionPools.score(ofKey: keys.pointer[k - 1])
        let queryNorm = Double(Kernels.dot(query, query, count: forest.dim)).squareRoot()
        let limit = kth.isFinite ? (kth + CandidateFilters.slack(metric: forest.metric, dim: forest.dim, queryNorm: queryNorm,
                                                                  maxNorm: codes.maxNorm, scoreError: error)).nextUp : Float.infinity
        var written = 0
        for i in 0..<count where written < room {
            let id = Int32(truncatingIfNeeded: keys.pointer[i])
            guard Int(id) != excluded, SelectionPools.score(ofKey: keys.pointer[i]) <= limit else { continue }
            ids[written] = id
            written += 1
        }
        return written
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        let dim = forest.dim, metric = forest.metric, points = forest.points.pointer
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            collect(query)
            topK.reset()
            let excluded = batch.excludedID(ofRow: q)
            // Candidates' rows lie all over the vectors: each is fetched a few candidates ahead,
            // so that its cache misses overlap the scoring of the ones before.
            let rowBytes = dim * MemoryLayout<Float>.size, ahead = 6
            let ids = candidates
            for i in 0..<min(ahead, ids.count) { Self.fetch(points + Int(ids[i]) * dim, bytes: rowBytes) }
            for i in 0..<ids.count {
                if i + ahead < ids.count { Self.fetch(points + Int(ids[i + ahead]) * dim, bytes: rowBytes) }
                let id = Int(ids[i])
                guard id != excluded else { continue }
                let key = metric.exactKey(query, points + id * dim, dim: dim)
                if key <= topK.threshold { topK.push(key, id) }
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    /// Walks the trees for `query` into `candidates`, distinct ids in the order found.
    private func collect(_ query: UnsafePointer<Float>) {
        let forest = forest, dim = forest.dim
        let planes = forest.planes.pointer, children = forest.children.pointer
        let leafStarts = forest.leafStarts.pointer, items = forest.items.pointer
        // With plane codes a margin is an integer dot product times the two scales.
        let planeCodes = forest.planeCodes, kernel = KernelVariant.selected
        let planeWords = planeCodes?.words.pointer, planeScales = planeCodes?.scales.pointer, rowWords = planeCodes?.rowWords ?? 0
        let queryScale = planeCodes == nil ? 0
            : Int16Quantization.encode(query, dim: dim, negate: false, into: queryPlaneWords.pointer, stride: 1).inverseScale
        let queryWords = UnsafePointer(queryPlaneWords.pointer)
        let fetchBytes = planeCodes == nil ? (dim + 1) * 4 : rowWords * 4
        @inline(__always) func margin(_ ref: Int) -> Double {
            if let planeWords, let planeScales {
                return Double(Float(kernel.quantizedDot(queryWords, planeWords + ref * rowWords, words: rowWords)) * queryScale * planeScales[ref])
            }
            let plane = planes + ref * (dim + 1)
            return Double(Kernels.dot(plane, query, count: dim) + plane[dim])
        }
        @inline(__always) func fetch(_ ref: Int) {
            Self.fetch(planeWords.map { UnsafeRawPointer($0 + ref * rowWords) } ?? UnsafeRawPointer(planes + ref * (dim + 1)), bytes: fetchBytes)
            if let planeScales { Prefetch.read(planeScales + ref) }
        }
        do {
            queue.removeAll()
            for t in 0..<forest.parameters.trees { queue.push(OpenNode(bound: -.infinity, node: Int(forest.roots.pointer[t]))) }
            foundCount = 0
            stamp &+= 1
            if stamp == 0 {
                stamps.pointer.update(repeating: 0, count: forest.count)
                stamp = 1
            }
            let stamps = stamps.pointer, found = found.pointer, stamp = stamp
            var gathered = 0
            // The node to open next when it is known without the queue: see below.
            var next: OpenNode? = nil
            while gathered < budget, let open = next ?? queue.pop() {
                next = nil
                let ref = open.node, priority = -open.bound
                if ref < 0 {
                    let leaf = -(ref + 1)
                    gathered += leafStarts[leaf + 1] - leafStarts[leaf]
                    // Without a branch: whether an id is new is a coin toss the predictor
                    // loses, so every id is written and the count moves past the new ones only.
                    var count = foundCount
                    for i in leafStarts[leaf]..<leafStarts[leaf + 1] {
                        let id = Int(items[i])
                        found[count] = Int32(truncatingIfNeeded: id)
                        count &+= stamps[id] != stamp ? 1 : 0
                        stamps[id] = stamp
                    }
                    foundCount = count
                } else {
                    let margin = margin(ref)
                    let near = Int(children[2 * ref + (margin > 0 ? 0 : 1)]), far = Int(children[2 * ref + (margin > 0 ? 1 : 0)])
                    // The planes of the near child's children: one of them is most likely opened
                    // two steps on, and a plane is many cache lines read from memory.
                    if near >= 0 {
                        let left = Int(children[2 * near]), right = Int(children[2 * near + 1])
                        if left >= 0 { fetch(left) }
                        if right >= 0 { fetch(right) }
                    }
                    // The near child goes on without the queue when the queue would hand it back
                    // at once (nothing in it precedes it): the same order of nodes, with a push
                    // and a pop fewer per level of most descents.
                    let nearNode = OpenNode(bound: -min(priority, abs(margin)), node: near)
                    queue.push(OpenNode(bound: -min(priority, -abs(margin)), node: far))
                    if let first = queue.first, first < nearNode { queue.push(nearNode) } else { next = nearNode }
                }
            }
        }
    }

    /// Prefetches every cache line of a row.
    @inline(__always)
    static func fetch(_ row: UnsafeRawPointer, bytes: Int) {
        for offset in stride(from: 0, to: bytes, by: 64) { Prefetch.read(row + offset) }
    }
}
