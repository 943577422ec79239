/// The rows of a matrix that are bit-for-bit identical once prepared for a metric (unit length
/// under cosine), grouped. A graph index builds over one row of each group, its representative
/// (the smallest id), and expands a representative found by a search into its copies.
///
/// Why: identical rows are at distance 0 from each other, so a graph's neighbour selection keeps
/// linking copies to copies, their link lists fill with each other, and the rest of the graph can
/// neither reach them nor leave them: with 2,000 points of which every seventh is a copy of one
/// row, a fifth of the points became unreachable. One node per group removes the cause.
///
/// Copies prepare to the same floats, so their exact distance to any query is the same float:
/// with ties ordered by id, only a group's `k` smallest ids (skipping the query's own) can be
/// among its k nearest, which bounds the expansion.
///
/// Layout: `group[v]` is −1 for a row without copies and for every copy but the
/// representative; for a representative it is its group's number g, whose members, ascending,
/// are `members[start[g] ..< start[g + 1]]`.
struct DuplicateRows: Sendable {
    let representatives: [Int]
    let group: [Int32]
    let start: [Int]
    let members: [Int32]

    /// The number of groups of two or more rows.
    var groupCount: Int { start.count - 1 }
    /// Rows that are copies of a smaller id (not graph nodes).
    var copies: Int { members.count - groupCount }

    /// Groups `data`'s rows; nil when no two rows are identical (the common case costs a hash of
    /// each row and a sort of the hashes).
    static func find(in data: VectorMatrix, metric: Metric, threads: Int) -> DuplicateRows? {
        let n = data.rows, dim = data.dim
        guard n > 1 else { return nil }
        let hashes = AlignedBuffer<UInt64>(count: n, zeroed: false)
        let chunk = 4096, chunks = (n + chunk - 1) / chunk
        Parallel.forEach(chunks, threads: threads) { c in
            let rows = (c * chunk)..<min((c + 1) * chunk, n)
            let scratch = FloatBuffer(count: dim, zeroed: false)
            for v in rows {
                metric.prepare(data.row(v), into: scratch.pointer, dim: dim)
                hashes.pointer[v] = hash(scratch.pointer, count: dim)
            }
        }
        var order = Array(0..<n)
        order.sort { (hashes.pointer[$0], $0) < (hashes.pointer[$1], $1) }
        // Runs of equal hashes, split into classes of identical rows (a run of distinct rows is a
        // hash collision, astronomically rare).
        var groupOf = [Int32](repeating: -1, count: n)
        var start = [0], members: [Int32] = []
        var isCopy = [Bool](repeating: false, count: n)
        let a = FloatBuffer(count: dim, zeroed: false), b = FloatBuffer(count: dim, zeroed: false)
        var runStart = 0
        while runStart < n {
            var runEnd = runStart + 1
            while runEnd < n && hashes.pointer[order[runEnd]] == hashes.pointer[order[runStart]] { runEnd += 1 }
            if runEnd - runStart > 1 {
                var pending = Array(order[runStart..<runEnd])  // ascending ids
                while pending.count > 1 {
                    let first = pending[0]
                    metric.prepare(data.row(first), into: a.pointer, dim: dim)
                    var same = [first], rest: [Int] = []
                    for v in pending.dropFirst() {
                        metric.prepare(data.row(v), into: b.pointer, dim: dim)
                        if memcmp(a.pointer, b.pointer, dim * MemoryLayout<Float>.size) == 0 { same.append(v) } else { rest.append(v) }
                    }
                    if same.count > 1 {
                        groupOf[first] = Int32(start.count - 1)
                        members.append(contentsOf: same.map { Int32($0) })
                        start.append(members.count)
                        for v in same.dropFirst() { isCopy[v] = true }
                    }
                    pending = rest
                }
            }
            runStart = runEnd
        }
        guard start.count > 1 else { return nil }
        return DuplicateRows(representatives: (0..<n).filter { !isCopy[$0] }, group: groupOf, start: start, members: members)
    }

    /// Whether the layout holds together for `count` rows (a group layout read from a file): each
    /// group's members ascending, at least two, its first member the only row pointing to it;
    /// every other member a copy, pointing nowhere; the representatives exactly the rows that
    /// are not copies, ascending.
    func isConsistent(count: Int) -> Bool {
        guard group.count == count, start.first == 0, start.last == members.count, groupCount >= 1 else { return false }
        var isCopy = [Bool](repeating: false, count: count)
        var owner = [Int32](repeating: -1, count: count)
        for g in 0..<groupCount {
            let range = start[g]..<start[g + 1]
            guard range.count >= 2 else { return false }
            var previous = -1
            for (i, index) in range.enumerated() {
                let member = Int(members[index])
                guard member > previous, member < count else { return false }
                previous = member
                if i == 0 { owner[member] = Int32(g) } else { isCopy[member] = true }
            }
        }
        guard group == owner else { return false }
        return representatives == (0..<count).filter { !isCopy[$0] }
    }

    /// Whether row `v` is a graph node: a row without copies or a group's representative.
    func isNode(_ v: Int) -> Bool {
        var low = 0, high = representatives.count
        while low < high {
            let mid = (low + high) / 2
            if representatives[mid] < v { low = mid + 1 } else { high = mid }
        }
        return low < representatives.count && representatives[low] == v
    }

    /// Calls `body` with the ids that stand for graph node `v`: `v` itself when it has no
    /// copies, else its group's members in ascending order, skipping `excluded`, at most `limit`.
    @inline(__always)
    func forEachMember(of v: Int, excluding excluded: Int, limit: Int, _ body: (Int) -> Void) {
        let g = Int(group[v])
        if g < 0 {
            if v != excluded { body(v) }
            return
        }
        var taken = 0
        for i in start[g]..<start[g + 1] where taken < limit {
            let id = Int(members[i])
            if id == excluded { continue }
            body(id)
            taken += 1
        }
    }

    /// The most ids that `nodes` graph nodes can stand for with `limit` per group: one per
    /// node, plus the largest groups' extra members.
    func expandedCount(nodes: Int, limit: Int) -> Int {
        let extras = (0..<groupCount).map { min(start[$0 + 1] - start[$0], limit) - 1 }.sorted(by: >)
        return nodes + extras.prefix(nodes).reduce(0, +)
    }

    /// FNV-1a over the rows' bit patterns, four bytes at a time.
    private static func hash(_ row: UnsafePointer<Float>, count: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for j in 0..<count {
            h = (h ^ UInt64(row[j].bitPattern)) &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
