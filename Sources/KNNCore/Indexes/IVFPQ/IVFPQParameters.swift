/// `ivfpq`: `ivf`'s partition, with each vector stored as a product-quantized code of its
/// residual from its cell's centroid (`pq_subspaces` codes of `pq_bits` bits) instead of its
/// float32 components. A query ranks its probed cells' codes by asymmetric distance tables, and
/// the best `rerank × k` are scored exactly from the dataset, so every reported distance is exact.
struct IVFPQParameters: IndexParameters, Equatable {
    static let typeName = "ivfpq"

    /// lists, probe, train_size, iterations, seed: as `ivf`.
    var coarse = IVFParameters()
    /// Subspaces; nil: as many as make the code a quarter byte per dimension (`resolvedSubspaces`).
    var subspaces: Int? = nil
    /// Bits per subspace code: 4 (16 codewords) or 8 (256).
    var bits = 4
    /// Candidates per neighbour scored exactly: the best `rerank × k` codes of a query.
    var rerank = 10
    /// Whether codes quantize each vector's residual from its cell's centroid (finer codes, but
    /// a distance table per query and cell) or the vector itself (one table per query).
    var residual = true

    static let rerankRange = 1...100_000

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> IVFPQParameters {
        var parameters = IVFPQParameters(coarse: try IVFParameters.parse(&object, metric: metric))
        parameters.subspaces = try object.int("pq_subspaces", in: 1...65_536)
        if let bits = try object.int("pq_bits", in: 1...64) {
            guard bits == 4 || bits == 8 else { throw object.error("pq_bits", "must be 4 or 8, found \(bits)") }
            parameters.bits = bits
        }
        parameters.rerank = try object.int("rerank", in: rerankRange) ?? parameters.rerank
        parameters.residual = try object.bool("pq_residual") ?? parameters.residual
        return parameters
    }

    /// Subspaces for `dim`: `pq_subspaces`, else the largest divisor of `dim` up to dim / 2 under
    /// 4 bits or dim / 4 under 8 — about two bits per dimension either way — and at most
    /// `maxFourBitSubspaces` under 4 bits.
    func resolvedSubspaces(dim: Int) -> Int {
        if let subspaces { return subspaces }
        let most = max(1, min(dim / (bits == 4 ? 2 : 4), bits == 4 ? Self.maxFourBitSubspaces : Int.max))
        return (1...most).last { dim % $0 == 0 } ?? 1
    }

    /// 4-bit codes are summed in 16-bit lanes with table entries of up to 255 (`FastScan`).
    static let maxFourBitSubspaces = 256

    var json: [(key: String, value: JSONValue)] {
        var members = coarse.json
        if let subspaces { members.append(("pq_subspaces", .integer(subspaces))) }
        members += [("pq_bits", .integer(bits)), ("pq_residual", .bool(residual)), ("rerank", .integer(rerank))]
        return members
    }

    var isExact: Bool { false }
    var buildKeys: [String] { json.map(\.key).filter { $0 != "probe" && $0 != "rerank" } }

    func problem(count: Int, dim: Int) -> (field: String, message: String)? {
        if let problem = coarse.problem(count: count, dim: dim) { return problem }
        if let subspaces, dim % subspaces != 0 {
            return ("pq_subspaces", "is \(subspaces), which does not divide the dimension \(dim)")
        }
        if let subspaces, bits == 4, subspaces > Self.maxFourBitSubspaces {
            return ("pq_subspaces", "is \(subspaces); 4-bit codes take at most \(Self.maxFourBitSubspaces) subspaces (use pq_bits 8 for more)")
        }
        // A dimension without a divisor near the default (a prime one) would quietly get a few
        // very coarse subspaces.
        if subspaces == nil, dim >= 16, resolvedSubspaces(dim: dim) < dim / 16 {
            let divisors = (1...dim).filter { dim % $0 == 0 }.map(String.init).joined(separator: ", ")
            return ("pq_subspaces", "has no default for dimension \(dim), which has no divisor near dim / \(bits == 4 ? 2 : 4); set it to one of \(divisors)")
        }
        return nil
    }

    /// Slices small enough that their distance tables stay in cache.
    var preferredSliceQueries: Int { 256 }

    /// Per vector its code and id (twice while sorting by cell), its cell while building and its
    /// code terms (`IVFPQIndex.codeTerms`); the centroids and their distance terms; the training
    /// sample (and its int16 codes, where k-means scores with them); the codebooks.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let lists = coarse.resolvedLists(count: count), train = coarse.resolvedTrainSize(count: count, lists: lists, dim: dim)
        let m = resolvedSubspaces(dim: dim), ksub = 1 << bits, codeBytes = (m * bits + 7) / 8
        return count * (2 * codeBytes + 12 + 5) + lists * 32 * (codeBytes + 4 + 5) + lists * dim * 4 * 2 + lists * m * ksub * 4
            + train * (dim * 4 + EncodedQueries.bytes(dim: dim)) + 2 * ksub * dim * 4
    }

    /// Candidate lists for the block re-rank; per worker a slice's tables and pools.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        let slots = min(count, rerank * k), m = resolvedSubspaces(dim: dim)
        var scratch = CandidateBlockSearch<IVFPQSearcher>.scratch(candidates: slots, dim: dim, count: 0, metric: metric)
        let lists = coarse.resolvedLists(count: count), probe = coarse.resolvedProbe(lists: lists)
        // Per query of a slice: its float table and quantized table, its selection pool (4 ×
        // slots keys), its probed cells and keys; per worker the cell ranker's filters for 8
        // queries (`CandidateFilters`), the cell groups, a cell's totals and masks.
        scratch.perWorker += preferredSliceQueries * (m * (1 << bits) * 4 + (m + 1) / 2 * 32 + 8 + 4 * slots * 8 + probe * 16 + probe * 8)
            + 8 * (6 * probe + 64) * 16 + lists * 8 + count / max(lists, 1) * 8 + 4096
        return scratch
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        IVFPQIndex(data: data, metric: metric, parameters: self, threads: threads)
    }
}

extension IVFPQIndex: TunableIndex {
    var knobName: String { "probe" }
    var knobRange: ClosedRange<Int> { IVFParameters.probeRange }

    func knobLadder(k: Int) -> [Int] { IVFParameters.probeLadder(lists: lists) }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.coarse.probe = min(value, lists)
        return (IVFPQIndex(sharing: self, parameters: tuned), tuned)
    }
}
