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
/// Navigation uses the fast pair kernels (`PairDistance`, per CPU level); the k results are
/// re-ranked by the exact kernels, so reported distances are those every index reports. The
/// navigation distances shape the graph, and they are summed differently by each kernel build
/// (fused or not), so the graph — and the output — is deterministic for a given kernel build;
/// the report names the build.
final class HNSWIndex: VectorIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: HNSWParameters
    let dim: Int
    let count: Int
    let points: FloatBuffer
    let graph: HNSWGraph
    let kernel: KernelVariant

    init(data: VectorMatrix, metric: Metric, parameters: HNSWParameters, kernel: KernelVariant = .selected, threads: Int = 1) {
        self.metric = metric
        self.parameters = parameters
        self.kernel = kernel
        dim = data.dim
        count = data.rows
        let points = FloatBuffer(count: count * dim, zeroed: false)
        let n = count, dim = dim, chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
            let rows = (c * chunk)..<min((c + 1) * chunk, n)
            data.copyPrepared(rows: rows, metric: metric, into: points.pointer + rows.lowerBound * dim)
        }
        self.points = points
        graph = HNSWGraph(count: count, connectivity: parameters.connectivity, seed: parameters.seed)
        HNSWBuilder(index: self, threads: threads).build()
    }

    @inline(__always) func point(_ v: Int) -> UnsafePointer<Float> { UnsafePointer(points.pointer + v * dim) }

    /// The navigation distance from a query (prepared for the metric) to vector `v`.
    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, _ v: Int) -> Float {
        kernel.navigationDistance(metric, query, point(v), dim: dim)
    }

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
            for chosen in selected where kernel.navigationDistance(metric, point(candidate.id), point(Int(chosen)), dim: dim) < candidate.distance {
                keep = false
                break
            }
            if keep { selected.append(Int32(candidate.id)) }
        }
    }
}

/// Answers queries: descend the upper layers greedily, search layer 0 with `expansion_search`
/// candidates, re-rank them with the exact kernels and keep the k nearest (ties by id).
final class HNSWSearcher: NeighborSearcher {
    let index: HNSWIndex
    let walker: HNSWWalker
    let topK: TopK

    init(index: HNSWIndex, k: Int) {
        self.index = index
        walker = HNSWWalker(index: index)
        topK = TopK(k: k)
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        let index = index, graph = index.graph
        let ef = max(index.parameters.expansionSearch, topK.k + (batch.excludesOwnID ? 1 : 0))
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            let excluded = batch.excludedID(ofRow: q)
            var current = graph.entryPoint
            for layer in stride(from: graph.topLevel, to: 0, by: -1) {
                current = walker.greedy(query, from: current, layer: layer)
            }
            topK.reset()
            for candidate in walker.searchLayer(query, from: current, ef: ef, layer: 0) where candidate.id != excluded {
                topK.push(index.metric.exactKey(query, index.point(candidate.id), dim: index.dim), candidate.id)
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }
}
