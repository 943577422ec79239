/// Searches an `LSHIndex` for one worker. Per table, the query's hash inputs give the cost of
/// each way to leave its bucket — flipping sign bit j costs |margin_j|; moving projection j one
/// cell down or up costs the squared distance to that cell's edge — and the perturbation sets
/// are taken cheapest first from a heap (Lv et al. 2007: from {cheapest}, each set yields its
/// "shift", the last change swapped for the next dearer one, and its "expand", the next dearer
/// one added; a set moving one projection both ways is skipped). The distinct vectors of the
/// `probes` buckets per table are scored exactly. All scratch is the worker's: nothing is
/// allocated per query.
final class LSHSearcher: NeighborSearcher {
    let index: LSHIndex
    private let topK: TopK
    private var values: [Float]
    /// The ways to leave the bucket, cheapest first: cost, coordinate, and direction (±1; 0 for a flip).
    private var options: [(cost: Float, coordinate: Int, step: Int)] = []
    private let sets = MinHeap<ProbeSet>(capacity: 256)
    private var cells: [Int64]
    private var stamps: [UInt32]
    private var stamp: UInt32 = 0
    private var candidates: [Int32] = []

    init(index: LSHIndex, k: Int) {
        self.index = index
        topK = TopK(k: k)
        values = Array(repeating: 0, count: index.bits)
        cells = Array(repeating: 0, count: index.bits)
        stamps = Array(repeating: 0, count: index.count)
        options.reserveCapacity(2 * index.bits)
    }

    func search(_ batch: QueryBatch, into results: ResultRows) {
        let index = index, dim = index.dim, metric = index.metric, points = index.points.pointer
        for q in 0..<batch.vectors.rows {
            let query = batch.vectors.row(q)
            candidates.removeAll(keepingCapacity: true)
            stamp &+= 1
            if stamp == 0 {
                for i in stamps.indices { stamps[i] = 0 }
                stamp = 1
            }
            for t in 0..<index.parameters.tables {
                index.project(query, table: t, into: &values)
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
