import Dispatch

/// Hierarchical navigable small-world graph (Malkov & Yashunin 2018): approximate search for
/// high-dimensional vectors.
///
/// Deterministic parallel build: vectors are inserted in id order, in batches. Within a batch,
/// every vector searches the graph as it stood before the batch (a frozen snapshot) and picks its
/// links with the paper's heuristic (algorithm 4), in parallel; then the reverse links are
/// grouped by the vector receiving them and applied in id order, one group per worker; then the
/// entry point is updated. Nothing depends on which worker ran what or when, so the same job and
/// seed give the same graph — and the same output — at any thread count.
///
/// Navigation (`HNSWNavigation`) uses int16 codes where the CPU has AVX-512 VNNI, and the float32
/// pair kernels (`PairDistance`, per CPU level) elsewhere; the final candidates are scored by the
/// exact kernels, so reported distances are those every index reports. The navigation distances
/// shape the graph. Int16 sums are exact, so int16 navigation gives the same graph on every
/// build; float32 sums differ between builds (fused or not), so there the graph — and the
/// output — is deterministic for a given kernel build. The report names the build and the
/// navigation.
///
/// Memory: under int16 navigation the index holds the codes (half the bytes of the vectors) and
/// the graph, and no float32 copy of the vectors: searchers return candidates, and `ExactReRank`
/// scores a block's candidates against the dataset as loaded, in dataset order (a memory-mapped
/// file's pages are released as it goes). Under float32 navigation the index holds the prepared
/// vectors and the graph, and searchers score their own candidates.
final class HNSWIndex: SliceSearchIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: HNSWParameters
    let dim: Int
    let count: Int
    /// The dataset as loaded, for the exact scores under int16 navigation.
    let data: VectorMatrix
    /// The prepared vectors, under float32 navigation.
    let points: FloatBuffer?
    let graph: HNSWGraph
    let kernel: KernelVariant
    let navigation: HNSWNavigation
    /// Under int16 navigation.
    let codes: NavigationCodes?
    /// The largest prepared vector norm, for the re-rank's error bound.
    let maxNorm: Double
    /// The navigation distances, as the hot paths read them.
    let space: NavigationSpace
    /// Groups of identical rows: the graph holds one node per group (see `DuplicateRows`); nil
    /// when every row is distinct.
    let duplicates: DuplicateRows?

    /// `navigation` defaults to `HNSWNavigation.preferred(kernel:dim:)`.
    convenience init(data: VectorMatrix, metric: Metric, parameters: HNSWParameters, kernel: KernelVariant = .selected, threads: Int = 1,
                     navigation: HNSWNavigation? = nil) {
        let navigation = navigation ?? .preferred(kernel: kernel, dim: data.dim)
        var codes: NavigationCodes? = nil, points: FloatBuffer? = nil, maxNorm = 0.0
        if navigation == .int16 {
            codes = NavigationCodes(data: data, metric: metric, threads: threads)
            maxNorm = codes!.maxNorm
        } else {
            let buffer = FloatBuffer(count: data.rows * data.dim, zeroed: false)
            let n = data.rows, dim = data.dim, chunk = 1 << 14, chunks = (n + chunk - 1) / chunk
            let norms = ChunkSlots(count: chunks, initial: 0.0)
            Parallel.forEach(chunks, threads: threads) { c in
                let rows = (c * chunk)..<min((c + 1) * chunk, n)
                data.copyPrepared(rows: rows, metric: metric, into: buffer.pointer + rows.lowerBound * dim)
                for v in rows {
                    let row = buffer.pointer + v * dim
                    norms.values[c] = max(norms.values[c], Double(Kernels.dot(row, row, count: dim)))
                }
            }
            maxNorm = (0..<max(chunks, 1)).map { norms.values[$0] }.max()!.squareRoot()
            points = buffer
        }
        self.init(data: data, metric: metric, parameters: parameters, kernel: kernel, navigation: navigation, codes: codes, points: points,
                  maxNorm: maxNorm, graph: HNSWGraph(count: data.rows, connectivity: parameters.connectivity, seed: parameters.seed),
                  duplicates: DuplicateRows.find(in: data, metric: metric, threads: threads))
        HNSWBuilder(index: self, threads: threads).build()
    }

    /// An index over parts already made: a graph to build (above), or one mapped from an index file.
    init(data: VectorMatrix, metric: Metric, parameters: HNSWParameters, kernel: KernelVariant, navigation: HNSWNavigation,
         codes: NavigationCodes?, points: FloatBuffer?, maxNorm: Double, graph: HNSWGraph, duplicates: DuplicateRows?) {
        self.data = data
        self.metric = metric
        self.parameters = parameters
        self.kernel = kernel
        self.navigation = navigation
        dim = data.dim
        count = data.rows
        self.codes = codes
        self.points = points
        self.maxNorm = maxNorm
        self.graph = graph
        self.duplicates = duplicates
        space = NavigationSpace(metric: metric, kernel: kernel, dim: dim, points: points.map { UnsafePointer($0.pointer) }, codes: codes?.view)
    }

    /// Prepared vector `v`, under float32 navigation.
    @inline(__always) func point(_ v: Int) -> UnsafePointer<Float> { space.point(v) }

    /// Dataset vector `v` as a navigation query (for the build).
    @inline(__always) func navigationQuery(vector v: Int) -> NavigationQuery { space.query(vector: v) }

    /// The navigation distance from a query to vector `v`.
    @inline(__always) func distance(_ query: NavigationQuery, _ v: Int) -> Float { space.distance(query, v) }

    /// Under int16 navigation searchers walk the graph for candidates and the exact scores are
    /// left to the block (`CandidateBlockSearch`), so no float32 copy of the dataset is held;
    /// under float32 navigation searchers score their own candidates (the common block search).
    func makeBlockSearch(queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) -> any BlockSearch {
        guard codes != nil else { return SliceBlockSearch(index: self, queries: queries, planner: planner, k: k, selfJoin: selfJoin) }
        precondition(blockScratch(k: k) == planner.scratch, "the plan must count the index's candidate lists")
        return CandidateBlockSearch(data: data, metric: metric, queries: queries, planner: planner, selfJoin: selfJoin,
                                    candidatesPerQuery: candidateSlots(k: k)) { HNSWSearcher(index: self, k: k) }
    }

    func blockScratch(k: Int) -> BlockScratch {
        guard codes != nil else { return BlockScratch(perQuery: 0, perWorker: count) }
        return CandidateBlockSearch<HNSWSearcher>.scratch(candidates: candidateSlots(k: k), dim: dim, count: count, metric: metric)
    }

    var reportMembers: [(key: String, value: JSONValue)] {
        // Identical rows share one graph node (`DuplicateRows`).
        [("navigation", .string(navigation.rawValue)), ("duplicate_rows", .integer(duplicates?.copies ?? 0))]
    }

    /// The most candidates a query can return: the layer-0 search keeps `ef` nodes (one more
    /// than k when the query's own id is excluded), and a node with copies stands for up to k ids.
    static func candidateSlots(ef: Int, k: Int, duplicates: DuplicateRows?) -> Int {
        let nodes = max(ef, k + 1)
        return duplicates?.expandedCount(nodes: nodes, limit: k) ?? nodes
    }

    func candidateSlots(k: Int) -> Int { Self.candidateSlots(ef: parameters.expansionSearch, k: k, duplicates: duplicates) }

    func makeSearcher(k: Int) -> any NeighborSearcher { HNSWSearcher(index: self, k: k) }

    /// The paper's SELECT-NEIGHBORS-HEURISTIC: from candidates nearest first (distances to the
    /// base vector), keep a candidate only if it is nearer to the base than to every one kept,
    /// so links spread in different directions; at most `limit`.
    func selectNeighbors(_ candidates: UnsafeBufferPointer<Neighbor>, limit: Int, into selected: inout [Int32]) {
        selected.removeAll(keepingCapacity: true)
        // Fewer candidates than links: keep them all (as hnswlib does), so small and early graphs
        // are not thinned out.
        if candidates.count <= limit {
            selected.append(contentsOf: candidates.map { Int32($0.id) })
            return
        }
        for candidate in candidates {
            if selected.count >= limit { break }
            var keep = true
            let query = navigationQuery(vector: candidate.id)
            for chosen in selected where distance(query, Int(chosen)) < candidate.distance {
                keep = false
                break
            }
            if keep { selected.append(Int32(candidate.id)) }
        }
    }
}

/// Answers queries: descend the upper layers greedily, search layer 0 with `expansion_search`
/// candidates, keep those that may be among the k nearest, and score them with the exact kernels
/// — here (`search`), or for a whole block at once (`findCandidates`, then `ExactReRank`).
final class HNSWSearcher: NeighborSearcher, CandidateFinder {
    let index: HNSWIndex
    let walker: HNSWWalker
    let topK: TopK
    /// The query's int16 code (zero-padded) and centring scratch, under int16 navigation.
    private let queryWords: AlignedBuffer<Int32>
    private let centred: FloatBuffer
    /// Candidates kept for exact scoring so far (tests check that the bound cuts them short).
    private(set) var reRanked = 0
    /// `search`'s own candidate table under int16 navigation, grown to the largest batch.
    private var ownCandidates: CandidateTable?

    init(index: HNSWIndex, k: Int) {
        self.index = index
        walker = HNSWWalker(index: index)
        topK = TopK(k: k)
        queryWords = AlignedBuffer(count: index.codes?.rowWords ?? 0)
        centred = FloatBuffer(count: index.dim)
    }

    private var candidatesPerQuery: Int { index.candidateSlots(k: topK.k) }

    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows) {
        for q in 0..<batch.vectors.rows {
            let ids = rows.ids(ofRow: q)
            var written = 0
            walk(batch, q) { id in
                ids[written] = Int32(id)
                written += 1
            }
            rows.setCount(written, ofRow: q)
        }
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        let index = index, rows = batch.vectors.rows
        if index.codes != nil {
            if (ownCandidates?.capacity ?? -1) < rows { ownCandidates = CandidateTable(capacity: rows, perRow: candidatesPerQuery) }
            let table = ownCandidates!
            findCandidates(batch, into: table.rows(0..<rows))
            // Other workers may be reading the same mapped pages: leave them resident.
            ExactReRank(data: index.data, metric: index.metric, releasesPages: false)
                .run(table, rows: rows, queries: batch.vectors, queriesArePrepared: true, into: results, threads: 1)
            return
        }
        for q in 0..<rows {
            let query = batch.vectors.row(q), topK = topK
            topK.reset()
            walk(batch, q) { id in topK.push(index.metric.exactKey(query, index.point(id), dim: index.dim), id) }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    /// Walks the graph for query `q` of `batch` and hands `keep` the candidates, nearest first by
    /// navigation distance, that may be among its exact k nearest (its own id excluded).
    @inline(__always)
    private func walk(_ batch: QueryBatch, _ q: Int, keep: (Int) -> Void) {
        let index = index, graph = index.graph, k = topK.k
        let ef = max(index.parameters.expansionSearch, k + (batch.excludesOwnID ? 1 : 0))
        let query = batch.vectors.row(q)
        var navigation = NavigationQuery(floats: query), error = 0.0
        if let codes = index.codes { (navigation, error) = codes.query(query, row: queryWords.pointer, scratch: centred.pointer) }
        let excluded = batch.excludedID(ofRow: q)
        var current = graph.entryPoint
        for layer in stride(from: graph.topLevel, to: 0, by: -1) {
            current = walker.greedy(navigation, from: current, layer: layer)
        }
        let found = walker.searchLayer(navigation, from: current, ef: ef, layer: 0)
        // Only candidates within the slack of the k-th navigation distance can be among the
        // exact k nearest of `found` (the argument of `CandidateFilters`, with the navigation
        // distance as the approximate score), and `found` is sorted: scoring that prefix gives
        // what scoring all of it would.
        var limit = Float.infinity
        if let kth = found.lazy.filter({ $0.id != excluded }).dropFirst(k - 1).first {
            let queryNorm = Double(Kernels.dot(query, query, count: index.dim)).squareRoot()
            limit = (kth.distance + CandidateFilters.slack(metric: index.metric, dim: index.dim, queryNorm: queryNorm,
                                                           maxNorm: index.maxNorm, scoreError: error)).nextUp
        }
        if let duplicates = index.duplicates {
            for candidate in found {
                if candidate.distance > limit { break }
                duplicates.forEachMember(of: candidate.id, excluding: excluded, limit: k) { id in
                    keep(id)
                    reRanked += 1
                }
            }
            return
        }
        for candidate in found where candidate.id != excluded {
            if candidate.distance > limit { break }
            keep(candidate.id)
            reRanked += 1
        }
    }
}
