/// `flat` in an index file: section `flat` (JSON: scoring, panel count, the bounds the
/// candidate filter needs), then the panels as they sit in memory — float32: `flat.panels`,
/// `flat.bias`; int16: `flat.words`, `flat.scales`, `flat.bias` and under l2 `flat.centre`.
/// Int16 codes re-rank from the dataset, which the job supplies again.
extension FlatIndex {
    func write(to writer: IndexFileWriter) throws(KNNError) {
        switch storage {
        case .float32(let panels):
            try writer.add("flat", json: .object([("scoring", .string("float32")), ("panel_count", .integer(panels.panelCount)),
                                                  ("max_norm", .double(panels.maxNorm))]))
            try writer.add("flat.panels", panels.panels)
            try writer.add("flat.bias", panels.bias)
        case .int16(let codes, _):
            try writer.add("flat", json: .object([
                ("scoring", .string("int16")), ("panel_count", .integer(codes.panelCount)), ("max_norm", .double(codes.maxNorm)),
                ("max_inverse_scale", .double(codes.bounds.maxInverseScale)), ("max_l1", .double(codes.bounds.maxL1)),
                ("max_code_norm", .double(codes.bounds.maxNorm)), ("centred", .bool(codes.centre != nil)),
            ]))
            try writer.add("flat.words", codes.words)
            try writer.add("flat.scales", codes.scales)
            try writer.add("flat.bias", codes.bias)
            if let centre = codes.centre { try writer.add("flat.centre", centre) }
        }
    }
}

extension FlatParameters {
    func load(from reader: IndexFileReader, data: VectorMatrix, metric: Metric) throws(KNNError) -> any VectorIndex {
        let state = try reader.object("flat")
        let panelCount = try state.int("panel_count"), count = data.rows, dim = data.dim, lanes = PanelMatrix.lanes
        guard panelCount == PanelMatrix.panelCount(rows: count) else { throw reader.error("flat", "panel_count \(panelCount) does not fit \(count) vectors") }
        let scoring = try state.string("scoring"), wanted = FlatIndex.defaultScoring(metric: metric, dim: dim, kernel: .selected)
        guard scoring == wanted.rawValue else {
            throw reader.error("flat", "built with \(scoring) scoring, this CPU and kernel build score with \(wanted.rawValue)")
        }
        let storage: FlatIndex.Storage
        switch scoring {
        case "float32":
            storage = .float32(PanelMatrix(count: count, dim: dim, panelCount: panelCount,
                                           panels: try reader.buffer("flat.panels", count: panelCount * dim * lanes),
                                           bias: try reader.buffer("flat.bias", count: panelCount * lanes), maxNorm: try state.double("max_norm")))
        case "int16":
            let bounds = Int16Quantization.DatasetBounds(maxInverseScale: try state.double("max_inverse_scale"), maxL1: try state.double("max_l1"),
                                                         maxNorm: try state.double("max_code_norm"))
            let centre: FloatBuffer? = try state.bool("centred") ? try reader.buffer("flat.centre", count: dim) : nil
            let codes = QuantizedPanelMatrix(count: count, dim: dim, panelCount: panelCount,
                                             words: try reader.buffer("flat.words", count: panelCount * ((dim + 1) / 2) * lanes),
                                             scales: try reader.buffer("flat.scales", count: panelCount * lanes),
                                             bias: try reader.buffer("flat.bias", count: panelCount * lanes),
                                             centre: centre, bounds: bounds, maxNorm: try state.double("max_norm"))
            storage = .int16(codes, source: data)
        case let other:
            throw reader.error("flat", "unknown scoring \"\(other)\"")
        }
        return FlatIndex(metric: metric, kernel: .selected, dim: dim, storage: storage)
    }
}
