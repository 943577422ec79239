/// `lsh`: locality-sensitive hashing — `tables` hash tables of `bits` hash functions each:
/// sign random projections (SimHash) under cosine and ip, p-stable projections quantised by
/// `bucket_width` under l2 and sqeuclidean; a query visits its own bucket and `probes` − 1
/// nearby ones per table, in order of their score (multi-probe, Lv et al. 2007), and the
/// distinct vectors found are scored exactly.
///
/// With `"search": "hamming"` (cosine and ip) the buckets are not looked up: every vector is
/// ranked by how many of its `tables × bits` sign bits differ from the query's (the Hamming
/// distance of the concatenated codes, FAISS's IndexLSH), and the best `rerank × k` are scored
/// exactly. Its scan costs the same whatever the recall asked for (n codes of `tables` words);
/// only the exact scoring grows with `rerank`.
struct LSHParameters: IndexParameters, Equatable {
    static let typeName = "lsh"

    /// 16, or under `"search": "hamming"` 4 (codes of 256 bits with 64 bits per table).
    var tables = 16
    /// nil: from the dataset's size, ⌊log2 n⌋ − 3, buckets of 8 to 16 vectors, at most 24; 64
    /// under `"search": "hamming"` (`resolvedBits`).
    var bits: Int? = nil
    /// Buckets visited per table, the query's own included.
    var probes = 16
    /// l2 and sqeuclidean: the width of a projection's buckets; nil: four times a typical
    /// nearest-neighbour distance, measured on a sample at build (`LSHIndex.defaultWidth`).
    var bucketWidth: Double? = nil
    var seed: UInt64 = 1
    /// Buckets looked up (multi-probe), or every code ranked by Hamming distance.
    var search = LSHSearch.buckets
    /// `"search": "hamming"`: candidates per neighbour scored exactly, the `rerank × k` codes
    /// nearest the query's.
    var rerank = 10

    static let probeRange = 1...1_000_000
    static let rerankRange = 1...100_000
    static let hammingTables = 4

    static func parse(_ object: inout SpecObject, metric: Metric) throws(KNNError) -> LSHParameters {
        var parameters = LSHParameters()
        if let search = try object.string("search") {
            guard let value = LSHSearch(rawValue: search) else { throw object.error("search", "must be \"buckets\" or \"hamming\", found \"\(search)\"") }
            guard value == .buckets || metric.normalizesVectors || metric == .ip else {
                throw object.error("search", "\"hamming\" applies to cosine and ip only: under \(metric.rawValue) the hashes are cells of projections, not sign bits")
            }
            parameters.search = value
        }
        let hamming = parameters.search == .hamming
        parameters.tables = try object.int("tables", in: 1...1024) ?? (hamming ? hammingTables : parameters.tables)
        let maxBits = metric.normalizesVectors || metric == .ip ? 64 : 32
        parameters.bits = try object.int("bits", in: 1...maxBits)
        if let probes = try object.int("probes", in: probeRange) {
            guard !hamming else { throw object.error("probes", "applies to \"search\": \"buckets\" only; \"hamming\" ranks every code (set rerank instead)") }
            parameters.probes = probes
        }
        if let rerank = try object.int("rerank", in: rerankRange) {
            guard hamming else { throw object.error("rerank", "applies to \"search\": \"hamming\" only; bucket search scores every vector it finds") }
            parameters.rerank = rerank
        }
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
        if search == .hamming { return 64 }
        var value = 1
        while value < 24 && count >> (value + 4) > 0 { value += 1 }
        return min(value, metric == .l2 || metric == .sqeuclidean ? 32 : 64)
    }

    var json: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [("tables", .integer(tables))]
        if let bits { members.append(("bits", .integer(bits))) }
        if search == .hamming {
            members += [("search", .string(search.rawValue)), ("rerank", .integer(rerank))]
        } else {
            members.append(("probes", .integer(probes)))
        }
        if let bucketWidth { members.append(("bucket_width", .double(bucketWidth))) }
        members.append(("seed", .integer(Int(seed))))
        return members
    }

    var isExact: Bool { false }
    /// The search mode is not a build key: one index serves both (the tables' keys are the
    /// codes) when the jobs set the same `bits`; the file's loader names a mismatch.
    var buildKeys: [String] { json.map(\.key).filter { !["probes", "search", "rerank"].contains($0) } }

    /// The vectors (prepared), and per table a key and an id per vector, and the projections;
    /// under `"search": "hamming"` the codes in blocks besides.
    func estimatedBytes(count: Int, dim: Int, metric: Metric, threads: Int) -> Int {
        let bits = resolvedBits(count: count, metric: metric)
        let codes = search == .hamming ? (count + 7) / 8 * 8 * tables * 8 : 0
        return count * dim * 4 + tables * count * 12 * 2 + tables * bits * (dim + 1) * 4 + codes
    }

    /// Per worker the bucket search's stamps and lists, or the ranking search's pools and
    /// distances for a group of queries (`LSHSearcher.group`).
    func blockScratch(k: Int, dim: Int, count: Int, metric: Metric) -> BlockScratch {
        if search == .hamming {
            let keep = min(count, rerank * k)
            return BlockScratch(perQuery: 0, perWorker: LSHSearcher.group * (4 * keep * 8 + tables * 8 + tables * 64 * 4) + keep * 4 + 1 << 16)
        }
        // The stamps, and a group's hash inputs.
        return BlockScratch(perQuery: 0, perWorker: count * 4 + LSHIndex.group * tables * resolvedBits(count: count, metric: metric) * 4 + 1 << 16)
    }

    func build(data: VectorMatrix, metric: Metric, threads: Int) -> any VectorIndex {
        LSHIndex(data: data, metric: metric, parameters: self, threads: threads)
    }
}

/// How a query finds its candidates.
enum LSHSearch: String, Sendable {
    /// Its own bucket and `probes − 1` nearby ones in each table.
    case buckets
    /// The `rerank × k` vectors whose codes are nearest its code in Hamming distance.
    case hamming
}

extension LSHIndex: TunableIndex {
    var knobName: String { parameters.search == .hamming ? "rerank" : "probes" }
    var knobRange: ClosedRange<Int> { parameters.search == .hamming ? LSHParameters.rerankRange : LSHParameters.probeRange }

    /// One bucket per table, then doubling, up to 4096; under Hamming ranking 1 to 1024
    /// candidates per neighbour, doubling.
    func knobLadder(k: Int) -> [Int] { (0...(parameters.search == .hamming ? 10 : 12)).map { 1 << $0 } }

    func withKnob(_ value: Int) -> (index: any VectorIndex, parameters: any IndexParameters) {
        var tuned = parameters
        if tuned.search == .hamming { tuned.rerank = value } else { tuned.probes = value }
        return (LSHIndex(sharing: self, parameters: tuned), tuned)
    }
}
