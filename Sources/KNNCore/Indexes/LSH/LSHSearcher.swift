/// Searches an `LSHIndex` for one worker. Per table, the query's hash inputs give the cost of
/// each way to leave its bucket — flipping sign bit j costs |margin_j|; moving projection j one
/// cell down or up costs the squared distance to that cell's edge — and the perturbation sets
/// are taken cheapest first from a heap (Lv et al. 2007: from {cheapest}, each set yields its
/// "shift", the last change swapped for the next dearer one, and its "expand", the next dearer
/// one added; a set moving one projection both ways is skipped). The distinct vectors of the
/// `probes` buckets per table are scored exactly. All scratch is the worker's: nothing is
/// allocated per query.
///
/// Under `"search": "hamming"` (`rank`) the searcher streams every code instead, for a group of
/// queries at a time: each chunk of `chunkBlocks` blocks is scanned for every query of the
/// group in turn while it sits in the first-level cache, so the codes are read from memory once
/// per group, not once per query.
final class LSHSearcher: NeighborSearcher {
    /// Queries ranked together, and blocks of 8 codes per chunk (256 codes: 8 KB with 4 words,
    /// 16 KB with 8).
    static let group = LSHIndex.group
    static let chunkBlocks = 32

    let index: LSHIndex
    private let topK: TopK
    /// A group's hash inputs (`LSHIndex.project`), and the ones of the query being probed.
    private let groupValues: FloatBuffer
    private var values: UnsafePointer<Float>
    /// The ways to leave the bucket, cheapest first: cost, coordinate, and direction (±1; 0 for a flip).
    private var options: [(cost: Float, coordinate: Int, step: Int)] = []
    private let sets = MinHeap<ProbeSet>(capacity: 256)
    private var cells: [Int64]
    private var stamps: [UInt32] = []
    private var stamp: UInt32 = 0
    private var candidates: [Int32] = []
    /// Hamming ranking: the group's codes (`tables` words each), pools, a chunk's distances.
    private var queryCodes: [UInt64] = []
    private var pools = SelectionPools(rows: 0, keep: 1)
    private let distances = AlignedBuffer<UInt64>(count: LSHSearcher.chunkBlocks * 8, zeroed: false)
    private let masks = AlignedBuffer<UInt64>(count: (LSHSearcher.chunkBlocks + 7) / 8 * 8, zeroed: false)

    init(index: LSHIndex, k: Int) {
        self.index = index
        topK = TopK(k: k)
        groupValues = FloatBuffer(count: LSHIndex.group * index.parameters.tables * index.bits)
        values = UnsafePointer(groupValues.pointer)
        cells = Array(repeating: 0, count: index.bits)
        options.reserveCapacity(2 * index.bits)
        if index.codes != nil {
            queryCodes = Array(repeating: 0, count: Self.group * index.parameters.tables)
            pools = SelectionPools(rows: Self.group, keep: min(index.count, index.parameters.rerank * k))
            candidates.reserveCapacity(pools.keep)
        } else {
            stamps = Array(repeating: 0, count: index.count)
        }
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        if index.codes != nil { return rank(batch, into: results) }
        let index = index, dim = index.dim, metric = index.metric, points = index.points.pointer, tables = index.parameters.tables
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q), member = q % LSHIndex.group
            if member == 0 {
                index.project(min(LSHIndex.group, batch.vectors.rows - q), { batch.vectors.row(q + $0) }, into: groupValues.pointer)
            }
            candidates.removeAll(keepingCapacity: true)
            stamp &+= 1
            if stamp == 0 {
                for i in stamps.indices { stamps[i] = 0 }
                stamp = 1
            }
            for t in 0..<tables {
                values = UnsafePointer(groupValues.pointer + (member * tables + t) * index.bits)
                collect(index.bucket(table: t, key: index.key(values)))
                guard index.parameters.probes > 1 else { continue }
                probe(table: t)
            }
            topK.reset()
            let excluded = batch.excludedID(ofRow: q)
            for id in candidates where Int(id) != excluded {
                let key = metric.exactKey(query, points + Int(id) * dim, dim: dim)
                if key <= topK.threshold { topK.push(key, Int(id)) }
            }
            topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
        }
    }

    /// Hamming ranking: each query's `rerank × k` nearest codes (ties by id), scored exactly.
    private func rank(_ batch: QueryBatch, into results: ResultRows) {
        let index = index, dim = index.dim, metric = index.metric, points = index.points.pointer
        let tables = index.parameters.tables, n = index.count, blocks = (n + 7) / 8, codes = index.codes!.pointer
        let variant = KernelVariant.selected, distances = distances.pointer, masks = masks.pointer
        for first in stride(from: 0, to: batch.vectors.rows, by: Self.group) {
            let members = min(Self.group, batch.vectors.rows - first)
            index.project(members, { batch.vectors.row(first + $0) }, into: groupValues.pointer)
            for j in 0..<members {
                for t in 0..<tables { queryCodes[j * tables + t] = index.key(groupValues.pointer + (j * tables + t) * index.bits) }
                pools.reset(row: j)
            }
            queryCodes.withUnsafeBufferPointer { queryCodes in
                for start in stride(from: 0, to: blocks, by: Self.chunkBlocks) {
                    let chunk = min(Self.chunkBlocks, blocks - start)
                    for j in 0..<members {
                        // The codes are met in id order, so a code as far as the worst kept one
                        // comes after it and cannot enter: only nearer ones are looked at.
                        let threshold = pools.thresholdScore(row: j)
                        let limit = threshold.isFinite ? Int(threshold) - 1 : Int.max
                        guard limit >= 0, variant.hammingScan(codes: codes + start * tables * 8, words: tables, blocks: chunk, query: queryCodes.baseAddress! + j * tables,
                                                              limit: limit, distances: distances, masks: masks) else { continue }
                        let excluded = batch.excludedID(ofRow: first + j) - start * 8, end = n - start * 8
                        // Bit b of mask word (g, l) marks code (8g + b) · 8 + l of the chunk.
                        for g in 0..<((chunk + 7) / 8) {
                            for l in 0..<8 {
                                var marks = masks[g * 8 + l]
                                while marks != 0 {
                                    let code = (g * 8 + marks.trailingZeroBitCount) * 8 + l
                                    marks &= marks - 1
                                    if code < end && code != excluded { pools.offer(row: j, score: Float(distances[code]), id: start * 8 + code) }
                                }
                            }
                        }
                    }
                }
            }
            for j in 0..<members {
                let q = first + j, query = batch.vectors.row(q)
                candidates.removeAll(keepingCapacity: true)
                candidates.append(contentsOf: repeatElement(0, count: pools.keep))
                let found = candidates.withUnsafeMutableBufferPointer { pools.finish(row: j, ids: $0.baseAddress!) }
                topK.reset()
                for id in candidates.prefix(found) {
                    let key = metric.exactKey(query, points + Int(id) * dim, dim: dim)
                    if key <= topK.threshold { topK.push(key, Int(id)) }
                }
                topK.drain(ids: results.ids(ofRow: q), distances: results.distances(ofRow: q))
            }
        }
    }

    @inline(__always)
    private func collect(_ rows: Range<Int>) {
        let ids = index.ids.pointer
        for r in rows {
            let id = ids[r]
            if stamps[Int(id)] != stamp {
                stamps[Int(id)] = stamp
                candidates.append(id)
            }
        }
    }

    /// Visits the `probes − 1` cheapest buckets next to the query's in table `t` (`values` holds its hash inputs).
    private func probe(table t: Int) {
        let index = index, bits = index.bits
        options.removeAll(keepingCapacity: true)
        if index.signs {
            for j in 0..<bits { options.append((abs(values[j]), j, 0)) }
        } else {
            for j in 0..<bits {
                let cell = values[j].rounded(.down), fraction = cell.isFinite ? values[j] - cell : 0.5
                cells[j] = LSHIndex.cell(values[j])
                options.append((fraction * fraction, j, -1))
                options.append(((1 - fraction) * (1 - fraction), j, 1))
            }
        }
        options.sort { $0.cost < $1.cost || ($0.cost == $1.cost && ($0.coordinate, $0.step) < ($1.coordinate, $1.step)) }
        let home = index.signs ? index.key(values) : 0
        sets.removeAll()
        sets.push(ProbeSet(score: options[0].cost, mask: 1, last: 0))
        var visited = 1, popped = 0
        while visited < index.parameters.probes, popped < 64 * index.parameters.probes, let set = sets.pop() {
            popped += 1
            let next = Int(set.last) + 1
            if next < options.count {
                sets.push(ProbeSet(score: set.score - options[Int(set.last)].cost + options[next].cost, mask: set.mask & ~(1 << UInt64(set.last)) | 1 << UInt64(next), last: Int32(next)))
                sets.push(ProbeSet(score: set.score + options[next].cost, mask: set.mask | 1 << UInt64(next), last: Int32(next)))
            }
            guard let key = key(of: set.mask, home: home) else { continue }
            collect(index.bucket(table: t, key: key))
            visited += 1
        }
    }

    /// The bucket key of a perturbation set (bits of `mask` index `options`), or nil when it
    /// moves one projection both ways.
    @inline(__always)
    private func key(of mask: UInt64, home: UInt64) -> UInt64? {
        var rest = mask
        if index.signs {
            var key = home
            while rest != 0 {
                let i = rest.trailingZeroBitCount
                rest &= rest - 1
                key ^= 1 << UInt64(options[i].coordinate)
            }
            return key
        }
        var moved: UInt64 = 0
        var key: UInt64 = 0
        while rest != 0 {
            let i = rest.trailingZeroBitCount
            rest &= rest - 1
            let coordinate = options[i].coordinate
            if moved & (1 << UInt64(coordinate)) != 0 { return nil }
            moved |= 1 << UInt64(coordinate)
        }
        for j in 0..<index.bits {
            var cell = cells[j]
            if moved & (1 << UInt64(j)) != 0 {
                var bits = mask
                while bits != 0 {
                    let i = bits.trailingZeroBitCount
                    bits &= bits - 1
                    if options[i].coordinate == j { cell &+= Int64(options[i].step) }
                }
            }
            key = LSHIndex.mix(key, cell)
        }
        return key
    }
}

/// A set of ways to leave a bucket: `mask` over the sorted options, `last` its dearest.
struct ProbeSet: Comparable, BitwiseCopyable {
    var score: Float
    var mask: UInt64
    var last: Int32

    static func < (a: ProbeSet, b: ProbeSet) -> Bool { a.score < b.score || (a.score == b.score && a.mask < b.mask) }
}
