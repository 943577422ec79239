import Foundation

/// Multi-probe LSH over `tables` hash tables.
///
/// Layout:
/// - `projections`: `tables × bits` rows of `dim` floats, table-major; under l2 and
///   sqeuclidean `shifts` gives each row's offset b in [0, w);
/// - per table `t`, rows `t·n ..< (t+1)·n` of `keys` and `ids`: every vector's bucket key and
///   id, sorted by key then id, so that a bucket is a run found by binary search;
/// - `points`: the vectors prepared for the metric, for the exact scores;
/// - `codes`, under `"search": "hamming"` only: every vector's keys, one 64-bit word per table,
///   in `HammingScan`'s blocks of 8 (word t of vector i at `((i / 8) · tables + t) · 8 + i % 8`;
///   the last block padded with zeros). Derived from the tables when the index is made or
///   loaded, so one index file serves both search modes when their jobs set the same `bits`
///   and `tables` (their defaults differ between them).
///
/// A bucket key packs the table's `bits` hash values: sign bits (SimHash) under cosine and ip,
/// or under l2 a 64-bit mix of the quantised projections ⌊(a·x + b) / w⌋ (two different cells
/// may share a key: that only adds candidates). Projections are Gaussian, drawn from `seed`,
/// and under cosine and ip made orthonormal in runs of `dim` (`orthogonalize`): the same index
/// at any thread count.
final class LSHIndex: SliceSearchIndex, @unchecked Sendable {
    let metric: Metric
    let parameters: LSHParameters
    let dim: Int
    let count: Int
    let bits: Int
    /// The bucket width under l2 and sqeuclidean (0 under cosine and ip).
    let width: Float
    let points: FloatBuffer
    let projections: FloatBuffer
    let shifts: FloatBuffer
    let keys: AlignedBuffer<UInt64>
    let ids: AlignedBuffer<Int32>
    let codes: AlignedBuffer<UInt64>?

    var signs: Bool { width == 0 }

    init(metric: Metric, parameters: LSHParameters, dim: Int, count: Int, bits: Int, width: Float, points: FloatBuffer,
         projections: FloatBuffer, shifts: FloatBuffer, keys: AlignedBuffer<UInt64>, ids: AlignedBuffer<Int32>, codes: AlignedBuffer<UInt64>? = nil) {
        (self.metric, self.parameters, self.dim, self.count, self.bits, self.width) = (metric, parameters, dim, count, bits, width)
        (self.points, self.projections, self.shifts, self.keys, self.ids) = (points, projections, shifts, keys, ids)
        // Hamming distance means something between sign bits only (the parser refuses it under l2).
        precondition(parameters.search == .buckets || width == 0, "Hamming ranking needs sign keys")
        self.codes = parameters.search == .hamming ? codes ?? Self.blockedCodes(keys: keys, ids: ids, count: count, tables: parameters.tables) : nil
    }

    convenience init(sharing other: LSHIndex, parameters: LSHParameters) {
        self.init(metric: other.metric, parameters: parameters, dim: other.dim, count: other.count, bits: other.bits, width: other.width,
                  points: other.points, projections: other.projections, shifts: other.shifts, keys: other.keys, ids: other.ids, codes: other.codes)
    }

    /// The tables' keys regrouped by vector, in `HammingScan`'s blocks (see the layout above).
    static func blockedCodes(keys: AlignedBuffer<UInt64>, ids: AlignedBuffer<Int32>, count n: Int, tables: Int) -> AlignedBuffer<UInt64> {
        let codes = AlignedBuffer<UInt64>(count: max(1, (n + 7) / 8 * tables * 8))
        for t in 0..<tables {
            for r in 0..<n {
                let i = Int(ids.pointer[t * n + r])
                codes.pointer[((i / 8) * tables + t) * 8 + i % 8] = keys.pointer[t * n + r]
            }
        }
        return codes
    }

    convenience init(data: VectorMatrix, metric: Metric, parameters: LSHParameters, threads: Int) {
        let n = data.rows, dim = data.dim, tables = parameters.tables
        let bits = parameters.resolvedBits(count: n, metric: metric)
        let points = FloatBuffer(count: n * dim, zeroed: false)
        let chunk = 1 << 14
        Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
            for i in (c * chunk)..<min((c + 1) * chunk, n) { metric.prepare(data.row(i), into: points.pointer + i * dim, dim: dim) }
            data.releasePages(rows: (c * chunk)..<min((c + 1) * chunk, n))
        }
        var random = SplitMix(seed: parameters.seed &* 0x9E37_79B9_7F4A_7C15 ^ 0x4C5348)
        let signs = metric.normalizesVectors || metric == .ip
        let width = signs ? 0 : Float(parameters.bucketWidth ?? Self.defaultWidth(points.pointer, count: n, dim: dim, random: &random))
        let projections = FloatBuffer(count: tables * bits * dim, zeroed: false)
        for i in 0..<(tables * bits * dim) { projections.pointer[i] = Self.gaussian(&random) }
        if signs { Self.orthogonalize(projections.pointer, rows: tables * bits, dim: dim) }
        let shifts = FloatBuffer(count: tables * bits)
        if !signs { for i in 0..<(tables * bits) { shifts.pointer[i] = Float(Double(random.next() >> 11) / Double(1 << 53)) * width } }
        let keys = AlignedBuffer<UInt64>(count: max(1, tables * n), zeroed: false)
        let ids = AlignedBuffer<Int32>(count: max(1, tables * n), zeroed: false)
        // Made for bucket search, so that no codes are derived from keys not yet computed; the
        // index returned derives them from the finished tables.
        var hashing = parameters
        hashing.search = .buckets
        let index = LSHIndex(metric: metric, parameters: hashing, dim: dim, count: n, bits: bits, width: width, points: points,
                             projections: projections, shifts: shifts, keys: keys, ids: ids)
        // Keys in chunks of vectors on the workers, groups of vectors projected together, then
        // each table sorted on its own worker.
        Parallel.forEach((n + chunk - 1) / chunk, threads: threads) { c in
            let values = FloatBuffer(count: LSHIndex.group * tables * bits)
            let end = min((c + 1) * chunk, n)
            for first in stride(from: c * chunk, to: end, by: LSHIndex.group) {
                let members = min(LSHIndex.group, end - first)
                index.project(members, { UnsafePointer(points.pointer + (first + $0) * dim) }, into: values.pointer)
                for m in 0..<members {
                    for t in 0..<tables {
                        keys.pointer[t * n + first + m] = index.key(values.pointer + (m * tables + t) * bits)
                        ids.pointer[t * n + first + m] = Int32(first + m)
                    }
                }
            }
        }
        Parallel.forEach(tables, threads: threads) { t in
            var pairs = (0..<n).map { (keys.pointer[t * n + $0], ids.pointer[t * n + $0]) }
            pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for (i, pair) in pairs.enumerated() { (keys.pointer[t * n + i], ids.pointer[t * n + i]) = pair }
        }
        self.init(sharing: index, parameters: parameters)
    }

    /// Four times the median distance from 64 seeded vectors to their nearest among 2,048 seeded
    /// others (E2LSH's w = 4 for neighbours at distance 1): a neighbour at about that distance
    /// shares a projection's cell with the query four times in five.
    static func defaultWidth(_ points: UnsafePointer<Float>, count n: Int, dim: Int, random: inout SplitMix) -> Double {
        guard n > 1 else { return 1 }
        let sample = (0..<min(n, 2048)).map { _ in Int(random.next() % UInt64(n)) }
        var nearest: [Float] = []
        for _ in 0..<64 {
            let a = Int(random.next() % UInt64(n))
            var best = Float.infinity
            for b in sample where b != a {
                let d = Kernels.squaredL2(points + a * dim, points + b * dim, count: dim)
                if d > 0 { best = min(best, d) }
            }
            if best < .infinity { nearest.append(best.squareRoot()) }
        }
        nearest.sort()
        let median = nearest.isEmpty ? 0 : Double(nearest[nearest.count / 2])
        return median > 0 ? 4 * median : 1
    }

    /// Makes each run of `dim` consecutive sign projections orthonormal (Gram–Schmidt, in double
    /// precision, in order: the same rows on every machine). Orthogonal hyperplanes cut the
    /// sphere independently, so the bits estimate angles with less variance than independent
    /// Gaussian ones ("super-bit" LSH, Ji et al. 2012): on the GloVe-like set, 512-bit codes
    /// ranked by Hamming distance found 0.81 of the 10 nearest among 50 candidates before, 0.88
    /// after. The scale of a row does not change its signs; l2's p-stable projections keep theirs.
    static func orthogonalize(_ rows: UnsafeMutablePointer<Float>, rows count: Int, dim: Int) {
        var basis: [[Double]] = []
        for r in 0..<count {
            if r % dim == 0 { basis.removeAll(keepingCapacity: true) }
            var row = (0..<dim).map { Double(rows[r * dim + $0]) }
            for b in basis {
                var dot = 0.0
                for i in 0..<dim { dot += row[i] * b[i] }
                for i in 0..<dim { row[i] -= dot * b[i] }
            }
            var norm = 0.0
            for i in 0..<dim { norm += row[i] * row[i] }
            // A row (almost) in the span of the others keeps its Gaussian direction.
            guard norm > 1e-12 else { continue }
            let scale = 1 / norm.squareRoot()
            for i in 0..<dim { row[i] *= scale }
            basis.append(row)
            for i in 0..<dim { rows[r * dim + i] = Float(row[i]) }
        }
    }

    static func gaussian(_ random: inout SplitMix) -> Float {
        let u1 = max(Double(random.next() >> 11) / Double(1 << 53), .leastNormalMagnitude), u2 = Double(random.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }

    /// Vectors hashed together: each projection row is read once for the group.
    static let group = 8

    /// The hash inputs of `count` vectors (at most `group`) for every table: the projections
    /// (signs' margins), or under l2 the positions (a·x + b) / w, whose floors are the cells.
    /// Vector m's inputs for table t are `values[(m · tables + t) · bits ..< + bits]`. The
    /// products are the exact kernels', one pair at a time, so the keys are the same whatever
    /// the grouping; the group only keeps each projection row in the first-level cache while
    /// it meets the group's vectors.
    func project(_ count: Int, _ vector: (Int) -> UnsafePointer<Float>, into values: UnsafeMutablePointer<Float>) {
        let rows = parameters.tables * bits
        for row in 0..<rows {
            let projection = projections.pointer + row * dim, shift = shifts.pointer[row]
            for m in 0..<count {
                let dot = Kernels.dot(projection, vector(m), count: dim)
                values[m * rows + row] = signs ? dot : (dot + shift) / width
            }
        }
    }

    /// The key of a bucket, from its cells (l2) or sign bits (`bits` inputs at `values`).
    @inline(__always)
    func key(_ values: UnsafePointer<Float>) -> UInt64 {
        var key: UInt64 = 0
        if signs {
            for j in 0..<bits where values[j] > 0 { key |= 1 << UInt64(j) }
            return key
        }
        for j in 0..<bits { key = Self.mix(key, Self.cell(values[j])) }
        return key
    }

    /// The cell a position falls in; a position beyond the 64-bit range (an outlier, or a tiny
    /// width) takes the last cell on its side, NaN cell 0.
    @inline(__always)
    static func cell(_ position: Float) -> Int64 {
        guard !position.isNaN else { return 0 }
        let floor = position.rounded(.down)
        if floor >= 9.2e18 { return Int64.max }
        if floor <= -9.2e18 { return Int64.min }
        return Int64(floor)
    }

    @inline(__always)
    static func mix(_ key: UInt64, _ cell: Int64) -> UInt64 {
        var z = (key ^ UInt64(bitPattern: cell)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Rows of table `t` whose key is `key`: a range of `keys`/`ids`.
    @inline(__always)
    func bucket(table t: Int, key: UInt64) -> Range<Int> {
        let base = keys.pointer + t * count
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if base[mid] < key { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < count && base[end] == key { end += 1 }
        return (t * count + low)..<(t * count + end)
    }

    func makeSearcher(k: Int) -> any NeighborSearcher { LSHSearcher(index: self, k: k) }

    func blockScratch(k: Int) -> BlockScratch { parameters.blockScratch(k: k, dim: dim, count: count, metric: metric) }

    var reportMembers: [(key: String, value: JSONValue)] {
        var members: [(key: String, value: JSONValue)] = [("bits", .integer(bits))]
        if codes != nil { members.append(("code_bits", .integer(bits * parameters.tables))) }
        if !signs { members.append(("bucket_width", .double(Double(width)))) }
        return members
    }
}
