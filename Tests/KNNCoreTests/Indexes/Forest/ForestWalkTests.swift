import Testing
@testable import KNNCore

/// The walks of `ForestSearcher.findCandidates`, several queries at once in lanes, against a
/// plain best-first walk written here and against one query at a time.
@Suite struct ForestWalkTests {
    /// The distinct rows a best-first walk of `forest` finds for a prepared query, in the order
    /// found: the node of largest priority first (ties by the smaller reference), a child's
    /// priority the smallest margin on the query's side along its path, until the leaves opened
    /// hold `budget` ids or every node is open. Float margins: the walk of l2 and sqeuclidean.
    func referenceWalk(_ forest: Forest, query: UnsafePointer<Float>, budget: Int) -> [Int32] {
        let dim = forest.dim
        var open = (0..<forest.parameters.trees).map { (priority: Float.infinity, node: Int(forest.roots.pointer[$0])) }
        var gathered = 0, seen = Set<Int32>(), found: [Int32] = []
        while gathered < budget, !open.isEmpty {
            let best = open.indices.min { a, b in open[a].priority > open[b].priority || (open[a].priority == open[b].priority && open[a].node < open[b].node) }!
            let (priority, ref) = open.remove(at: best)
            if ref < 0 {
                let leaf = -(ref + 1), items = forest.leafStarts.pointer[leaf]..<forest.leafStarts.pointer[leaf + 1]
                gathered += items.count
                for i in items where seen.insert(forest.items.pointer[i]).inserted { found.append(forest.items.pointer[i]) }
            } else {
                let plane = forest.planes.pointer + ref * (dim + 1)
                let margin = Kernels.dot(plane, query, count: dim) + plane[dim]
                let positive = Int(forest.children.pointer[2 * ref]), negative = Int(forest.children.pointer[2 * ref + 1])
                open.append((min(priority, abs(margin)), margin > 0 ? positive : negative))
                open.append((min(priority, -abs(margin)), margin > 0 ? negative : positive))
            }
        }
        return found
    }

    /// Each query's candidate row from one `findCandidates` call over `queries` (slice `range`
    /// of a job's queries, own ids left out in a self-join), into a table that keeps the rows'
    /// runs by bucket (as the block search's) or, with `runs` false, one that does not.
    func candidateRows(_ forest: Forest, _ queries: VectorMatrix, range: Range<Int>, selfJoin: Bool, k: Int = 10, runs: Bool = true) -> [[Int32]] {
        candidateTable(forest, queries, range: range, selfJoin: selfJoin, k: k, runs: runs).rows
    }

    func candidateTable(_ forest: Forest, _ queries: VectorMatrix, range: Range<Int>, selfJoin: Bool, k: Int = 10,
                        runs: Bool = true) -> (table: CandidateTable, rows: [[Int32]]) {
        let table = CandidateTable(capacity: range.count, perRow: forest.parameters.candidateSlots(k: k, count: forest.count),
                                   buckets: runs ? forest.bucketCount : nil)
        let batch = QueryPreparer(queries: queries, metric: forest.metric, maxRows: range.count).batch(range, excludesOwnID: selfJoin)
        ForestSearcher(forest: forest, k: k).findCandidates(batch, into: table.rows(0..<range.count))
        return (table, (0..<range.count).map { Array(UnsafeBufferPointer(start: table.rows(0..<range.count).ids(ofRow: $0), count: Int(table.counts[$0]))) })
    }

    /// Whether row `r`'s runs group its candidates by the forest's buckets (their rows shifted
    /// by `bucketShift`): each run's in its bucket, no bucket twice, the last run ending at the
    /// row's end.
    func runsGroupByBucket(_ forest: Forest, _ table: CandidateTable, row r: Int) -> Bool {
        let runs = table.runs!, count = Int(runs.counts[r]), ids = table.ids + r * table.perRow
        let buckets = (0..<count).map { Int(runs.buckets[r * runs.perRow + $0]) }
        return Set(buckets).count == count && (count == 0 ? table.counts[r] == 0 : runs.slots(row: r, run: count - 1).upperBound == Int(table.counts[r]))
            && (0..<count).allSatisfy { i in runs.slots(row: r, run: i).allSatisfy { Int(ids[$0]) >> forest.bucketShift == buckets[i] } }
    }

    /// Under the float walk (l2, sqeuclidean) the lanes find, query by query, exactly the rows of
    /// the plain walk (less the query's own row in a self-join), grouped by the re-rank's
    /// buckets (256 rows each at 300 dimensions: twelve here): 37 queries (not a multiple of
    /// the lanes) with budgets of a few leaves, many leaves, and more than the forest holds
    /// (every node opened); and the same ids, in the order found, into a table without runs.
    @Test(arguments: [Metric.l2, .sqeuclidean], [false, true])
    func theLanesFindWhatAPlainWalkFinds(metric: Metric, selfJoin: Bool) {
        let dim = 300, data = HNSWIndexTests.clustered(3000, dim, seed: 31)
        let queries = VectorMatrix(selfJoin ? Array(data.prefix(37)) : HNSWIndexTests.clustered(37, dim, seed: 32))
        #expect(Forest.bucketShift(dim: dim) == 8 && Forest.bucketShift(dim: 4096) == 6)
        for budget in [40, 700, 100_000] {
            let built = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 6, leafSize: 16, searchBudget: budget), threads: 2)
            // Without the int16 prefilter: every candidate found is written.
            let forest = Forest(metric: metric, parameters: built.parameters, data: built.data, points: built.points, planes: built.planes, children: built.children,
                                leafStarts: built.leafStarts, items: built.items, roots: built.roots, ids: built.ids, codes: .some(nil))
            #expect(forest.planeCodes == nil)
            #expect(forest.bucketCount == 12)
            let (table, rows) = candidateTable(forest, queries, range: 0..<37, selfJoin: selfJoin)
            let unordered = candidateRows(forest, queries, range: 0..<37, selfJoin: selfJoin, runs: false)
            for q in 0..<37 {
                let expected = referenceWalk(forest, query: queries.row(q), budget: budget).filter { !selfJoin || $0 != forest.rows.pointer[q] }
                #expect(Set(rows[q]) == Set(expected) && rows[q].count == expected.count, "budget \(budget), query \(q)")
                #expect(runsGroupByBucket(forest, table, row: q), "budget \(budget), query \(q)")
                #expect(unordered[q] == expected, "budget \(budget), query \(q)")
                if budget == 100_000 { #expect(table.runs!.counts[q] == 12) }
            }
            if budget == 100_000 { #expect(rows.allSatisfy { $0.count == 3000 - (selfJoin ? 1 : 0) }) }
        }
    }

    /// The re-rank's buckets are stretches of 2^bucketShift rows, which follow the first tree's
    /// leaves, and a forest tuned to another budget shares its rows. On clustered data stored in
    /// random order the candidates of a query then fall in a few buckets, where blocks of as
    /// many consecutive vector ids would spread them over nearly all.
    @Test func bucketsAreStretchesOfRows() {
        let dim = 300, n = 4000, data = HNSWIndexTests.clustered(n, dim, seed: 37)
        let forest = Forest(data: VectorMatrix(data), metric: .cosine, parameters: ForestParameters(trees: 8, leafSize: 24, searchBudget: 200), threads: 2)
        let bucketRows = 1 << forest.bucketShift
        #expect(bucketRows == 256 && forest.bucketCount == 16)
        let tuned = Forest(sharing: forest, parameters: ForestParameters(trees: 8, leafSize: 24, searchBudget: 400))
        #expect(tuned.ids === forest.ids && tuned.points === forest.points && tuned.bucketShift == forest.bucketShift && tuned.bucketCount == 16)

        let queries = VectorMatrix(HNSWIndexTests.clustered(50, dim, seed: 38))
        let (table, rows) = candidateTable(forest, queries, range: 0..<50, selfJoin: false)
        let buckets = (0..<50).map { Double(table.runs!.counts[$0]) }.reduce(0, +) / 50
        let blocks = rows.map { Double(Set($0.map { Int(forest.ids.pointer[Int($0)]) / bucketRows }).count) }.reduce(0, +) / 50
        // Observed: 1.7 buckets against 16.0 blocks (of 16) a query.
        #expect(buckets < 3 && blocks > 12, "\(buckets) buckets, \(blocks) blocks")
    }

    /// Under cosine and ip (the walk on plane codes, where the CPU uses them) the lanes give each
    /// query the very row, order included, that a batch of that query alone gives.
    @Test(arguments: [Metric.cosine, .ip])
    func theLanesFindWhatOneQueryAtATimeFinds(metric: Metric) {
        let data = HNSWIndexTests.clustered(3000, 40, seed: 33)
        let queries = VectorMatrix(Array(data.prefix(13)) + HNSWIndexTests.clustered(24, 40, seed: 34))
        let built = Forest(data: VectorMatrix(data), metric: metric, parameters: ForestParameters(trees: 8, leafSize: 24, searchBudget: 500), threads: 2)
        let forest = Forest(metric: metric, parameters: built.parameters, data: built.data, points: built.points, planes: built.planes, children: built.children,
                            leafStarts: built.leafStarts, items: built.items, roots: built.roots, ids: built.ids, codes: .some(nil))
        for selfJoin in [false, true] {
            let together = candidateRows(forest, queries, range: 0..<37, selfJoin: selfJoin)
            for q in 0..<37 {
                #expect(together[q] == candidateRows(forest, queries, range: q..<(q + 1), selfJoin: selfJoin)[0], "self-join \(selfJoin), query \(q)")
                // Distinct ids of a 500-id budget on clustered rows: observed 72 at least.
                #expect(together[q].count >= 50 && !(selfJoin && q < 13 && together[q].contains(forest.rows.pointer[q])))
            }
        }
    }

    /// Queue entries order as (−priority, node): the largest priority first, ties by the smaller
    /// reference, −0 equal to +0; and give back both.
    @Test func queueEntriesOrderByPriorityThenNode() {
        var random = SplitMix(seed: 35)
        let special: [Float] = [.infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 1, -1]
        let priorities = special + (0..<300).map { _ in Float(Int(random.next() % 2001) - 1000) / 64 }
        let nodes = [Int(Int32.min), -1, 0, 1, Int(Int32.max)] + (0..<20).map { _ in Int(random.next() % 2001) - 1000 }
        var pairs: [(priority: Float, node: Int)] = []
        for _ in 0..<4000 { pairs.append((priorities[Int(random.next() % UInt64(priorities.count))], nodes[Int(random.next() % UInt64(nodes.count))])) }
        for (p, n) in pairs {
            let entry = ForestSearcher.entry(priority: p, node: n)
            #expect(ForestSearcher.priority(of: entry) == p && ForestSearcher.priority(of: entry).sign == (p == 0 ? .plus : p.sign) && ForestSearcher.node(of: entry) == n)
        }
        for (a, b) in zip(pairs, pairs.dropFirst()) {
            let before = a.priority > b.priority || (a.priority == b.priority && a.node < b.node)
            let after = b.priority > a.priority || (a.priority == b.priority && b.node < a.node)
            let x = ForestSearcher.entry(priority: a.priority, node: a.node), y = ForestSearcher.entry(priority: b.priority, node: b.node)
            #expect((x < y) == before && (y < x) == after, "\(a) \(b)")
        }
    }

    /// The heap pops its elements smallest first while it grows from one slot, pushes and pops
    /// interleaved (seeded), as a sorted list of the same pushes and pops does.
    @Test func theUnmanagedHeapPopsInOrder() {
        var heap = UnmanagedMinHeap<UInt64>(capacity: 1)
        defer { heap.release() }
        var random = SplitMix(seed: 36), reference: [UInt64] = []
        for step in 0..<6000 {
            if random.next() % 3 == 0 {
                let popped = heap.pop()
                #expect(popped == (reference.isEmpty ? nil : reference.removeFirst()), "step \(step)")
            } else {
                let value = random.next() % 500
                heap.push(value)
                reference.insert(value, at: reference.firstIndex { $0 > value } ?? reference.count)
            }
            #expect(heap.count == reference.count && heap.first == reference.first)
        }
        heap.removeAll()
        #expect(heap.pop() == nil && heap.first == nil)
    }
}
