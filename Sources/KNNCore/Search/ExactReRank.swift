import KNNKernelsVNNI

/// The exact rank keys of a block's candidate lists, computed in dataset order (or bucket by
/// bucket, below), then each query's k nearest among its candidates (ties by id).
///
/// An index that navigates by compressed vectors (HNSW's int16 codes) needs the float32 vectors
/// only to score its final candidates. Scoring them query by query reads rows all over the
/// dataset, so the whole of it has to stay resident; scoring a whole block of queries' candidates
/// grouped by dataset block reads each needed row once per block of queries, in order, and a
/// memory-mapped dataset's pages are released after each dataset block, so resident memory holds
/// the compressed vectors and a few blocks of rows, not a float32 copy of the dataset. The keys
/// are the shared kernels' (`Metric.exactKey` on vectors prepared by `Metric.prepare`), so
/// results equal scoring query by query.
///
/// A finder that knows which candidates are found together groups each row's into buckets
/// (`CandidateRuns`, as the forest does): the pass then scores bucket by bucket instead, each
/// bucket's rows few enough to stay in a core's cache while every query's run in it is scored.
struct ExactReRank: @unchecked Sendable {
    /// The dataset as loaded, whose rows are prepared for the metric as they are read — or,
    /// with `rowsArePrepared`, a copy already prepared (an index that keeps one, as `forest`).
    let data: VectorMatrix
    let metric: Metric
    let rowsArePrepared: Bool
    /// The vector of each row of `data`, where the rows are an index's permutation of the
    /// vectors (the forest's): candidates name rows, results and their ties vectors. Only with
    /// runs: each scored slot's row is replaced by its vector while the run's slots are in
    /// cache.
    let rowIDs: AlignedBuffer<Int32>?

    /// Dataset rows per block.
    let blockRows: Int
    /// Whether a memory-mapped dataset's pages are released after each dataset block: yes for a
    /// whole block of queries; no when one worker scores a slice while others read the same pages.
    let releasesPages: Bool

    /// The default dataset block: what each worker may hold resident at a time, and large
    /// enough that releasing it is rare.
    static let blockBytes = 4 << 20

    /// `blockRows` defaults to the rows of `blockBytes` of float32 vectors, at least 64.
    init(data: VectorMatrix, metric: Metric, rowsArePrepared: Bool = false, rowIDs: AlignedBuffer<Int32>? = nil, blockRows: Int? = nil,
         releasesPages: Bool = true) {
        self.data = data
        self.metric = metric
        self.rowsArePrepared = rowsArePrepared
        self.rowIDs = rowIDs
        self.blockRows = max(1, blockRows ?? max(64, Self.blockBytes / max(data.dim * MemoryLayout<Float>.size, 1)))
        self.releasesPages = releasesPages
    }

    /// Bytes of scratch per candidate slot beside the table's id and key: its index in a bucket.
    static let bytesPerSlot = MemoryLayout<UInt32>.size

    /// The float32 rows of a bucket of `CandidateRuns`: about half a core's L2 cache (1 MB on
    /// the CPUs measured), room left for the queries and the table. Measured on 100k × 384
    /// (forest, budget 1,600): 256 to 512 rows a bucket (384 to 768 KB) alike, 1,024 and more
    /// 5% slower, 64 rows 15% slower.
    static let bucketBytes = 512 << 10

    /// Scores rows `0..<rows` of `candidates` against `queries` (row r is the query of candidate
    /// row r; `queriesArePrepared` false prepares them for the metric here) and writes each row's
    /// k nearest into `results`, padded as `TopK.drain` pads.
    ///
    /// Any order of a row's candidates, and any grouping into runs, gives the same results.
    func run(_ candidates: CandidateTable, rows: Int, queries: VectorMatrix, queriesArePrepared: Bool,
             into results: ResultRows, threads: Int) {
        precondition(rows <= candidates.capacity && rows <= queries.rows && rows <= results.count)
        precondition(rows * candidates.perRow <= Int(UInt32.max), "candidate slots must fit 32 bits")
        precondition(rowIDs == nil || candidates.runs != nil, "rows that are not vectors are scored by bucket")
        if let runs = candidates.runs {
            scoreRuns(runs, candidates, rows: rows, queries: queries, queriesArePrepared: queriesArePrepared, threads: threads)
        } else {
            scoreByBlock(candidates, rows: rows, queries: queries, queriesArePrepared: queriesArePrepared, threads: threads)
        }
        // Each row's k nearest among its scored candidates, in chunks of rows.
        let chunk = 256, k = results.k, perRow = candidates.perRow
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

    /// Scores the candidates bucket by bucket (`CandidateRuns`): a bucket's runs, row after row,
    /// so its dataset rows come from memory once and then from the core's cache, and each run's
    /// query is read once. Pages are not released: the finders that group by bucket score an
    /// index's own copy of the rows, which stays resident.
    private func scoreRuns(_ runs: CandidateRuns, _ candidates: CandidateTable, rows: Int, queries: VectorMatrix, queriesArePrepared: Bool,
                           threads: Int) {
        // Every run, listed by bucket in row order: (row, run) words, counting-sorted on the bucket.
        let bucketCount = runs.bucketCount
        var starts = [Int](repeating: 0, count: bucketCount + 1)
        for r in 0..<rows {
            for i in 0..<Int(runs.counts[r]) { starts[Int(runs.buckets[r * runs.perRow + i]) + 1] += 1 }
        }
        for b in 0..<bucketCount { starts[b + 1] += starts[b] }
        let entries = AlignedBuffer<UInt64>(count: max(1, starts[bucketCount]), zeroed: false)
        var cursor = starts
        for r in 0..<rows {
            for i in 0..<Int(runs.counts[r]) {
                let b = Int(runs.buckets[r * runs.perRow + i])
                entries.pointer[cursor[b]] = UInt64(r) << 32 | UInt64(i)
                cursor[b] += 1
            }
        }
        let bucketStarts = starts
        Parallel.forEach(bucketCount, threads: threads) { b in
            guard bucketStarts[b] < bucketStarts[b + 1] else { return }
            scoreBucketRuns(entries.pointer + bucketStarts[b], count: bucketStarts[b + 1] - bucketStarts[b], runs: runs, candidates: candidates,
                            queries: queries, queriesArePrepared: queriesArePrepared)
        }
    }

    /// Scores one bucket's runs (`entries`: (row, run) words), four candidates at a time where
    /// the rows are read in place (`Metric.exactKeys`: the query's loads shared). The rows of a
    /// run are fetched a few candidates ahead (their first lines: the core's own prefetcher
    /// follows a row), the next run's query, ids and keys while this run is scored, and where
    /// the run after it starts and ends: the ids of a run are known, so its misses need not wait
    /// on one another.
    private func scoreBucketRuns(_ entries: UnsafePointer<UInt64>, count: Int, runs: CandidateRuns, candidates: CandidateTable, queries: VectorMatrix,
                                 queriesArePrepared: Bool) {
        let ids = candidates.ids, keys = candidates.keys, perRow = candidates.perRow, dim = data.dim
        let rowBytes = dim * MemoryLayout<Float>.size, ahead = 4, fetchBytes = min(rowBytes, 256)
        let reader = PreparedReader(reRank: self, queriesArePrepared: queriesArePrepared), vectorOf = rowIDs?.pointer
        for e in 0..<count {
            let r = Int(entries[e] >> 32), slots = runs.slots(row: r, run: Int(UInt32(truncatingIfNeeded: entries[e]))), base = r * perRow
            // Two runs ahead, where its slots are; one run ahead, its slots and its query.
            if e + 2 < count { runs.prefetchEnds(row: Int(entries[e + 2] >> 32), run: Int(UInt32(truncatingIfNeeded: entries[e + 2]))) }
            if e + 1 < count {
                let next = Int(entries[e + 1] >> 32), nextSlots = runs.slots(row: next, run: Int(UInt32(truncatingIfNeeded: entries[e + 1])))
                Prefetch.lines(ids + next * perRow + nextSlots.lowerBound, bytes: nextSlots.count * MemoryLayout<Int32>.size)
                Prefetch.lines(keys + next * perRow + nextSlots.lowerBound, bytes: nextSlots.count * MemoryLayout<Float>.size)
                Prefetch.lines(queries.row(next), bytes: rowBytes)
            }
            let query = reader.query(queries.row(r))
            var j = slots.lowerBound
            if reader.readsRowsInPlace {
                while j + 4 <= slots.upperBound {
                    let fetch = min(j + ahead, slots.upperBound)
                    for f in fetch..<min(fetch + 4, slots.upperBound) { Prefetch.lines(data.row(Int(ids[base + f])), bytes: fetchBytes) }
                    let r0 = Int(ids[base + j]), r1 = Int(ids[base + j + 1]), r2 = Int(ids[base + j + 2]), r3 = Int(ids[base + j + 3])
                    let four = metric.exactKeys(query, data.row(r0), data.row(r1), data.row(r2), data.row(r3), dim: dim)
                    (keys[base + j], keys[base + j + 1], keys[base + j + 2], keys[base + j + 3]) = (four[0], four[1], four[2], four[3])
                    if let vectorOf {
                        (ids[base + j], ids[base + j + 1], ids[base + j + 2], ids[base + j + 3]) = (vectorOf[r0], vectorOf[r1], vectorOf[r2], vectorOf[r3])
                    }
                    j += 4
                }
            }
            while j < slots.upperBound {
                if j + ahead < slots.upperBound { Prefetch.lines(data.row(Int(ids[base + j + ahead])), bytes: fetchBytes) }
                let row = Int(ids[base + j])
                keys[base + j] = metric.exactKey(query, reader.row(row), dim: dim)
                if let vectorOf { ids[base + j] = vectorOf[row] }
                j += 1
            }
        }
    }

    /// Candidate slots bucketed by dataset block, then scored block by block in dataset order.
    private func scoreByBlock(_ candidates: CandidateTable, rows: Int, queries: VectorMatrix, queriesArePrepared: Bool, threads: Int) {
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
    }

    /// Scores one dataset block's slots (ids from `firstRow` on, in slot order), in order of
    /// dataset id so that each row is read, and prepared, once and the block's pages in order.
    ///
    /// The ids come out of the sort with the slots (a dense bucket's row by row, a sparse one's
    /// packed above its slot): looking a slot's id up again would read the block's candidate
    /// table at random, a cache miss per slot.
    private func scoreBucket(_ bucket: UnsafeMutablePointer<UInt32>, count: Int, firstRow: Int, candidates: CandidateTable, queries: VectorMatrix,
                             queriesArePrepared: Bool) {
        let ids = candidates.ids, perRow = candidates.perRow, dim = data.dim
        let reader = PreparedReader(reRank: self, queriesArePrepared: queriesArePrepared)
        @inline(__always) func row(_ id: Int) -> UnsafePointer<Float> { reader.row(id) }
        @inline(__always) func score(slot: Int, row: UnsafePointer<Float>) {
            candidates.keys[slot] = metric.exactKey(reader.query(queries.row(slot / perRow)), row, dim: dim)
        }
        // A dense bucket (many queries of a block sharing rows): a counting sort by row,
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

    /// Dataset rows and queries as the metric scores them: as they are, or prepared into
    /// scratch (one of each, overwritten by the next).
    private struct PreparedReader {
        let data: VectorMatrix, metric: Metric, dim: Int
        let rowScratch: FloatBuffer?, queryScratch: FloatBuffer?

        init(reRank: ExactReRank, queriesArePrepared: Bool) {
            (data, metric, dim) = (reRank.data, reRank.metric, reRank.data.dim)
            let prepares = reRank.metric.normalizesVectors
            rowScratch = prepares && !reRank.rowsArePrepared ? FloatBuffer(count: dim) : nil
            queryScratch = prepares && !queriesArePrepared ? FloatBuffer(count: dim) : nil
        }

        /// Whether `row` returns the dataset's own rows (no scratch to share).
        var readsRowsInPlace: Bool { rowScratch == nil }

        @inline(__always)
        func row(_ id: Int) -> UnsafePointer<Float> {
            guard let rowScratch else { return data.row(id) }
            metric.prepare(data.row(id), into: rowScratch.pointer, dim: dim)
            return UnsafePointer(rowScratch.pointer)
        }

        @inline(__always)
        func query(_ query: UnsafePointer<Float>) -> UnsafePointer<Float> {
            guard let queryScratch else { return query }
            metric.prepare(query, into: queryScratch.pointer, dim: dim)
            return UnsafePointer(queryScratch.pointer)
        }
    }
}
