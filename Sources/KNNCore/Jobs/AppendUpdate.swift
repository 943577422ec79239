/// `"update": "append"`: a run over a dataset that only gained rows since the previous run of
/// the same job (`AppendState` checks that the first rows, the queries so far and the output are
/// exactly what that run saw and wrote) merges the new rows into the previous result instead of
/// searching everything again.
///
/// - A query the previous run answered (query q < the previous query count) keeps its previous
///   neighbours, merged with its k nearest among the new rows, found by an index of the job's
///   type over the new rows alone (the *delta*), each query bounded by its previous k-th key so
///   that a tree visits only where a nearer row could be. The merge orders by rank key, then id.
/// - A new query (the new rows of a self-join, or rows appended to the query file) is searched in
///   full, in the job's index over the whole dataset.
///
/// For an exact index the previous list is the exact top k among the old rows and the delta's
/// the exact top k among the new ones, both ranked by the same exact keys, so the merge is the
/// exact top k of the whole: the output equals a full run's byte for byte. For an approximate
/// index it is the union of the two approximate answers.
final class AppendUpdate {
    let previousRows: Int
    let previousQueries: Int
    let appendedRows: Int
    let newQueries: Int
    private let previous: ResultReader
    private let metric: Metric
    private let k: Int
    /// Previous queries whose neighbours changed.
    private(set) var changedQueries = 0
    private var churn = (compared: 0, changed: 0, overlap: 0.0)
    private var delta: (index: any VectorIndex, search: any BlockSearch)?
    /// The reverse search's pairs, sorted, and where each previous query's begin.
    private var reversePairs: (pairs: [ReversePair], starts: [Int])?
    private var deltaTable: ResultTable
    private var newTable: ResultTable
    private var bounds: FloatBuffer
    /// Where each previous query of the block being filled is in a CSV previous result.
    private var lines: [Range<Int>] = []
    /// One previous row while it is merged.
    private let scratch: (ids: AlignedBuffer<Int64>, distances: FloatBuffer)

    enum Decision {
        case full(reason: String)
        case append(AppendUpdate)
    }

    /// Whether this run can update: the recorded state matches the job, the output and the
    /// first rows of the inputs as loaded now.
    static func decide(_ spec: JobSpec, inputs: JobInputs, threads: Int) -> Decision {
        let state: AppendState
        switch AppendState.read(output: spec.output.path) {
        case .failure(let failure): return .full(reason: failure.description)
        case .success(let recorded): state = recorded
        }
        guard state.job == AppendState.jobHash(spec) else { return .full(reason: "the job or the release changed since the previous run") }
        guard let output = try? AppendState.outputStatus(path: spec.output.path), output == state.output else {
            return .full(reason: "the output is not the one the previous run wrote")
        }
        let dataset = inputs.dataset.matrix
        guard dataset.rows >= state.datasetRows else {
            return .full(reason: "the dataset has \(dataset.rows) rows, fewer than the previous run's \(state.datasetRows)")
        }
        guard AppendState.rowsHash(dataset, rows: state.datasetRows, labels: inputs.dataset.labels, threads: threads) == state.datasetHash else {
            return .full(reason: "the first \(state.datasetRows) rows of the dataset (or their labels) changed since the previous run")
        }
        let queries = inputs.queryMatrix
        if inputs.queries != nil {
            guard queries.rows >= state.queryRows,
                  AppendState.rowsHash(queries, rows: state.queryRows, labels: inputs.queryLabels, threads: threads) == state.queryHash else {
                return .full(reason: "the first \(state.queryRows) queries (or their labels) changed since the previous run")
            }
        }
        let reader: ResultReader
        do throws(KNNError) { reader = try ResultReader(path: spec.output.path, format: spec.output.format) } catch {
            return .full(reason: "the previous output cannot be read: \(error)")
        }
        return .append(AppendUpdate(previous: reader, previousRows: state.datasetRows, rows: dataset.rows,
                                    previousQueries: state.queryRows, queries: queries.rows, metric: spec.metric, k: spec.k))
    }

    private init(previous: ResultReader, previousRows: Int, rows: Int, previousQueries: Int, queries: Int, metric: Metric, k: Int) {
        self.previous = previous
        self.previousRows = previousRows
        self.previousQueries = previousQueries
        appendedRows = rows - previousRows
        newQueries = queries - previousQueries
        self.metric = metric
        self.k = k
        deltaTable = ResultTable(capacity: 0, k: k)
        newTable = ResultTable(capacity: 0, k: k)
        bounds = FloatBuffer(count: 0)
        scratch = (AlignedBuffer(count: k, zeroed: false), FloatBuffer(count: k))
    }

    /// Finds the previous queries' candidates among the new rows — all at once by a reverse
    /// search when `index` (over the whole dataset) offers one, otherwise block by block in a
    /// delta index over the new rows — for the blocks of `planner`.
    func prepare(_ spec: JobSpec, data: VectorMatrix, queries: VectorMatrix, planner: Planner, index: any VectorIndex, threads: Int) throws(KNNError) {
        let size = min(planner.blockSize, max(previousQueries, newQueries, 1))
        deltaTable = ResultTable(capacity: size, k: k)
        newTable = ResultTable(capacity: size, k: k)
        bounds = FloatBuffer(count: size)
        guard appendedRows > 0, previousQueries > 0 else { return }
        // In a self-join the index holds the previous queries; a few new rows (each query's
        // radius holds about k · appended / previous of them) search their surroundings once.
        if spec.queries == .dataset, let reverse = index as? any ReverseNeighbourSearch, appendedRows * 4 <= previousRows {
            let radii = try ResultReader(path: spec.output.path, format: spec.output.format).distances(atRank: k, queries: previousQueries)
            var pairs = radii.withUnsafeBufferPointer {
                reverse.reverseNeighbours(of: data.subrange(previousRows..<data.rows), radii: $0.baseAddress!, queryLimit: previousQueries, threads: threads)
            }
            pairs.sort()
            var starts = [Int](repeating: 0, count: previousQueries + 1)
            for pair in pairs { starts[Int(pair.query) + 1] += 1 }
            for q in 0..<previousQueries { starts[q + 1] += starts[q] }
            reversePairs = (pairs, starts)
            return
        }
        let parameters = spec.index.resolved(dim: data.dim, count: data.rows, metric: spec.metric).spec.parameters
        let index = parameters.build(data: data.subrange(previousRows..<data.rows), metric: spec.metric, threads: threads)
        let deltaPlanner = Planner(queryCount: previousQueries, k: k, threads: threads, blockQueries: planner.blockSize,
                                   sliceQueries: planner.sliceSize, scratch: index.blockScratch(k: k))
        delta = (index, index.makeBlockSearch(queries: queries, planner: deltaPlanner, k: k, selfJoin: false))
    }

    /// Fills rows `0..<block.count` of `table` for queries `block`: previous queries merged with
    /// the new rows, new queries searched in full by `search`.
    func fill(block: Range<Int>, into table: ResultTable, search: any BlockSearch, progress: Progress?) throws(KNNError) {
        let old = block.lowerBound..<max(block.lowerBound, min(block.upperBound, previousQueries))
        let new = old.upperBound..<block.upperBound
        if !new.isEmpty {
            if old.isEmpty {
                search.run(block: new, into: table, progress: progress)
            } else {
                search.run(block: new, into: newTable, progress: progress)
                (table.ids + old.count * k).update(from: newTable.ids, count: new.count * k)
                (table.distances + old.count * k).update(from: newTable.distances, count: new.count * k)
            }
        }
        table.verbatim = nil
        guard !old.isEmpty else { return }
        let rows = table.rows(0..<old.count)
        try previous.read(into: rows, firstQuery: old.lowerBound, lines: &lines)
        if !lines.isEmpty {
            // CSV: a query whose neighbours stay is copied as written (`merge` drops the ones
            // that change); new queries are formatted.
            table.verbatim = VerbatimLines(file: previous.mappedFile, ranges: lines + [Range<Int>?](repeating: nil, count: new.count))
        }
        if let (pairs, starts) = reversePairs {
            // The new rows each previous query comes near, nearest first: its top k among them.
            deltaTable.ids.update(repeating: -1, count: old.count * k)
            for r in 0..<old.count {
                let q = old.lowerBound + r
                for (rank, pair) in pairs[starts[q]..<min(starts[q + 1], starts[q] + k)].enumerated() {
                    deltaTable.ids[r * k + rank] = Int64(pair.point)
                    deltaTable.distances[r * k + rank] = metric.reported(rankKey: pair.key) + 0
                }
                try merge(row: r, into: rows, table: table)
            }
        } else if let delta {
            for r in 0..<old.count {
                let last = rows.ids(ofRow: r)[k - 1]
                bounds.pointer[r] = last >= 0 ? key(rows.distances(ofRow: r)[k - 1]) : .infinity
            }
            delta.search.run(block: old, into: deltaTable, progress: nil, bounds: UnsafePointer(bounds.pointer))
            for r in 0..<old.count { try merge(row: r, into: rows, table: table) }
        } else {
            for r in 0..<old.count { count(row: r, oldCount: (0..<k).count { rows.ids(ofRow: r)[$0] >= 0 }, merged: 0, in: rows) }
        }
        progress?.add(old.count)
    }

    /// The rank key of a reported distance (`Metric.reported` undone).
    @inline(__always)
    private func key(_ reported: Float) -> Float { metric == .ip ? -reported : reported }

    /// Merges the delta's row `r` (ids local to the new rows) into `rows`' row r, by key then id.
    private func merge(row r: Int, into rows: ResultRows, table: ResultTable) throws(KNNError) {
        let ids = rows.ids(ofRow: r), distances = rows.distances(ofRow: r)
        let newIDs = deltaTable.ids + r * k, newDistances = deltaTable.distances + r * k
        let oldCount = (0..<k).count { ids[$0] >= 0 }
        // Most queries: no new row is nearer than the k-th, and the list stands as it was.
        guard newIDs[0] >= 0, oldCount < k || key(newDistances[0]) < key(distances[k - 1]) else {
            count(row: r, oldCount: oldCount, merged: 0, in: rows)
            return
        }
        // From a CSV result only the k-th distance has been read so far; this row will change.
        if !lines.isEmpty {
            try previous.readDistances(lines: lines[r], into: distances)
            table.verbatim?.ranges[r] = nil
        }
        let oldIDs = scratch.ids.pointer, oldDistances = scratch.distances.pointer
        oldIDs.update(from: ids, count: k)
        oldDistances.update(from: distances, count: k)
        var i = 0, j = 0, merged = 0
        for slot in 0..<k {
            let oldValid = i < oldCount, newValid = j < k && newIDs[j] >= 0
            // New rows' ids are all larger than old ones: on equal keys the old row comes first.
            if newValid && (!oldValid || key(newDistances[j]) < key(oldDistances[i])) {
                ids[slot] = newIDs[j] + Int64(previousRows)
                distances[slot] = newDistances[j]
                j += 1
                merged += 1
            } else if oldValid {
                ids[slot] = oldIDs[i]
                distances[slot] = oldDistances[i]
                i += 1
            } else {
                ids[slot] = -1
                distances[slot] = .infinity
            }
        }
        count(row: r, oldCount: oldCount, merged: merged, in: rows)
    }

    /// Counts a previous query's change: `merged` new rows entered a list that held `oldCount`
    /// neighbours. The old neighbours keep their order, so the first m of the new list (m the
    /// shorter list's length, as `Churn` compares) hold the old list's first m less the new rows
    /// among them: what `Churn` would find, without reading the previous result a second time.
    private func count(row r: Int, oldCount: Int, merged: Int, in rows: ResultRows) {
        let ids = rows.ids(ofRow: r)
        let m = min(oldCount, min(k, oldCount + merged))
        let newAmongFirst = (0..<m).count { ids[$0] >= Int64(previousRows) }
        if merged > 0 { changedQueries += 1 }
        churn.compared += 1
        if newAmongFirst > 0 { churn.changed += 1 }
        churn.overlap += m == 0 ? 1 : Double(m - newAmongFirst) / Double(m)
    }

    /// What changed in the blocks filled since the last call, as `Churn` counts it against the
    /// previous output.
    func takeChurn() -> (compared: Int, changed: Int, overlap: Double) {
        defer { churn = (0, 0, 0) }
        return churn
    }
}
