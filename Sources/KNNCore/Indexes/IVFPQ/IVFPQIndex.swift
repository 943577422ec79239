import KNNKernelsBaseline
import Dispatch

/// An inverted file of product-quantized residuals.
///
/// Layout:
/// - `centroids` (`lists × dim`) and `coarse`, the flat index that ranks a query's cells, as in
///   `IVFIndex`;
/// - `quantizer`: the codebooks of the residuals x − centroid(cell of x);
/// - cell `c` holds positions `cellStarts[c] ..< cellStarts[c + 1]`; position `p` is vector
///   `ids[p]` (ids increasing within a cell, −1 for padding). Under 8 bits its code is
///   `codes[p * codeBytes ..< +codeBytes]`; under 4 bits cells are padded to blocks of 32
///   positions and each block's codes are laid out for `FastScan` (`pairs × 32` bytes from
///   `codes[(p / 32) * pairs * 32]`);
/// - `cellTerms` (l2, sqeuclidean, cosine): for cell `c`, subspace `s`, codeword `j`, at
///   `[(c * m + s) * ksub + j]`, |w|² + 2 c_s·w, the part of |c + Σ w_s|² each codeword adds;
///   they give each code's own terms (`codeTerms`), so a search scores
///   every cell with the query's one table of −2 q_s·w. Under ip the score is
///   −q·c − Σ_s q_s·w_s, also one table per query, and no terms are kept (one zero entry).
///   Cosine keeps the distance form although its vectors are unit: the inner product alone
///   would drop |c + Σ w_s|², the quantization's error in a norm of 1, which costs recall where
///   the codes are coarse (0.93 → 0.79 at probe 8 on a 384-d set). Without residuals
///   (`pq_residual` false) codes quantize the vectors themselves, and cellTerms holds |w|² per
///   subspace and codeword (`m × ksub`): one table per query,
///   |q − Σ w_s|² − |q|² = Σ_s (|w_s|² − 2 q_s·w_s), serves all its cells.
///
/// The float32 vectors are not kept: the block re-rank (`ExactReRank`) reads the candidates'
/// rows from the dataset in dataset order, so a mapped dataset need not stay resident.
final class IVFPQIndex: VectorIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: IVFPQParameters
    let data: VectorMatrix
    let dim: Int
    let count: Int
    let lists: Int
    let centroids: FloatBuffer
    let quantizer: ProductQuantizer
    let cellStarts: AlignedBuffer<Int>
    let codes: AlignedBuffer<UInt8>
    let ids: AlignedBuffer<Int32>
    let cellTerms: FloatBuffer
    /// Derived, not saved, when codes are scored by distance from residuals (`scoresCodeTerms`):
    /// per position its code's own terms, N = Σ_s cellTerms[c][s][j_s] = |r|² + 2 c·r for the
    /// residual r = Σ_s w_s it reconstructs (+∞ for padding), and under 4 bits per block of 32
    /// positions its least N. Then |q − c − r|² = |q − c|² + Σ_s −2 q_s·w_s + N: one table per
    /// query serves all its cells, and only N is added per code (4 bytes a vector). Its terms
    /// are as large as |c||r|, not |c|², so data far from the origin keeps its precision.
    let codeTerms: FloatBuffer
    let blockLeastTerms: FloatBuffer
    let coarse: FlatIndex
    /// Whose `FastScan` build scans 4-bit codes (every build gives the same totals).
    let kernel: KernelVariant
    let trainSize: Int
    let trainingSeconds: Double?

    init(metric: Metric, parameters: IVFPQParameters, data: VectorMatrix, centroids: FloatBuffer, quantizer: ProductQuantizer,
         cellStarts: AlignedBuffer<Int>, codes: AlignedBuffer<UInt8>, ids: AlignedBuffer<Int32>, cellTerms: FloatBuffer,
         trainSize: Int, trainingSeconds: Double?, coarse: FlatIndex? = nil, terms: (FloatBuffer, FloatBuffer)? = nil,
         threads: Int = 1, kernel: KernelVariant = .selected) {
        (self.metric, self.parameters, self.data, self.dim, self.count) = (metric, parameters, data, data.dim, data.rows)
        (self.centroids, self.quantizer, self.cellStarts, self.codes, self.ids, self.cellTerms) = (centroids, quantizer, cellStarts, codes, ids, cellTerms)
        (self.trainSize, self.trainingSeconds, self.kernel) = (trainSize, trainingSeconds, kernel)
        let lists = cellStarts.count - 1, dim = data.dim
        self.lists = lists
        // Float32 scoring for the per-query ranking of the cells, as in `IVFIndex`.
        self.coarse = coarse ?? FlatIndex(data: VectorMatrix(rows: lists, dim: dim, stride: dim, base: UnsafePointer(centroids.pointer), owner: centroids),
                                          metric: metric == .ip ? .ip : .sqeuclidean, scoring: .float32)
        (codeTerms, blockLeastTerms) = terms
            ?? Self.codeTerms(metric: metric, residual: parameters.residual, quantizer: quantizer, cellStarts: cellStarts, codes: codes, ids: ids,
                              cellTerms: cellTerms, threads: threads)
    }

    /// The same index searched with other search parameters (`TunableIndex`).
    convenience init(sharing other: IVFPQIndex, parameters: IVFPQParameters) {
        self.init(sharing: other, parameters: parameters, kernel: other.kernel)
    }

    /// The same index scanning with another kernel build (tests compare them).
    convenience init(sharing other: IVFPQIndex, parameters: IVFPQParameters, kernel: KernelVariant) {
        self.init(metric: other.metric, parameters: parameters, data: other.data, centroids: other.centroids, quantizer: other.quantizer,
                  cellStarts: other.cellStarts, codes: other.codes, ids: other.ids, cellTerms: other.cellTerms, trainSize: other.trainSize,
                  trainingSeconds: other.trainingSeconds, coarse: other.coarse,
                  terms: (other.codeTerms, other.blockLeastTerms), kernel: kernel)
    }

    /// Trains the partition and the codebooks on a seeded sample, then streams the dataset once
    /// in order — each chunk assigned to cells, encoded and its pages released — so resident
    /// memory holds the codes, the centroids and a chunk, not the float32 vectors.
    convenience init(data: VectorMatrix, metric: Metric, parameters: IVFPQParameters, threads: Int) {
        let n = data.rows, dim = data.dim
        let training = CoarseTraining(data: data, metric: metric, parameters: parameters.coarse, threads: threads)
        let lists = training.lists, centroids = training.centroids, trainSize = training.sample.rows
        let assigner = training.assigner(threads: threads)
        // The codebooks train on the sample (its residuals, in place, when codes are of residuals).
        if parameters.residual {
            let sampleCells = KMeans.nearest(of: training.sample, index: assigner, threads: threads, prepare: nil, releasingPages: false)
            let sample = training.sampleBuffer
            Parallel.forEach((training.sample.rows + 4095) / 4096, threads: threads) { c in
                for i in (c * 4096)..<min((c + 1) * 4096, training.sample.rows) {
                    let row = sample.pointer + i * dim, centre = centroids.pointer + Int(sampleCells.pointer[i]) * dim
                    for j in 0..<dim { row[j] -= centre[j] }
                }
            }
        }
        let quantizer = ProductQuantizer.train(vectors: training.sample, m: parameters.resolvedSubspaces(dim: dim), bits: parameters.bits,
                                               iterations: 25, seed: parameters.coarse.seed, threads: threads)
        let trainingSeconds = training.seconds
        let codeBytes = quantizer.codeBytes

        // One pass over the dataset: cell and code of every vector, by id.
        let cells = AlignedBuffer<Int32>(count: n, zeroed: false)
        let codesByID = AlignedBuffer<UInt8>(count: n * codeBytes, zeroed: false)
        let chunk = 1024, chunks = (n + chunk - 1) / chunk, workers = max(1, min(threads, chunks))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let searcher = assigner.makeSearcher(k: 1)
            let table = ResultTable(capacity: chunk, k: 1)
            let prepared = FloatBuffer(count: chunk * dim), residual = FloatBuffer(count: dim)
            for c in stride(from: worker, to: chunks, by: workers) {
                let range = (c * chunk)..<min((c + 1) * chunk, n)
                for (i, row) in range.enumerated() { metric.prepare(data.row(row), into: prepared.pointer + i * dim, dim: dim) }
                let vectors = VectorMatrix(rows: range.count, dim: dim, stride: dim, base: UnsafePointer(prepared.pointer), owner: prepared)
                searcher.search(QueryBatch(vectors: vectors, firstQuery: 0, excludesOwnID: false), into: table.rows(0..<range.count))
                for (i, row) in range.enumerated() {
                    let cell = Int(table.id(row: i, rank: 0))
                    cells.pointer[row] = Int32(cell)
                    let vector = prepared.pointer + i * dim, centre = centroids.pointer + cell * dim
                    guard parameters.residual else {
                        quantizer.encode(vector, into: codesByID.pointer + row * codeBytes)
                        continue
                    }
                    for j in 0..<dim { residual.pointer[j] = vector[j] - centre[j] }
                    quantizer.encode(residual.pointer, into: codesByID.pointer + row * codeBytes)
                }
                data.releasePages(rows: range)
            }
        }

        // Codes in cell order, ids increasing within each cell.
        let (cellStarts, ids, codes) = Self.layOut(cells: cells, lists: lists, codesByID: codesByID, quantizer: quantizer)
        self.init(metric: metric, parameters: parameters, data: data, centroids: centroids, quantizer: quantizer, cellStarts: cellStarts,
                  codes: codes, ids: ids, cellTerms: Self.cellTerms(metric: metric, residual: parameters.residual, centroids: centroids, lists: lists, quantizer: quantizer, threads: threads),
                  trainSize: trainSize, trainingSeconds: trainingSeconds, threads: threads)
    }

    /// Positions per cell (under 4 bits padded to blocks of 32), the id at each position, and the
    /// codes in the layout the scan reads (see the type's comment).
    static func layOut(cells: AlignedBuffer<Int32>, lists: Int, codesByID: AlignedBuffer<UInt8>, quantizer: ProductQuantizer)
        -> (cellStarts: AlignedBuffer<Int>, ids: AlignedBuffer<Int32>, codes: AlignedBuffer<UInt8>) {
        let n = cells.count, codeBytes = quantizer.codeBytes, block = quantizer.bits == 4 ? FastScan.blockVectors : 1
        var sizes = [Int](repeating: 0, count: lists)
        for i in 0..<n { sizes[Int(cells.pointer[i])] += 1 }
        let cellStarts = AlignedBuffer<Int>(count: lists + 1)
        for c in 0..<lists { cellStarts.pointer[c + 1] = cellStarts.pointer[c] + (sizes[c] + block - 1) / block * block }
        let positions = cellStarts.pointer[lists]
        let ids = AlignedBuffer<Int32>(repeating: -1, count: max(positions, 1))
        let codes = AlignedBuffer<UInt8>(count: max(quantizer.bits == 4 ? positions / block * quantizer.pairs * 32 : positions * codeBytes, 1))
        var cursor = Array(UnsafeBufferPointer(start: cellStarts.pointer, count: lists))
        for i in 0..<n {
            let c = Int(cells.pointer[i]), p = cursor[c]
            cursor[c] += 1
            ids.pointer[p] = Int32(i)
            let code = UnsafePointer(codesByID.pointer + i * codeBytes)
            guard quantizer.bits == 4 else {
                (codes.pointer + p * codeBytes).update(from: code, count: codeBytes)
                continue
            }
            let base = codes.pointer + (p / block) * quantizer.pairs * 32, j = p % block
            for s in 0..<quantizer.m {
                let byte = base + (s >> 1) * 32 + (s & 1) * 16 + (j & 15)
                byte.pointee |= UInt8(quantizer.codeword(code, subspace: s)) << (j < 16 ? 0 : 4)
            }
        }
        return (cellStarts, ids, codes)
    }

    /// |w|² + 2 c_s·w for every cell, subspace and codeword (see the type's comment); one zero
    /// under ip, which needs none.
    static func cellTerms(metric: Metric, residual: Bool, centroids: FloatBuffer, lists: Int, quantizer: ProductQuantizer, threads: Int) -> FloatBuffer {
        guard usesCellTerms(metric) else { return FloatBuffer(count: 1) }
        guard residual else {
            // Codes of the vectors themselves: |w|² per subspace and codeword, for every cell.
            let norms = FloatBuffer(count: quantizer.m * quantizer.ksub)
            for i in 0..<(quantizer.m * quantizer.ksub) {
                let word = quantizer.codebooks.pointer + i * quantizer.dsub
                for t in 0..<quantizer.dsub { norms.pointer[i] += word[t] * word[t] }
            }
            return norms
        }
        let m = quantizer.m, ksub = quantizer.ksub, dsub = quantizer.dsub, dim = quantizer.dim
        let terms = FloatBuffer(count: lists * m * ksub, zeroed: false)
        Parallel.forEach(lists, threads: threads) { c in
            let centre = centroids.pointer + c * dim
            for s in 0..<m {
                for j in 0..<ksub {
                    let word = quantizer.codebooks.pointer + (s * ksub + j) * dsub, part = centre + s * dsub
                    var value: Float = 0
                    for t in 0..<dsub { value += word[t] * word[t] + 2 * part[t] * word[t] }
                    terms.pointer[(c * m + s) * ksub + j] = value
                }
            }
        }
        return terms
    }

    /// Whether codes are scored by distance, with `cellTerms` (l2, sqeuclidean, cosine), or by
    /// inner product (ip).
    static func usesCellTerms(_ metric: Metric) -> Bool { metric != .ip }

    /// Whether codes are scored with `codeTerms`: by distance, from residuals.
    var scoresCodeTerms: Bool { Self.usesCellTerms(metric) && parameters.residual }

    /// `codeTerms` and `blockLeastTerms` (one zero each where codes are not scored with them),
    /// cell by cell on `threads` workers.
    static func codeTerms(metric: Metric, residual: Bool, quantizer: ProductQuantizer, cellStarts: AlignedBuffer<Int>,
                          codes: AlignedBuffer<UInt8>, ids: AlignedBuffer<Int32>, cellTerms: FloatBuffer, threads: Int) -> (FloatBuffer, FloatBuffer) {
        guard usesCellTerms(metric) && residual else { return (FloatBuffer(count: 1), FloatBuffer(count: 1)) }
        let lists = cellStarts.count - 1, positions = cellStarts.pointer[lists], m = quantizer.m, ksub = quantizer.ksub
        let fourBits = quantizer.bits == 4, block = FastScan.blockVectors
        let sums = FloatBuffer(count: max(positions, 1), zeroed: false), least = FloatBuffer(count: max(positions / block, 1))
        Parallel.forEach(lists, threads: threads) { c in
            let terms = cellTerms.pointer + c * m * ksub
            for p in cellStarts.pointer[c]..<cellStarts.pointer[c + 1] {
                guard ids.pointer[p] >= 0 else { sums.pointer[p] = .infinity; continue }
                var sum: Float = 0
                if fourBits {
                    let base = codes.pointer + (p / block) * quantizer.pairs * 32, j = p % block
                    for s in 0..<m {
                        let byte = base[(s >> 1) * 32 + (s & 1) * 16 + (j & 15)]
                        sum += terms[s * ksub + Int(j < 16 ? byte & 15 : byte >> 4)]
                    }
                } else {
                    let code = codes.pointer + p * quantizer.codeBytes
                    for s in 0..<m { sum += terms[s * ksub + Int(code[s])] }
                }
                sums.pointer[p] = sum
            }
            if fourBits {
                for b in (cellStarts.pointer[c] / block)..<(cellStarts.pointer[c + 1] / block) {
                    var smallest = Float.infinity
                    for p in (b * block)..<((b + 1) * block) { smallest = min(smallest, sums.pointer[p]) }
                    least.pointer[b] = smallest
                }
            }
        }
        return (sums, least)
    }

    var probe: Int { parameters.coarse.resolvedProbe(lists: lists) }

    /// Searchers rank codes for candidates; the block scores them exactly (`CandidateBlockSearch`).
    func makeBlockSearch(queries: VectorMatrix, planner: Planner, k: Int, selfJoin: Bool) -> any BlockSearch {
        CandidateBlockSearch(data: data, metric: metric, queries: queries, planner: planner, selfJoin: selfJoin,
                             candidatesPerQuery: min(count, parameters.rerank * k)) { IVFPQSearcher(index: self, k: k) }
    }

    func blockScratch(k: Int) -> BlockScratch { parameters.blockScratch(k: k, dim: dim, count: count, metric: metric) }

    var reportMembers: [(key: String, value: JSONValue)] {
        let sizes = (0..<lists).map { c in (cellStarts.pointer[c]..<cellStarts.pointer[c + 1]).reduce(0) { $0 + (ids.pointer[$1] >= 0 ? 1 : 0) } }.sorted()
        var members: [(key: String, value: JSONValue)] = [
            ("lists", .integer(lists)), ("probe", .integer(probe)), ("train_size", .integer(trainSize)),
            ("pq_subspaces", .integer(quantizer.m)), ("code_bytes", .integer(quantizer.codeBytes)),
            ("cell_sizes", .object([("min", .integer(sizes.first ?? 0)), ("median", .integer(sizes.isEmpty ? 0 : sizes[sizes.count / 2])),
                                    ("max", .integer(sizes.last ?? 0))])),
        ]
        if let trainingSeconds { members.append(("training_seconds", .double(trainingSeconds))) }
        return members
    }
}
