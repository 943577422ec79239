/// A forest of random-projection trees (Annoy's method).
///
/// Layout, one set of arrays for all trees. A node reference is an Int32: `r ≥ 0` is internal
/// node `r`, `r < 0` is leaf `−(r + 1)`.
/// - internal node `r`: its hyperplane `planes[r·(dim+1) ..< r·(dim+1)+dim]` and offset
///   `planes[r·(dim+1)+dim]`; vectors with a positive margin (normal·x + offset) went to
///   `children[2r]`, the others to `children[2r+1]`;
/// - leaf `l`: the rows `items[leafStarts[l] ..< leafStarts[l+1]]`;
/// - tree `t` starts at `roots[t]`.
/// `points` holds the vectors prepared for the metric (unit length under cosine), for the exact
/// scores of candidates, one query's or (by `ExactReRank`, in `CandidateBlockSearch`) a block's.
/// Its rows are in the order of the first tree's leaves as the build wrote them (depth first):
/// row r holds vector `ids[r]`, and vector i is row `rows[i]`. The walks find rows; results name
/// vectors. Vectors near in space are mostly near in that order, so a query's candidates lie in
/// a few stretches of rows (`bucketShift`) that the re-rank reads whole, from memory once and
/// then from a core's cache.
///
/// Each node splits at the hyperplane equidistant from two centroids found by a short seeded
/// 2-means over the node's vectors (angular — between unit vectors — under cosine and ip, as
/// Annoy), its normal of unit length so that a margin is the distance to the plane. Each tree
/// has its own generator seeded from `seed` and its number, and trees are built on the workers
/// independently: the same forest at any thread count.
final class Forest: SliceSearchIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: ForestParameters
    let data: VectorMatrix
    let dim: Int
    let count: Int
    let points: FloatBuffer
    let planes: FloatBuffer
    let children: AlignedBuffer<Int32>
    let leafStarts: AlignedBuffer<Int>
    let items: AlignedBuffer<Int32>
    let roots: AlignedBuffer<Int32>
    /// The most rows a leaf holds: at most leaf_size as built (identical vectors are split at
    /// random), measured rather than assumed, since a file's leaves are read as they are.
    let largestLeaf: Int
    /// Int16 codes of `points` (HNSW's navigation codes), where the CPU scores them fast and
    /// rows are short (`prefilterDimensions`): a query's candidates are scored with them first,
    /// and only those that may be among its k nearest are scored exactly
    /// (`ForestSearcher.prefilter`). Derived from the points when the forest is built or loaded.
    let codes: NavigationCodes?

    /// The widest vectors the prefilter serves (from 32 dimensions, where HNSW's codes start to
    /// pay). Measured on 100k vectors: about a third more queries/s at 100 dimensions (codes of 26 MB, cache-resident), 25% fewer at 384 (78 MB: each candidate's
    /// code is a read from memory, where the block re-rank reads each row once for all the
    /// block's queries that found it).
    static let prefilterDimensions = 128

    /// Int8 codes of the hyperplanes for the walk (`PlaneCodes`), under cosine and ip where the
    /// CPU scores int16 codes fast; derived from the planes when the forest is built, mapped
    /// from an index file that saved them.
    let planeCodes: PlaneCodes?

    /// The vector at each row of `points`, and the row of each vector: a permutation and its
    /// inverse.
    let ids: AlignedBuffer<Int32>
    let rows: AlignedBuffer<Int32>

    /// The exact re-rank's bucket (`CandidateRuns`) of row r is r >> bucketShift: a stretch of
    /// consecutive rows, vectors that are near in the first tree. A query's candidates then fall
    /// in a few buckets: on 100k × 384 clustered vectors the 820 of a budget of 1,600 fall in
    /// 10 of 391 on average, where blocks of as many consecutive ids would spread them over 342.
    let bucketShift: Int
    let bucketCount: Int

    /// Rows per bucket, 2^bucketShift: the most that fit in `ExactReRank.bucketBytes` of float32
    /// rows, at least 64 (a shift, not a division, per candidate).
    static func bucketShift(dim: Int) -> Int {
        let fit = ExactReRank.bucketBytes / max(1, dim * MemoryLayout<Float>.size)
        return max(6, Int.bitWidth - 1 - fit.leadingZeroBitCount)
    }

    /// Buckets of `count` vectors (at least one).
    static func bucketCount(count: Int, dim: Int) -> Int { max(1, (count + (1 << bucketShift(dim: dim)) - 1) >> bucketShift(dim: dim)) }

    init(metric: Metric, parameters: ForestParameters, data: VectorMatrix, points: FloatBuffer, planes: FloatBuffer,
         children: AlignedBuffer<Int32>, leafStarts: AlignedBuffer<Int>, items: AlignedBuffer<Int32>, roots: AlignedBuffer<Int32>,
         ids: AlignedBuffer<Int32>, rows: AlignedBuffer<Int32>? = nil, largestLeaf: Int? = nil, codes: NavigationCodes?? = nil,
         planeCodes: PlaneCodes?? = nil, threads: Int = 1) {
        (self.metric, self.parameters, self.data, self.dim, self.count) = (metric, parameters, data, data.dim, data.rows)
        (self.points, self.planes, self.children, self.leafStarts, self.items, self.roots) = (points, planes, children, leafStarts, items, roots)
        (self.ids, self.rows) = (ids, rows ?? Self.inverse(ids, count: data.rows))
        (bucketShift, bucketCount) = (Self.bucketShift(dim: data.dim), Self.bucketCount(count: data.rows, dim: data.dim))
        self.largestLeaf = largestLeaf ?? (0..<max(0, leafStarts.count - 1)).reduce(0) { max($0, leafStarts.pointer[$1 + 1] - leafStarts.pointer[$1]) }
        // The points are prepared already: under cosine they are coded as unit vectors under ip,
        // which scores them as cosine would (−q·x, no centre) without normalising them again.
        self.codes = codes ?? (HNSWNavigation.preferred(kernel: .selected, dim: data.dim) == .int16 && data.dim <= Self.prefilterDimensions && data.rows > 0
            ? NavigationCodes(data: VectorMatrix(rows: data.rows, dim: data.dim, stride: data.dim, base: UnsafePointer(points.pointer), owner: points),
                              metric: metric == .cosine ? .ip : metric, threads: threads)
            : nil)
        let internalCount = planes.count / (data.dim + 1)
        self.planeCodes = planeCodes ?? (PlaneCodes.apply(metric: metric, dim: data.dim) && internalCount > 0
            ? PlaneCodes(planes: planes.pointer, count: internalCount, dim: data.dim, threads: threads) : nil)
    }

    /// The same forest searched with other search parameters (`TunableIndex`).
    convenience init(sharing other: Forest, parameters: ForestParameters) {
        self.init(metric: other.metric, parameters: parameters, data: other.data, points: other.points, planes: other.planes,
                  children: other.children, leafStarts: other.leafStarts, items: other.items, roots: other.roots, ids: other.ids, rows: other.rows,
                  largestLeaf: other.largestLeaf, codes: .some(other.codes), planeCodes: .some(other.planeCodes))
    }

    /// The row of each vector, from the vector of each row (a permutation of 0..<count).
    static func inverse(_ ids: AlignedBuffer<Int32>, count: Int) -> AlignedBuffer<Int32> {
        let rows = AlignedBuffer<Int32>(count: max(1, count), zeroed: false)
        for r in 0..<count { rows.pointer[Int(ids.pointer[r])] = Int32(r) }
        return rows
    }

    /// Puts the rows of `points` in the order of the first tree's leaves (`items[0..<count]`,
    /// every vector once) and makes the items rows; returns the vector of each row. In place, a
    /// cycle of the permutation at a time, so the build holds no second copy of the vectors.
    static func reorder(points: FloatBuffer, items: AlignedBuffer<Int32>, count: Int, dim: Int) -> (ids: AlignedBuffer<Int32>, rows: AlignedBuffer<Int32>) {
        precondition(items.count >= count, "the first tree holds every vector")
        let ids = AlignedBuffer<Int32>(count: max(1, count), zeroed: false)
        ids.pointer.update(from: items.pointer, count: count)
        let rows = inverse(ids, count: count)
        for i in 0..<items.count { items.pointer[i] = rows.pointer[Int(items.pointer[i])] }
        // Row r takes vector ids[r]: follow each cycle r → ids[r] → …, holding its first row aside.
        var moved = [Bool](repeating: false, count: count)
        let held = FloatBuffer(count: dim, zeroed: false), base = points.pointer
        for start in 0..<count where !moved[start] && Int(ids.pointer[start]) != start {
            held.pointer.update(from: base + start * dim, count: dim)
            var r = start
            while true {
                moved[r] = true
                let from = Int(ids.pointer[r])
                if from == start {
                    (base + r * dim).update(from: held.pointer, count: dim)
                    break
                }
                (base + r * dim).update(from: base + from * dim, count: dim)
                r = from
            }
        }
        return (ids, rows)
    }

    convenience init(data: VectorMatrix, metric: Metric, parameters: ForestParameters, threads: Int) {
        let n = data.rows, dim = data.dim
        let points = FloatBuffer(count: n * dim, zeroed: false)
        let chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
            for i in (c * chunk)..<min((c + 1) * chunk, n) { metric.prepare(data.row(i), into: points.pointer + i * dim, dim: dim) }
            data.releasePages(rows: (c * chunk)..<min((c + 1) * chunk, n))
        }
        // Under ip the trees split directions: a unit copy, for the build only.
        let split = metric == .ip ? FloatBuffer(count: n * dim, zeroed: false) : points
        if metric == .ip {
            Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
                for i in (c * chunk)..<min((c + 1) * chunk, n) {
                    if !Kernels.normalize(points.pointer + i * dim, into: split.pointer + i * dim, count: dim) {
                        (split.pointer + i * dim).update(repeating: 0, count: dim)
                    }
                }
            }
        }
        let trees = parameters.trees
        let built = UnsafeMutablePointer<ForestTreeBuilder.Tree?>.allocate(capacity: trees)
        built.initialize(repeating: nil, count: trees)
        defer { built.deinitialize(count: trees); built.deallocate() }
        let slots = UncheckedSendable(built)
        let splitVectors = UncheckedSendable(UnsafePointer(split.pointer))
        Parallel.forEach(trees, threads: threads) { t in
            var builder = ForestTreeBuilder(vectors: splitVectors.value, count: n, dim: dim, leafSize: parameters.leafSize,
                                            angular: metric.normalizesVectors || metric == .ip, seed: parameters.seed, tree: t)
            slots.value[t] = builder.build()
        }
        // Concatenated in tree order, references shifted past the trees before.
        let parts = (0..<trees).map { built[$0]! }
        let internalCount = parts.reduce(0) { $0 + $1.children.count / 2 }, leafCount = parts.reduce(0) { $0 + $1.leafStarts.count - 1 }
        // Zeroed: a forest of leaves only still saves its one-element arrays.
        let planes = FloatBuffer(count: max(1, internalCount * (dim + 1)))
        let children = AlignedBuffer<Int32>(count: max(1, internalCount * 2))
        let leafStarts = AlignedBuffer<Int>(count: leafCount + 1, zeroed: false)
        let items = AlignedBuffer<Int32>(count: parts.reduce(0) { $0 + $1.items.count }, zeroed: false)
        let roots = AlignedBuffer<Int32>(count: trees, zeroed: false)
        var internalBase = 0, leafBase = 0, itemBase = 0
        for (t, part) in parts.enumerated() {
            func shift(_ ref: Int32) -> Int32 { ref >= 0 ? ref + Int32(internalBase) : ref - Int32(leafBase) }
            roots.pointer[t] = shift(part.root)
            for (i, value) in part.planes.enumerated() { planes.pointer[internalBase * (dim + 1) + i] = value }
            for (i, ref) in part.children.enumerated() { children.pointer[internalBase * 2 + i] = shift(ref) }
            for l in 0..<(part.leafStarts.count - 1) { leafStarts.pointer[leafBase + l] = itemBase + part.leafStarts[l] }
            for (i, id) in part.items.enumerated() { items.pointer[itemBase + i] = id }
            internalBase += part.children.count / 2
            leafBase += part.leafStarts.count - 1
            itemBase += part.items.count
        }
        leafStarts.pointer[leafCount] = itemBase
        let (ids, rows) = Self.reorder(points: points, items: items, count: n, dim: dim)
        self.init(metric: metric, parameters: parameters, data: data, points: points, planes: planes, children: children,
                  leafStarts: leafStarts, items: items, roots: roots, ids: ids, rows: rows, threads: threads)
    }

    var internalCount: Int { planes.count / (dim + 1) }
    var leafCount: Int { leafStarts.count - 1 }

    func makeSearcher(k: Int) -> any NeighborSearcher { ForestSearcher(forest: self, k: k) }

    /// Searchers walk the trees for candidates; the block scores them together (`CandidateBlockSearch`).
    func makeBlockSearch(queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) -> any BlockSearch {
        // The prepared copy the forest keeps: under cosine no row is normalized again.
        CandidateBlockSearch(data: VectorMatrix(rows: count, dim: dim, stride: dim, base: UnsafePointer(points.pointer), owner: points), metric: metric,
                             rowsArePrepared: true, rowIDs: ids, queries: queries, planner: planner, selfJoin: selfJoin,
                             candidatesPerQuery: parameters.candidateSlots(k: k, count: count), buckets: bucketCount) { ForestSearcher(forest: self, k: k) }
    }

    func blockScratch(k: Int) -> BlockScratch { parameters.blockScratch(k: k, dim: dim, count: count, metric: metric) }

    var reportMembers: [(key: String, value: JSONValue)] {
        [("leaves", .integer(leafCount)), ("walk", .string(planeCodes == nil ? "float32" : "int8")),
         ("search_budget", .integer(parameters.searchBudget ?? parameters.trees * 4)),
         ("search_budget_per_k", .bool(parameters.searchBudget == nil))]
    }
}

/// Builds one tree of a forest over `vectors` with its own generator.
struct ForestTreeBuilder {
    struct Tree {
        var planes: [Float] = []
        var children: [Int32] = []
        var leafStarts: [Int] = [0]
        var items: [Int32] = []
        var root: Int32 = 0
    }

    let vectors: UnsafePointer<Float>
    let count: Int
    let dim: Int
    let leafSize: Int
    let angular: Bool
    var random: SplitMix
    /// 2-means steps per split, each one vector (as Annoy).
    static let refinements = 200

    init(vectors: UnsafePointer<Float>, count: Int, dim: Int, leafSize: Int, angular: Bool, seed: UInt64, tree: Int) {
        (self.vectors, self.count, self.dim, self.leafSize, self.angular) = (vectors, count, dim, leafSize, angular)
        var mix = SplitMix(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(tree))
        random = SplitMix(seed: mix.next())
    }

    private mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }

    mutating func build() -> Tree {
        var tree = Tree()
        var ids = (0..<count).map { Int32($0) }
        // Work: a range of `ids` and where its node's reference goes (−1: the root; else a child slot).
        var work: [(range: Range<Int>, slot: Int)] = [(0..<count, -1)]
        var normal = [Float](repeating: 0, count: dim), c0 = normal, c1 = normal
        while let (range, slot) = work.popLast() {
            let ref: Int32
            if range.count <= leafSize {
                ref = -Int32(tree.leafStarts.count)
                tree.items += ids[range]
                tree.leafStarts.append(tree.items.count)
            } else {
                let offset = hyperplane(ids, range, normal: &normal, c0: &c0, c1: &c1)
                var mid = partition(&ids, range, normal: normal, offset: offset)
                if mid == range.lowerBound || mid == range.upperBound {
                    // No hyperplane separates these vectors (all equal, say): split them at random.
                    for i in range.dropLast() { ids.swapAt(i, i + below(range.upperBound - i)) }
                    mid = range.lowerBound + range.count / 2
                }
                let r = tree.children.count / 2
                ref = Int32(r)
                tree.planes += normal
                tree.planes.append(offset)
                tree.children += [0, 0]
                work.append((mid..<range.upperBound, 2 * r + 1))
                work.append((range.lowerBound..<mid, 2 * r))
            }
            if slot < 0 { tree.root = ref } else { tree.children[slot] = ref }
        }
        return tree
    }

    /// The hyperplane between two centroids of a short 2-means over the node; returns its offset.
    private mutating func hyperplane(_ ids: [Int32], _ range: Range<Int>, normal: inout [Float], c0: inout [Float], c1: inout [Float]) -> Float {
        let i = below(range.count)
        var j = below(range.count - 1)
        if j >= i { j += 1 }
        let dim = dim, vectors = vectors, angular = angular
        // Each step's vector, drawn first: the arithmetic below then runs on raw buffers.
        let picks = (0..<Self.refinements).map { _ in below(range.count) }
        return ids.withUnsafeBufferPointer { ids in
            func row(_ at: Int) -> UnsafePointer<Float> { vectors + Int(ids[range.lowerBound + at]) * dim }
            return c0.withUnsafeMutableBufferPointer { c0 in
                c1.withUnsafeMutableBufferPointer { c1 in
                    normal.withUnsafeMutableBufferPointer { normal in
                        let a = c0.baseAddress!, b = c1.baseAddress!, n = normal.baseAddress!
                        a.update(from: row(i), count: dim)
                        b.update(from: row(j), count: dim)
                        var n0: Float = 1, n1: Float = 1
                        for pick in picks {
                            let x = row(pick)
                            let d0 = Kernels.squaredL2(a, x, count: dim) * n0, d1 = Kernels.squaredL2(b, x, count: dim) * n1
                            if d0 < d1 {
                                let w = 1 / (n0 + 1)
                                for d in 0..<dim { a[d] += (x[d] - a[d]) * w }
                                n0 += 1
                            } else if d1 < d0 {
                                let w = 1 / (n1 + 1)
                                for d in 0..<dim { b[d] += (x[d] - b[d]) * w }
                                n1 += 1
                            }
                        }
                        if angular {
                            let s0 = 1 / max(Kernels.dot(a, a, count: dim).squareRoot(), .leastNormalMagnitude)
                            let s1 = 1 / max(Kernels.dot(b, b, count: dim).squareRoot(), .leastNormalMagnitude)
                            for d in 0..<dim { n[d] = a[d] * s0 - b[d] * s1 }
                            Self.normalize(n, dim: dim)
                            return 0
                        }
                        for d in 0..<dim { n[d] = a[d] - b[d] }
                        Self.normalize(n, dim: dim)
                        var offset: Float = 0
                        for d in 0..<dim { offset -= n[d] * (a[d] + b[d]) / 2 }
                        return offset
                    }
                }
            }
        }
    }

    /// Scales a normal to unit length (a zero one stays zero): every node's margin is then the
    /// distance to its hyperplane, so the walk's priorities, the smallest margin along a path,
    /// compare alike across nodes (as Annoy's).
    private static func normalize(_ n: UnsafeMutablePointer<Float>, dim: Int) {
        let norm = Kernels.dot(n, n, count: dim).squareRoot()
        guard norm > 0, norm.isFinite else { return }
        for d in 0..<dim { n[d] /= norm }
    }

    /// Moves the ids with a positive margin to the front; a zero margin goes either way, at
    /// random. Returns where the second side starts.
    private mutating func partition(_ ids: inout [Int32], _ range: Range<Int>, normal: [Float], offset: Float) -> Int {
        var front = range.lowerBound
        let dim = dim, vectors = vectors
        normal.withUnsafeBufferPointer { plane in
            ids.withUnsafeMutableBufferPointer { ids in
                for i in range {
                    let margin = Kernels.dot(plane.baseAddress!, vectors + Int(ids[i]) * dim, count: dim) + offset
                    if margin > 0 || (margin == 0 && random.next() & 1 == 0) {
                        ids.swapAt(i, front)
                        front += 1
                    }
                }
            }
        }
        return front
    }
}
