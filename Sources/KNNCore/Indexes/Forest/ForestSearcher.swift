import KNNKernelsVNNI

/// Searches a `Forest` for one worker: every tree's root enters one queue; the node with the
/// largest priority (the smallest margin on the query's side along its path) is opened next,
/// until the leaves reached hold `search_budget` vectors, counting one found by several trees
/// each time (as Annoy's search_k); the distinct ones that may be among the k nearest (all of them,
/// or those the int16 prefilter keeps) are scored with the exact kernels. Walks find rows of the
/// forest's points (`Forest.ids`); results name vectors.
///
/// A walk is a chain of reads from memory (a plane, then its children, then the next plane), so
/// `findCandidates` walks `lanes` queries at once, one step of each in turn, and fetches each
/// walk's next node while the others step: the misses of the lanes overlap. Every walk opens
/// its nodes in its own order, so the candidates are those of one walk at a time.
/// De-duplication marks a byte per row, a bit per lane, cleared after each walk, so nothing is
/// allocated per query.
final class ForestSearcher: NeighborSearcher, CandidateFinder {
    let forest: Forest
    let k: Int
    let budget: Int
    private let topK: TopK
    /// Walks in progress at once (at most 8: a bit each in `marks`).
    static let lanes = 8
    private let walks: UnsafeMutablePointer<Walk>
    /// Per row a bit per lane: whether that lane's walk has found it.
    private let marks: AlignedBuffer<UInt8>
    /// Per lane the rows found (`most` slots) and the query's code for the plane codes.
    private let foundRows: AlignedBuffer<Int32>
    private let queryPlaneWords: AlignedBuffer<Int32>
    /// The prefilter's scratch: the candidates' integer dots and (distance, id) keys, the
    /// query's code and its centred copy.
    private let dots: AlignedBuffer<Int32>
    private let keys: AlignedBuffer<UInt64>
    private let queryWords: AlignedBuffer<Int32>
    private let queryScratch: FloatBuffer
    /// Per bucket of the re-rank (`Forest.bucketShift`), the candidates a walk found in it, then
    /// where they go: zero between walks.
    private let bucketSlots: AlignedBuffer<Int32>
    /// The forest's arrays, read by the walks without reference counting (the forest keeps them).
    private let layout: Layout

    struct Layout {
        let dim: Int, trees: Int
        let planes: UnsafePointer<Float>, children: UnsafePointer<Int32>, roots: UnsafePointer<Int32>
        let leafStarts: UnsafePointer<Int>, items: UnsafePointer<Int32>
        /// The plane codes (`PlaneCodes`), where the walk uses them.
        let planeCodes: UnsafePointer<Int8>?, planeScales: UnsafePointer<Float>?, planeRowWords: Int
        /// A plane code's bytes: two per word of the query's code.
        var planeRowBytes: Int { 2 * planeRowWords }
    }

    /// One query's walk: its open nodes (the largest priority first: a min-heap of `entry`
    /// words), the node to open next when known without the queue, the rows found in order
    /// (distinct) and how many the leaves held (repeats counted).
    struct Walk {
        var queue: UnmanagedMinHeap<UInt64>
        let found: UnsafeMutablePointer<Int32>
        let planeWords: UnsafeMutablePointer<Int32>
        var query: UnsafePointer<Float>? = nil
        var queryScale: Float = 0
        var row = -1
        var next: UInt64? = nil
        var foundCount = 0
        var gathered = 0
    }

    init(forest: Forest, k: Int) {
        self.forest = forest
        self.k = k
        budget = forest.parameters.budget(k: k)
        topK = TopK(k: k)
        marks = AlignedBuffer(count: max(forest.count, 1))
        bucketSlots = AlignedBuffer(count: forest.bucketCount)
        layout = Layout(dim: forest.dim, trees: forest.parameters.trees, planes: forest.planes.pointer, children: forest.children.pointer,
                        roots: forest.roots.pointer, leafStarts: forest.leafStarts.pointer, items: forest.items.pointer,
                        planeCodes: forest.planeCodes.map { UnsafePointer($0.codes.pointer) }, planeScales: forest.planeCodes.map { UnsafePointer($0.scales.pointer) },
                        planeRowWords: forest.planeCodes?.rowWords ?? 0)
        // Distinct rows: the walk opens leaves until `budget` rows are gathered, so at most
        // budget − 1 and one more leaf, and at most n; and the slot past them that a repeated
        // row is written to (`step`).
        let most = min(forest.count, budget + forest.largestLeaf) + 1
        let planeRowWords = forest.planeCodes?.rowWords ?? 0
        foundRows = AlignedBuffer(count: most * Self.lanes, zeroed: false)
        queryPlaneWords = AlignedBuffer(count: max(1, planeRowWords * Self.lanes))
        walks = .allocate(capacity: Self.lanes)
        for l in 0..<Self.lanes {
            (walks + l).initialize(to: Walk(queue: UnmanagedMinHeap(capacity: 1024), found: foundRows.pointer + l * most,
                                            planeWords: queryPlaneWords.pointer + l * planeRowWords))
        }
        let rowWords = forest.codes?.rowWords ?? 0, codedRows = forest.codes == nil ? 0 : most
        (dots, keys) = (AlignedBuffer(count: codedRows, zeroed: false), AlignedBuffer(count: codedRows, zeroed: false))
        (queryWords, queryScratch) = (AlignedBuffer(count: rowWords), FloatBuffer(count: forest.codes == nil ? 0 : forest.dim))
    }

    deinit {
        for l in 0..<Self.lanes { walks[l].queue.release() }
        walks.deinitialize(count: Self.lanes)
        walks.deallocate()
    }

    /// Each query's distinct candidates, as rows of the forest's points (its own vector left out
    /// in a self-join), into its row of `rows`: those that may be among its k nearest, where the forest has codes (`prefilter`);
    /// all of them otherwise. The queries are walked `lanes` at a time.
    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows) {
        precondition(rows.runs.map { $0.bucketCount == forest.bucketCount } ?? true, "runs sized for another forest's buckets")
        let count = batch.vectors.rows
        var nextRow = 0, active = 0
        for l in 0..<Self.lanes where nextRow < count {
            start(&walks[l], row: nextRow, query: batch.vectors.row(nextRow))
            (nextRow, active) = (nextRow + 1, active + 1)
        }
        while active > 0 {
            for l in 0..<Self.lanes where walks[l].row >= 0 {
                if step(&walks[l], bit: UInt8(1) << l) {
                    prefetchNext(walks[l])
                    continue
                }
                // Marks first: `emit` may overwrite the rows found (the prefilter's survivors).
                finish(walks[l], bit: UInt8(1) << l)
                emit(walks[l], batch: batch, into: rows)
                if nextRow < count {
                    start(&walks[l], row: nextRow, query: batch.vectors.row(nextRow))
                    nextRow += 1
                } else {
                    walks[l].row = -1
                    active -= 1
                }
            }
        }
    }

    /// Writes a finished walk's candidates into its query's row: the first that fit (or, with
    /// codes, those the prefilter keeps), grouped by the re-rank's bucket when the table keeps
    /// runs (`CandidateRuns`): a counting sort over the buckets the walk found, in the order it
    /// found them, so its cost does not grow with the number of buckets.
    private func emit(_ walk: Walk, batch: QueryBatch, into rows: CandidateRows) {
        let q = walk.row, ids = rows.ids(ofRow: q), found = walk.found
        let excluded = excludedRow(batch, q)
        var count = walk.foundCount
        if let codes = forest.codes, count > 2 * k {
            count = prefilter(walk.query!, found: found, count: count, codes: codes, excluded: excluded, into: found, room: rows.perRow)
        }
        guard let runs = rows.runs else {
            var kept = 0
            for i in 0..<count where Int(found[i]) != excluded && kept < rows.perRow {
                ids[kept] = found[i]
                kept += 1
            }
            rows.setCount(kept, ofRow: q)
            return
        }
        let shift = forest.bucketShift, slots = bucketSlots.pointer
        let buckets = runs.buckets(ofRow: q), ends = runs.ends(ofRow: q)
        var kept = 0, runCount = 0
        for i in 0..<count where Int(found[i]) != excluded && kept < rows.perRow {
            let b = Int(found[i]) &>> shift
            if slots[b] == 0 {
                buckets[runCount] = Int32(truncatingIfNeeded: b)
                runCount += 1
            }
            slots[b] += 1
            kept += 1
        }
        var end: Int32 = 0
        for i in 0..<runCount {
            let b = Int(buckets[i])
            (slots[b], end) = (end, end + slots[b])
            ends[i] = end
        }
        var taken = 0
        for i in 0..<count where Int(found[i]) != excluded && taken < kept {
            let b = Int(found[i]) &>> shift
            ids[Int(slots[b])] = found[i]
            slots[b] += 1
            taken += 1
        }
        for i in 0..<runCount { slots[Int(buckets[i])] = 0 }
        rows.setCount(kept, ofRow: q)
        runs.setCount(runCount, ofRow: q)
    }

    /// Writes to `ids` the found candidates whose code distance is within the slack of the k-th
    /// smallest (`excluded` left out) and returns how many: the argument of `CandidateFilters`,
    /// with the code distance as the approximate score, so the exact k nearest among them are
    /// the exact k nearest among all found. A few dozen rows are then read and scored exactly
    /// instead of thousands.
    private func prefilter(_ query: UnsafePointer<Float>, found: UnsafeMutablePointer<Int32>, count: Int, codes: NavigationCodes, excluded: Int,
                           into ids: UnsafeMutablePointer<Int32>, room: Int) -> Int {
        let (navigation, error) = codes.query(query, row: queryWords.pointer, scratch: queryScratch.pointer)
        let view = codes.view
        KernelVariant.selected.quantizedDots(navigation.words!, base: view.words, words: view.rowWords, ids: found, count: count, into: dots.pointer)
        // Keys of (distance, row), the excluded row's at +∞: the k-th smallest is the cut-off.
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
        let dim = forest.dim, metric = forest.metric, points = forest.points.pointer, vectorOf = forest.ids.pointer
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            start(&walks[0], row: q, query: query)
            while step(&walks[0], bit: 1) {}
            finish(walks[0], bit: 1)
            topK.reset()
            let excluded = excludedRow(batch, q)
            // A query's candidates lie in a few stretches of rows, not in order: each is fetched a
            // few candidates ahead, so that its cache misses overlap the scoring of the ones before.
            let rowBytes = dim * MemoryLayout<Float>.size, ahead = 6
            let ids = UnsafeBufferPointer(start: walks[0].found, count: walks[0].foundCount)
            for i in 0..<min(ahead, ids.count) { Prefetch.lines(points + Int(ids[i]) * dim, bytes: rowBytes) }
            for i in 0..<ids.count {
                if i + ahead < ids.count { Prefetch.lines(points + Int(ids[i + ahead]) * dim, bytes: rowBytes) }
                let id = Int(ids[i])
                guard id != excluded else { continue }
                let key = metric.exactKey(query, points + id * dim, dim: dim)
                if key <= topK.threshold { topK.push(key, Int(vectorOf[id])) }
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    /// The row of query q's own vector, left out of its candidates in a self-join; else −1.
    private func excludedRow(_ batch: QueryBatch, _ q: Int) -> Int {
        let id = batch.excludedID(ofRow: q)
        return id < 0 || id >= forest.count ? -1 : Int(forest.rows.pointer[id])
    }

    /// Starts `walk` for `query`: every tree's root in the queue, nothing found.
    private func start(_ walk: inout Walk, row: Int, query: UnsafePointer<Float>) {
        walk.queue.removeAll()
        for t in 0..<layout.trees { walk.queue.push(Self.entry(priority: .infinity, node: Int(layout.roots[t]))) }
        (walk.row, walk.query, walk.next, walk.foundCount, walk.gathered) = (row, query, nil, 0, 0)
        if layout.planeCodes != nil {
            walk.queryScale = Int16Quantization.encode(query, dim: layout.dim, negate: false, into: walk.planeWords, stride: 1).inverseScale
        }
    }

    /// Clears the walk's marks: exactly the bytes of the rows it found.
    private func finish(_ walk: Walk, bit: UInt8) {
        let marks = marks.pointer
        for i in 0..<walk.foundCount { marks[Int(walk.found[i])] &= ~bit }
    }

    /// Opens the walk's next node; false when the walk is over (the budget gathered, or every
    /// node opened).
    @inline(__always)
    private func step(_ walk: inout Walk, bit: UInt8) -> Bool {
        guard walk.gathered < budget, let open = walk.next ?? walk.queue.pop() else { return false }
        walk.next = nil
        let children = layout.children, leafStarts = layout.leafStarts
        let ref = Self.node(of: open), priority = Self.priority(of: open)
        if ref < 0 {
            let leaf = -(ref + 1), items = layout.items, marks = marks.pointer, found = walk.found
            walk.gathered += leafStarts[leaf + 1] - leafStarts[leaf]
            // Without a branch: whether a row is new is a coin toss the predictor loses, so
            // every row is written and the count moves past the new ones only.
            var count = walk.foundCount
            for i in leafStarts[leaf]..<leafStarts[leaf + 1] {
                let row = Int(items[i]), mark = marks[row]
                found[count] = Int32(truncatingIfNeeded: row)
                count &+= mark & bit == 0 ? 1 : 0
                marks[row] = mark | bit
            }
            walk.foundCount = count
            return true
        }
        let margin = margin(walk, ref)
        let near = Int(children[2 * ref + (margin > 0 ? 0 : 1)]), far = Int(children[2 * ref + (margin > 0 ? 1 : 0)])
        // A leaf's bounds are read before its rows can be fetched: fetched now.
        if near < 0 { Prefetch.read(leafStarts + (-(near + 1))) }
        if far < 0 { Prefetch.read(leafStarts + (-(far + 1))) }
        // The near child goes on without the queue when the queue would hand it back at once
        // (nothing in it precedes it): the same order of nodes, with a push and a pop fewer per
        // level of most descents.
        let nearNode = Self.entry(priority: min(priority, abs(margin)), node: near)
        walk.queue.push(Self.entry(priority: min(priority, -abs(margin)), node: far))
        if let first = walk.queue.first, first < nearNode { walk.queue.push(nearNode) } else { walk.next = nearNode }
        return true
    }

    /// The margin of the walk's query on internal node `ref`'s hyperplane: with plane codes an
    /// integer dot product times the two scales.
    @inline(__always)
    private func margin(_ walk: Walk, _ ref: Int) -> Float {
        if let planeCodes = layout.planeCodes, let planeScales = layout.planeScales {
            let rowWords = layout.planeRowWords
            let dot = KernelVariant.selected.quantizedDotWide(UnsafePointer(walk.planeWords), planeCodes + ref * layout.planeRowBytes, words: rowWords)
            return Float(dot) * walk.queryScale * planeScales[ref]
        }
        let dim = layout.dim, plane = layout.planes + ref * (dim + 1)
        return Kernels.dot(plane, walk.query!, count: dim) + plane[dim]
    }

    /// Fetches the node the walk opens next, while the other lanes step: an internal node's
    /// plane and children, a leaf's rows.
    @inline(__always)
    private func prefetchNext(_ walk: Walk) {
        guard let upcoming = walk.next ?? walk.queue.first else { return }
        let ref = Self.node(of: upcoming)
        if ref >= 0 {
            fetchPlane(ref)
            Prefetch.read(layout.children + 2 * ref)
        } else {
            let leaf = -(ref + 1), leafStarts = layout.leafStarts
            let first = leafStarts[leaf]
            Prefetch.lines(layout.items + first, bytes: (leafStarts[leaf + 1] - first) * MemoryLayout<Int32>.size)
        }
    }

    @inline(__always)
    private func fetchPlane(_ ref: Int) {
        if let planeCodes = layout.planeCodes, let planeScales = layout.planeScales {
            Prefetch.lines(planeCodes + ref * layout.planeRowBytes, bytes: layout.planeRowBytes)
            Prefetch.read(planeScales + ref)
        } else {
            Prefetch.lines(layout.planes + ref * (layout.dim + 1), bytes: (layout.dim + 1) * 4)
        }
    }

    /// A queue entry in one word, ordered as (−priority, node) — the largest priority first,
    /// ties by node reference: the priority's bits made order-preserving and inverted above,
    /// the reference with its sign bit flipped below. Priorities are single-precision margins,
    /// so nothing is rounded; −0 counts as +0, as a comparison of floats has it.
    @inline(__always)
    static func entry(priority: Float, node: Int) -> UInt64 {
        let bits = (priority + 0).bitPattern
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ordered) << 32 | UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: node)) ^ 0x8000_0000)
    }

    @inline(__always)
    static func priority(of entry: UInt64) -> Float {
        let ordered = ~UInt32(truncatingIfNeeded: entry >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }

    @inline(__always)
    static func node(of entry: UInt64) -> Int { Int(Int32(bitPattern: UInt32(truncatingIfNeeded: entry) ^ 0x8000_0000)) }
}
