/// The exact rank keys of a block's candidate lists, computed in dataset order, then each
/// query's k nearest among its candidates (ties by id).
///
/// An index that navigates by compressed vectors (HNSW's int16 codes) needs the float32 vectors
/// only to score its final candidates. Scoring them query by query reads rows all over the
/// dataset, so the whole of it has to stay resident; scoring a whole block of queries' candidates
/// grouped by dataset block reads each needed row once per block of queries, in order, and a
/// memory-mapped dataset's pages are released after each dataset block, so resident memory holds
/// the compressed vectors and a few blocks of rows, not a float32 copy of the dataset. The keys
/// are the shared kernels' (`Metric.exactKey` on vectors prepared by `Metric.prepare`), so
/// results equal scoring query by query.
struct ExactReRank: @unchecked Sendable {
    /// The dataset as loaded, whose rows are prepared for the metric as they are read — or,
    /// with `rowsArePrepared`, a copy already prepared (an index that keeps one, as `forest`).
    let data: VectorMatrix
    let metric: Metric
    let rowsArePrepared: Bool

    /// Dataset rows per block.
    let blockRows: Int
    /// Whether a memory-mapped dataset's pages are released after each dataset block: yes for a
    /// whole block of queries; no when one worker scores a slice while others read the same pages.
    let releasesPages: Bool

    /// The default dataset block: what each worker may hold resident at a time, and large
    /// enough that releasing it is rare.
    static let blockBytes = 4 << 20

    /// `blockRows` defaults to `defaultBlockRows`.
    init(data: VectorMatrix, metric: Metric, rowsArePrepared: Bool = false, blockRows: Int? = nil, releasesPages: Bool = true) {
        self.data = data
        self.metric = metric
        self.rowsArePrepared = rowsArePrepared
        self.blockRows = max(1, blockRows ?? Self.defaultBlockRows(dim: data.dim))
        self.releasesPages = releasesPages
    }

    /// The rows of at most `blockBytes` of float32 vectors, at least 64, rounded down to a power
    /// of two: a finder can then order its candidates by dataset block with a shift (see `run`).
    static func defaultBlockRows(dim: Int) -> Int {
        let rows = max(64, blockBytes / max(dim * MemoryLayout<Float>.size, 1))
        return 1 << (Int.bitWidth - 1 - rows.leadingZeroBitCount)
    }

    /// Bytes of scratch per candidate slot beside the table's id and key: its index in a bucket.
    static let bytesPerSlot = MemoryLayout<UInt32>.size

    /// Scores rows `0..<rows` of `candidates` against `queries` (row r is the query of candidate
    /// row r; `queriesArePrepared` false prepares them for the metric here) and writes each row's
    /// k nearest into `results`, padded as `TopK.drain` pads.
    ///
    /// Any order of a row's candidates gives the same results. Ordered by dataset block (as a
    /// forest writes those it does not prefilter), a bucket holds a run of each row's slots,
    /// and the candidate table is read and written a run at a time instead of a cache line per
    /// slot.
    func run(_ candidates: CandidateTable, rows: Int, queries: VectorMatrix, queriesArePrepared: Bool,
             into results: ResultRows, threads: Int) {
        precondition(rows <= candidates.capacity && rows <= queries.rows && rows <= results.count)
        precondition(rows * candidates.perRow <= Int(UInt32.max), "candidate slots must fit 32 bits")
        let perRow = candidates.perRow, ids = candidates.ids, counts = candidates.counts
        let blockRows = blockRows, blockCount = (data.rows + blockRows - 1) / blockRows
        // Candidate slots (r × perRow + j) bucketed by dataset block, each bucket in slot order.
        var starts = [Int](repeating: 0, count: blockCount + 1)
        for r in 0..<rows {
            for j in 0..<Int(counts[r]) { starts[Int(ids[r * perRow + j]) / blockRows + 1] += 1 }
        }
        for b in 0..<blockCount { starts[b + 1] += starts[b] }
        let slots = AlignedBuffer<UInt32>(count: starts[blockCount], zeroed: false)
        var cursor = starts
        for r in 0..<rows {
            for j in 0..<Int(counts[r]) {
                let slot = r * perRow + j, b = Int(ids[slot]) / blockRows
                slots.pointer[cursor[b]] = UInt32(slot)
                cursor[b] += 1
            }
        }
        let bucketStarts = starts
        Parallel.forEach(blockCount, threads: threads) { b in
            let bucket = slots.pointer + bucketStarts[b]
            let size = bucketStarts[b + 1] - bucketStarts[b]
            guard size > 0 else { return }
            scoreBucket(bucket, count: size, firstRow: b * blockRows, candidates: candidates, queries: queries, queriesArePrepared: queriesArePrepared)
            if releasesPages { data.releasePages(rows: (b * blockRows)..<min((b + 1) * blockRows, data.rows)) }
        }
        // Each row's k nearest among its scored candidates, in chunks of rows.
        let chunk = 256, k = results.k
        Parallel.forEach((rows + chunk - 1) / chunk, threads: threads) { c in
            let topK = TopK(k: k)
            for r in (c * chunk)..<min((c + 1) * chunk, rows) {
                topK.reset()
                for j in 0..<Int(candidates.counts[r]) {
                    topK.push(candidates.keys[r * perRow + j], Int(candidates.ids[r * perRow + j]))
                }
                topK.drain(ids: results.ids(ofRow: r), distances: results.distances(ofRow: r))
            }
        }
    }

    /// Scores one dataset block's slots (ids from `firstRow` on, in slot order), in order of
    /// dataset id so that each row is read, and prepared, once and the block's pages in order.
    ///
    /// The ids come out of the sort with the slots (a dense bucket's row by row, a sparse one's
    /// packed above its slot): looking a slot's id up again would read the block's candidate
    /// table at random, a cache miss per slot that cost two thirds of a forest's re-rank.
    private func scoreBucket(_ bucket: UnsafeMutablePointer<UInt32>, count: Int, firstRow: Int, candidates: CandidateTable, queries: VectorMatrix,
                             queriesArePrepared: Bool) {
        let ids = candidates.ids, perRow = candidates.perRow, dim = data.dim
        let prepareRows = metric.normalizesVectors && !rowsArePrepared
        let prepareQueries = metric.normalizesVectors && !queriesArePrepared
        let rowScratch = FloatBuffer(count: prepareRows ? dim : 0), queryScratch = FloatBuffer(count: prepareQueries ? dim : 0)
        @inline(__always) func row(_ id: Int) -> UnsafePointer<Float> {
            guard prepareRows else { return data.row(id) }
            metric.prepare(data.row(id), into: rowScratch.pointer, dim: dim)
            return UnsafePointer(rowScratch.pointer)
        }
        @inline(__always) func score(slot: Int, row: UnsafePointer<Float>) {
            var query = queries.row(slot / perRow)
            if prepareQueries {
                metric.prepare(query, into: queryScratch.pointer, dim: dim)
                query = UnsafePointer(queryScratch.pointer)
            }
            candidates.keys[slot] = metric.exactKey(query, row, dim: dim)
        }
        // A dense bucket (a forest's block of queries sharing rows): a counting sort by row,
        // stable, so one row's slots stay in slot order; a sparse one: (id, slot) pairs sorted
        // by comparison, whose cost does not grow with the block's rows.
        if count >= blockRows / 8 {
            let starts = AlignedBuffer<Int32>(count: blockRows + 1), sorted = AlignedBuffer<UInt32>(count: count, zeroed: false)
            for i in 0..<count { starts.pointer[Int(ids[Int(bucket[i])]) - firstRow + 1] += 1 }
            for r in 0..<blockRows { starts.pointer[r + 1] += starts.pointer[r] }
            let cursor = AlignedBuffer<Int32>(count: blockRows, zeroed: false)
            cursor.pointer.update(from: starts.pointer, count: blockRows)
            for i in 0..<count {
                let r = Int(ids[Int(bucket[i])]) - firstRow
                sorted.pointer[Int(cursor.pointer[r])] = bucket[i]
                cursor.pointer[r] += 1
            }
            for r in 0..<blockRows where starts.pointer[r] < starts.pointer[r + 1] {
                let vector = row(firstRow + r)
                for i in Int(starts.pointer[r])..<Int(starts.pointer[r + 1]) { score(slot: Int(sorted.pointer[i]), row: vector) }
            }
        } else {
            let pairs = AlignedBuffer<UInt64>(count: count, zeroed: false)
            for i in 0..<count { pairs.pointer[i] = UInt64(UInt32(ids[Int(bucket[i])])) << 32 | UInt64(bucket[i]) }
            var sortedPairs = UnsafeMutableBufferPointer(start: pairs.pointer, count: count)
            sortedPairs.sort()
            var current = -1
            var vector = data.row(0)
            for pair in sortedPairs {
                let id = Int(pair >> 32)
                if id != current {
                    current = id
                    vector = row(id)
                }
                score(slot: Int(UInt32(truncatingIfNeeded: pair)), row: vector)
            }
        }
    }
}
