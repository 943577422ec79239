import KNNKernelsBaseline

/// `ivfpq` in an index file: section `ivfpq` (JSON: lists, subspaces, bits, training size),
/// then the arrays as they sit in memory — `ivfpq.centroids`, `ivfpq.codebooks`,
/// `ivfpq.cell_starts`, `ivfpq.ids`, `ivfpq.codes`, `ivfpq.cell_terms`. The coarse flat index
/// over the centroids is packed again on load.
extension IVFPQIndex {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("ivfpq", json: .object([("lists", .integer(lists)), ("pq_subspaces", .integer(quantizer.m)),
                                               ("pq_bits", .integer(quantizer.bits)), ("pq_residual", .bool(parameters.residual)),
                                               ("train_size", .integer(trainSize))]))
        try writer.add("ivfpq.centroids", centroids)
        try writer.add("ivfpq.codebooks", quantizer.codebooks)
        try writer.add("ivfpq.cell_starts", cellStarts)
        try writer.add("ivfpq.ids", ids)
        try writer.add("ivfpq.codes", codes)
        try writer.add("ivfpq.cell_terms", cellTerms)
    }
}

extension IVFPQParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let state = try reader.object("ivfpq")
        let n = data.rows, dim = data.dim
        let lists = try state.int("lists"), m = try state.int("pq_subspaces"), bits = try state.int("pq_bits")
        guard lists == coarse.resolvedLists(count: n) else { throw reader.error("ivfpq", "has \(lists) lists, the job asks for \(coarse.resolvedLists(count: n))") }
        guard try state.bool("pq_residual") == residual else { throw reader.error("ivfpq", "pq_residual differs from the job's") }
        guard m == resolvedSubspaces(dim: dim), bits == self.bits else {
            throw reader.error("ivfpq", "codes of \(m) subspaces of \(bits) bits, the job asks for \(resolvedSubspaces(dim: dim)) of \(self.bits)")
        }
        let quantizer = ProductQuantizer(m: m, bits: bits, dim: dim, codebooks: try reader.buffer("ivfpq.codebooks", count: m * (1 << bits) * (dim / m)))
        let cellStarts: AlignedBuffer<Int> = try reader.buffer("ivfpq.cell_starts", count: lists + 1)
        // The scans trust the layout: a corrupt file must fail here instead. Under 4 bits cells
        // are whole blocks of 32 positions.
        let block = bits == 4 ? FastScan.blockVectors : 1, positions = cellStarts.pointer[lists]
        guard cellStarts.pointer[0] == 0, positions >= n, positions <= n + lists * (block - 1) else {
            throw reader.error("ivfpq.cell_starts", "cells do not cover the \(n) vectors")
        }
        if let bad = (0..<lists).first(where: { cellStarts.pointer[$0 + 1] < cellStarts.pointer[$0] || cellStarts.pointer[$0 + 1] % block != 0 }) {
            throw reader.error("ivfpq.cell_starts", "cell \(bad) is not a run of whole blocks")
        }
        let ids: AlignedBuffer<Int32> = try reader.buffer("ivfpq.ids", count: max(positions, 1))
        var seen = [Bool](repeating: false, count: n)
        for p in 0..<positions where ids.pointer[p] != -1 {
            let id = Int(ids.pointer[p])
            guard id >= 0, id < n, !seen[id] else { throw reader.error("ivfpq.ids", "position \(p) holds id \(id) again or outside the \(n) vectors") }
            seen[id] = true
        }
        if let missing = seen.firstIndex(of: false) { throw reader.error("ivfpq.ids", "vector \(missing) is in no cell") }
        let codeCount = bits == 4 ? positions / block * quantizer.pairs * 32 : positions * quantizer.codeBytes
        return IVFPQIndex(metric: metric, parameters: self, data: data, centroids: try reader.buffer("ivfpq.centroids", count: lists * dim),
                          quantizer: quantizer, cellStarts: cellStarts, codes: try reader.buffer("ivfpq.codes", count: max(codeCount, 1)), ids: ids,
                          cellTerms: try reader.buffer("ivfpq.cell_terms", count: metric == .ip ? 1 : (residual ? lists : 1) * m * (1 << bits)),
                          trainSize: try state.int("train_size"), trainingSeconds: nil)
    }
}
