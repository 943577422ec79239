/// `ivf`: an inverted file — a seeded k-means partition of the dataset into `lists` cells; a
/// query scans the vectors of the `probe` cells whose centroids are nearest to it, exactly (the
/// flat index's register tiles and candidate filter, on the cells' rows), so its result is the
/// exact k nearest among the vectors it scanned.
struct IVFParameters: IndexParameters, Equatable {
    static let typeName = "ivf"

    /// Cells; nil: about 4√n (`resolvedLists`). More cells make each scan shorter and the
    /// centroid step longer, and need more probes for the same recall.
    var lists: Int? = nil
    /// Cells a query scans; nil: `lists / 32`, at least 8 (`resolvedProbe`). The cost of a query
    /// grows about linearly with it, and so does recall until the nearest cells are covered.
    var probe: Int? = nil
    /// Vectors k-means trains on; nil: 256 per cell at most (FAISS's rule) and 512 MiB, all when fewer.
    var trainSize: Int? = nil
    /// Lloyd iterations of the k-means (FAISS's IVF default, 10).
    var iterations = 10
    var seed: UInt64 = 1

    static let probeRange = 1...(1 << 24)

    /// Probes worth trying: one cell, doubling, up to all of them.
    static func probeLadder(lists: Int) -> [Int] {
        var ladder: [Int] = []
        var value = 1
        while value < lists {
            ladder.append(value)
            value *= 2
        }
        return ladder + [lists]
    }

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> IVFParameters {
        var parameters = IVFParameters()
        parameters.lists = try object.int("lists", in: 1...(1 << 24))
        parameters.probe = try object.int("probe", in: probeRange)
        if let lists = parameters.lists, let probe = parameters.probe, probe > lists {
            throw object.error("probe", "is \(probe), more than the \(lists) lists there are to scan")
        }
        parameters.trainSize = try object.int("train_size", in: 1...Int(Int32.max))
        parameters.iterations = try object.int("iterations", in: 0...1000) ?? parameters.iterations
        parameters.seed = UInt64(try object.int("seed", in: 0...Int(Int32.max)) ?? 1)
        return parameters
    }

    /// Cells for `count` vectors: 4√n, at least 1, at most n.
    func resolvedLists(count: Int) -> Int {
        min(max(count, 1), lists ?? max(1, Int((4 * Double(count).squareRoot()).rounded())))
    }

    /// Cells a query scans when the job names none: about 3% of them, at least 8.
    func resolvedProbe(lists: Int) -> Int { min(lists, probe ?? max(8, lists / 32)) }

    /// Training vectors: `train_size`, else 256 per cell and at most 512 MiB of them (a
    /// dataset beyond memory is sampled, not copied), never more than the dataset.
    func resolvedTrainSize(count: Int, lists: Int, dim: Int) -> Int {
        max(lists, min(count, trainSize ?? min(256 * lists, (512 << 20) / (4 * max(dim, 1)))))
    }

    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = []
        if let lists { members.append(("lists", .integer(lists))) }
        if let probe { members.append(("probe", .integer(probe))) }
        if let trainSize { members.append(("train_size", .integer(trainSize))) }
        members += [("iterations", .integer(iterations)), ("seed", .integer(Int(seed)))]
        return members
    }

    var isExact: Bool { false }
    var buildKeys: [String] { json.map(\.key).filter { $0 != "probe" } }

    /// Refused before any work: more cells than vectors, or more probes than cells.
    func problem(count: Int, dim: Int) -> (field: String, message: String)? {
        if let lists, lists > count { return ("lists", "is \(lists), more than the dataset's \(count) vectors (each cell needs one)") }
        if let probe, probe > resolvedLists(count: count) {
            return ("probe", "is \(probe), more than the \(resolvedLists(count: count)) lists there are to scan")
        }
        if let trainSize, trainSize < resolvedLists(count: count) {
            return ("train_size", "is \(trainSize), fewer than the \(resolvedLists(count: count)) lists k-means must seed")
        }
        return nil
    }

    /// Scans work best on slices that give each probed cell several queries at once.
    var preferredSliceQueries: Int { 2048 }

    /// The vectors prepared and packed in cells (each padded to 32), an id and a position per
    /// vector, the centroids; the build holds the training sample (and its int16 codes, where
    /// k-means scores with them) and a cell per vector.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let lists = resolvedLists(count: count), train = resolvedTrainSize(count: count, lists: lists, dim: dim)
        return (count + 32 * lists) * (dim + 1) * 4 + count * 12 + lists * (dim + 1) * 4 * 3 + train * (dim * 4 + EncodedQueries.bytes(dim: dim))
    }

    /// Per query of a slice: its candidate filter (`CandidateFilters`), its probed cells and its
    /// scaled copy, counted per worker for a full slice.
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        let probe = resolvedProbe(lists: resolvedLists(count: count))
        // Per query: the candidate filter, the probed cells and their pairs, the coarse search's
        // own filter, the scaled copy.
        return BlockScratch(perQuery: 0, perWorker: preferredSliceQueries * ((6 * k + 64) * 16 + probe * 24 + (6 * probe + 64) * 16 + dim * 4)
                                + (dim * 8 + 8) * 4)
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        IVFIndex(data: data, metric: metric, parameters: self, threads: threads)
    }
}

extension IVFIndex: TunableIndex {
    var knobName: String { "probe" }
    var knobRange: ClosedRange<Int> { IVFParameters.probeRange }

    func knobLadder(k: Int) -> [Int] { IVFParameters.probeLadder(lists: lists) }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.probe = min(value, lists)
        return (IVFIndex(sharing: self, parameters: tuned), tuned)
    }
}
