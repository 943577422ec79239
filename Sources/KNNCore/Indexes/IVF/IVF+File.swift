/// `ivf` in an index file: section `ivf` (JSON: lists, panel count, training size, the largest
/// norm), then the arrays as they sit in memory — `ivf.centroids`, `ivf.cell_starts`,
/// `ivf.panels`, `ivf.bias`, `ivf.ids`. The coarse flat index over the
/// centroids is packed again on load (lists × dim, small).
extension IVFIndex {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        try writer.add("ivf", json: .object([("lists", .integer(lists)), ("panel_count", .integer(ids.count / PanelMatrix.lanes)),
                                             ("train_size", .integer(trainSize)), ("max_norm", .double(maxNorm))]))
        try writer.add("ivf.centroids", centroids)
        try writer.add("ivf.cell_starts", cellStarts)
        try writer.add("ivf.panels", panels)
        try writer.add("ivf.bias", bias)
        try writer.add("ivf.ids", ids)
    }
}

extension IVFParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let state = try reader.object("ivf")
        let n = data.rows, dim = data.dim, lanes = PanelMatrix.lanes
        let lists = try state.int("lists"), panelCount = try state.int("panel_count")
        guard lists == resolvedLists(count: n) else { throw reader.error("ivf", "has \(lists) lists, the job asks for \(resolvedLists(count: n))") }
        guard panelCount >= 2, panelCount <= 2 * (n / lanes + lists + 1) else { throw reader.error("ivf", "panel_count \(panelCount) does not fit \(n) vectors") }
        let cellStarts: AlignedBuffer<Int> = try reader.buffer("ivf.cell_starts", count: lists + 1)
        // The scans trust the layout: a corrupt file must fail here instead.
        guard cellStarts.pointer[0] == 0, cellStarts.pointer[lists] == panelCount else { throw reader.error("ivf.cell_starts", "cells do not cover the panels") }
        for c in 0..<lists where cellStarts.pointer[c + 1] < cellStarts.pointer[c] || (cellStarts.pointer[c + 1] - cellStarts.pointer[c]) % 2 != 0 {
            throw reader.error("ivf.cell_starts", "cell \(c) is not an even run of panels")
        }
        let ids: AlignedBuffer<Int32> = try reader.buffer("ivf.ids", count: panelCount * lanes)
        var seen = [Bool](repeating: false, count: n)
        for p in 0..<(panelCount * lanes) where ids.pointer[p] >= 0 {
            let id = Int(ids.pointer[p])
            guard id < n, !seen[id] else { throw reader.error("ivf.ids", "position \(p) holds id \(id) again or beyond the \(n) vectors") }
            seen[id] = true
        }
        if let missing = seen.firstIndex(of: false) { throw reader.error("ivf.ids", "vector \(missing) is in no cell") }
        let maxNorm = try state.double("max_norm")
        // The candidate filter's bound rests on it.
        guard maxNorm.isFinite, maxNorm >= 0 else { throw reader.error("ivf", "max_norm \(maxNorm) is not a norm") }
        return IVFIndex(metric: metric, parameters: self, data: data, centroids: try reader.buffer("ivf.centroids", count: lists * dim),
                        cellStarts: cellStarts, panels: try reader.buffer("ivf.panels", count: panelCount * dim * lanes),
                        bias: try reader.buffer("ivf.bias", count: panelCount * lanes), ids: ids,
                        maxNorm: maxNorm, trainSize: try state.int("train_size"), trainingSeconds: nil)
    }
}
