/// `lsh`: locality-sensitive hashing — `tables` hash tables of `bits` hash functions each:
/// sign random projections (SimHash) under cosine and ip, p-stable projections quantised by
/// `bucket_width` under l2 and sqeuclidean; a query visits its own bucket and `probes` − 1
/// nearby ones per table, in order of their score (multi-probe, Lv et al. 2007), and the
/// distinct vectors found are scored exactly.
struct LSHParameters: IndexParameters, Equatable {
    static let typeName = "lsh"

    var tables = 16
    /// nil: from the dataset's size, ⌊log2 n⌋ − 3, buckets of 8 to 16 vectors, at most 24 (`resolvedBits`).
    var bits: Int? = nil
    /// Buckets visited per table, the query's own included.
    var probes = 16
    /// l2 and sqeuclidean: the width of a projection's buckets; nil: four times a typical
    /// nearest-neighbour distance, measured on a sample at build (`LSHIndex.defaultWidth`).
    var bucketWidth: Double? = nil
    var seed: UInt64 = 1

    static let probeRange = 1...1_000_000

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> LSHParameters {
        var parameters = LSHParameters()
        parameters.tables = try object.int("tables", in: 1...1024) ?? parameters.tables
        let maxBits = metric.normalizesVectors || metric == .ip ? 64 : 32
        parameters.bits = try object.int("bits", in: 1...maxBits)
        parameters.probes = try object.int("probes", in: probeRange) ?? parameters.probes
        let width = try object.number("bucket_width", in: 0...1e30)
        if let width {
            guard metric == .l2 || metric == .sqeuclidean else {
                throw object.error("bucket_width", "applies to l2 and sqeuclidean only: under \(metric.rawValue) the hashes are signs of projections")
            }
            guard width > 0 else { throw object.error("bucket_width", "must be greater than 0") }
            guard Float(width).isNormal else { throw object.error("bucket_width", "is \(width): too small for single precision (at least \(Float.leastNormalMagnitude))") }
        }
        parameters.bucketWidth = width
        parameters.seed = UInt64(try object.int("seed", in: 0...Int(Int32.max)) ?? 1)
        return parameters
    }

    /// Bits per table for `count` vectors: buckets of about 16 vectors on average.
    func resolvedBits(count: Int, metric: Metric) -> Int {
        if let bits { return bits }
        var value = 1
        while value < 24 && count >> (value + 4) > 0 { value += 1 }
        return min(value, metric == .l2 || metric == .sqeuclidean ? 32 : 64)
    }

    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [("tables", .integer(tables))]
        if let bits { members.append(("bits", .integer(bits))) }
        members.append(("probes", .integer(probes)))
        if let bucketWidth { members.append(("bucket_width", .double(bucketWidth))) }
        members.append(("seed", .integer(Int(seed))))
        return members
    }

    var isExact: Bool { false }
    var buildKeys: [String] { json.map(\.key).filter { $0 != "probes" } }

    /// The vectors (prepared), and per table a key and an id per vector, and the projections.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let bits = resolvedBits(count: count, metric: metric)
        return count * dim * 4 + tables * count * 12 * 2 + tables * bits * (dim + 1) * 4
    }

    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        BlockScratch(perQuery: 0, perWorker: count * 4 + 1 << 16)
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        LSHIndex(data: data, metric: metric, parameters: self, threads: threads)
    }
}

extension LSHIndex: TunableIndex {
    var knobName: String { "probes" }
    var knobRange: ClosedRange<Int> { LSHParameters.probeRange }

    /// One bucket per table, then doubling, up to 4096.
    func knobLadder(k: Int) -> [Int] { (0...12).map { 1 << $0 } }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        tuned.probes = value
        return (LSHIndex(sharing: self, parameters: tuned), tuned)
    }
}
