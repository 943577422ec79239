import Dispatch

/// Seeded Lloyd k-means for the coarse partition of `ivf`.
///
/// Deterministic at any thread count and on any CPU: the initial centroids are seeded sample
/// rows; a row's nearest centroid comes from the exact flat search (ties to the lower centroid
/// number, whatever scoring the CPU's tile uses before the exact keys decide); a
/// centroid is the mean of its rows summed in double precision in row order; and an empty cell
/// takes half of the largest one (its centroid nudged apart), so every cell keeps rows.
enum KMeans {
    /// `lists` centroids (row-major, `lists × dim`) of `sample`'s rows, already prepared for the
    /// metric, after `iterations` rounds of assignment and update. `scoring` (tests) forces how
    /// the assignment scores before its exact keys decide; the centroids are the same either way.
    static func train(sample: VectorMatrix, lists: Int, iterations: Int, seed: UInt64, threads: Int,
                      scoring: FlatIndex.Scoring? = nil) -> FloatBuffer {
        let dim = sample.dim, rows = sample.rows
        precondition(lists >= 1 && lists <= rows)
        let centroids = FloatBuffer(count: lists * dim, zeroed: false)
        // Initial centroids: distinct rows, the first `lists` of a seeded shuffle.
        var order = Array(0..<rows)
        var generator = SplitMix(seed: seed ^ 0x4B4D_4541_4E53)
        for i in 0..<lists {
            let j = i + Int(generator.next() % UInt64(rows - i))
            order.swapAt(i, j)
            (centroids.pointer + i * dim).update(from: sample.row(order[i]), count: dim)
        }
        guard iterations > 0 else { return centroids }
        let members = AlignedBuffer<Int32>(count: rows, zeroed: false)
        let starts = AlignedBuffer<Int>(count: lists + 1)
        // Where int16 scoring is fast, the rows are coded once, centred on their mean, and every
        // round codes only the centroids against that centre.
        let int16 = lists * dim > smallCodebook
            && (scoring ?? FlatIndex.defaultScoring(metric: .sqeuclidean, dim: dim, kernel: .selected)) == .int16
        let encoded = int16 ? EncodedQueries(sample, centre: Int16Quantization.mean(of: sample, threads: threads), threads: threads) : nil
        for _ in 0..<iterations {
            let cells = nearest(of: sample, centroids: centroids, lists: lists, threads: threads, encoded: encoded)
            // Rows grouped by cell, in row order within each.
            let counts = starts.pointer
            counts.update(repeating: 0, count: lists + 1)
            for i in 0..<rows { counts[Int(cells.pointer[i]) + 1] += 1 }
            for c in 0..<lists { counts[c + 1] += counts[c] }
            var cursor = Array(UnsafeBufferPointer(start: counts, count: lists))
            for i in 0..<rows {
                let c = Int(cells.pointer[i])
                members.pointer[cursor[c]] = Int32(i)
                cursor[c] += 1
            }
            Parallel.forEach(lists, threads: threads) { c in
                let first = starts.pointer[c], end = starts.pointer[c + 1]
                guard end > first else { return }
                // Each component summed over the rows in row order; 8 components at a time.
                let sums = AlignedBuffer<Double>(count: dim), sum = sums.pointer
                let wide = dim & ~7
                for m in first..<end {
                    let row = sample.row(Int(members.pointer[m]))
                    var j = 0
                    while j < wide {
                        let values = SIMD8<Double>(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self))
                        let total = UnsafeRawPointer(sum + j).loadUnaligned(as: SIMD8<Double>.self) + values
                        UnsafeMutableRawPointer(sum + j).storeBytes(of: total, as: SIMD8<Double>.self)
                        j += 8
                    }
                    while j < dim {
                        sum[j] += Double(row[j])
                        j += 1
                    }
                }
                let scale = 1 / Double(end - first), target = centroids.pointer + c * dim
                for j in 0..<dim { target[j] = Float(sum[j] * scale) }
            }
            splitEmpty(centroids: centroids, starts: starts.pointer, lists: lists, dim: dim)
        }
        return centroids
    }

    /// Gives each empty cell half of the cell with the most rows (the lowest numbered among
    /// equals): both centroids move apart by a small step in alternating directions, so the
    /// next assignment splits the rows between them.
    private static func splitEmpty(centroids: FloatBuffer, starts: UnsafeMutablePointer<Int>, lists: Int, dim: Int) {
        var sizes = (0..<lists).map { starts[$0 + 1] - starts[$0] }
        let step: Float = 1.0 / 1024
        for empty in 0..<lists where sizes[empty] == 0 {
            var largest = 0
            for c in 1..<lists where sizes[c] > sizes[largest] { largest = c }
            guard sizes[largest] > 1 else { return }
            let source = centroids.pointer + largest * dim, target = centroids.pointer + empty * dim
            // A step relative to the centroid's components and their mean size, so that a zero
            // component (or a centroid at the origin, rows around it) still moves.
            var meanSize: Float = 0
            for j in 0..<dim { meanSize += abs(source[j]) / Float(dim) }
            if meanSize == 0 { meanSize = 1 }
            for j in 0..<dim {
                let delta = (j % 2 == 0 ? step : -step) * (abs(source[j]) + meanSize)
                target[j] = source[j] + delta
                source[j] = source[j] - delta
            }
            sizes[empty] = sizes[largest] / 2
            sizes[largest] -= sizes[empty]
        }
    }

    /// Codebooks of at most this many components (`lists × dim`) are searched directly.
    static let smallCodebook = 4096

    /// The nearest of `lists` centroids (squared l2, ties to the lower number) for each row of
    /// `rows` (prepared), computed by the exact flat search in chunks on the workers; scored
    /// with int16 codes when `encoded` holds the rows' codes, float32 otherwise.
    static func nearest(of rows: VectorMatrix, centroids: FloatBuffer, lists: Int, threads: Int,
                        releasingPages: Bool = false, encoded: EncodedQueries? = nil) -> AlignedBuffer<Int32> {
        let dim = rows.dim
        // A small codebook (a product quantizer's 16 or 256 codewords of a few components) is
        // searched directly: packing a flat index for it every round costs more than the
        // search. The same exact keys and the same ties (to the lower number) either way.
        if lists * dim <= smallCodebook {
            let result = AlignedBuffer<Int32>(count: rows.rows, zeroed: false)
            let chunk = 4096
            let words = dim < 16 ? SmallCodebook(centroids: centroids.pointer, count: lists, dim: dim) : nil
            Parallel.forEach((rows.rows + chunk - 1) / chunk, threads: threads) { c in
                for i in (c * chunk)..<min((c + 1) * chunk, rows.rows) {
                    let row = rows.row(i)
                    if let words {
                        result.pointer[i] = Int32(words.nearest(to: row))
                        continue
                    }
                    var best = 0, bestKey = Float.infinity
                    for j in 0..<lists {
                        let key = Metric.sqeuclidean.exactKey(row, centroids.pointer + j * dim, dim: dim)
                        if key < bestKey { (best, bestKey) = (j, key) }
                    }
                    result.pointer[i] = Int32(best)
                }
            }
            return result
        }
        // Int16 codes of the centroids centred where the rows' codes are: coding the rows again
        // every round (centred on the centroids' mean, which moves) took a third of a 384-d
        // training, as much as the int16 tile saved; coded once, the training is a third faster.
        let matrix = VectorMatrix(rows: lists, dim: dim, stride: dim, base: UnsafePointer(centroids.pointer), owner: centroids)
        let index = encoded.map {
            FlatIndex(metric: .sqeuclidean, kernel: .selected, dim: dim,
                      storage: .int16(QuantizedPanelMatrix(data: matrix, metric: .sqeuclidean, threads: threads, centre: $0.centre), source: matrix))
        } ?? FlatIndex(data: matrix, metric: .sqeuclidean, threads: threads, scoring: .float32)
        return nearest(of: rows, index: index, threads: threads, prepare: nil, releasingPages: releasingPages, encoded: encoded)
    }

    /// The nearest vector of `index` (k = 1) for each row of `rows`; `prepare`, when given,
    /// turns a raw row into the searched vector first (normalising under cosine); `encoded`,
    /// when given, holds the rows' codes for the index's int16 codes.
    static func nearest(of rows: VectorMatrix, index: FlatIndex, threads: Int, prepare: Metric?, releasingPages: Bool,
                        encoded: EncodedQueries? = nil) -> AlignedBuffer<Int32> {
        let count = rows.rows, dim = rows.dim
        let result = AlignedBuffer<Int32>(count: count, zeroed: false)
        let chunk = 1024
        let chunks = (count + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let searcher = FlatIndex.Searcher(index: index, k: 1)
            let table = ResultTable(capacity: chunk, k: 1)
            let prepared = prepare.map { _ in FloatBuffer(count: chunk * dim) }
            for c in stride(from: worker, to: chunks, by: workers) {
                let range = (c * chunk)..<min((c + 1) * chunk, count)
                var vectors = rows.rows(range)
                if let metric = prepare, let prepared {
                    for (i, row) in range.enumerated() { metric.prepare(rows.row(row), into: prepared.pointer + i * dim, dim: dim) }
                    vectors = VectorMatrix(rows: range.count, dim: dim, stride: dim, base: UnsafePointer(prepared.pointer), owner: prepared)
                }
                let batch = QueryBatch(vectors: vectors, firstQuery: 0, excludesOwnID: false)
                if let encoded {
                    searcher.search(batch, encoded: encoded, firstRow: range.lowerBound, into: table.rows(0..<range.count))
                } else {
                    searcher.search(batch, into: table.rows(0..<range.count))
                }
                for (i, row) in range.enumerated() { result.pointer[row] = Int32(table.id(row: i, rank: 0)) }
                if releasingPages { rows.releasePages(rows: range) }
            }
        }
        return result
    }

    /// `count` row numbers of `0..<total` chosen by a seeded selection in increasing order
    /// (Knuth's algorithm S): one pass, no memory beyond the result, rows read in file order.
    static func sample(_ count: Int, of total: Int, seed: UInt64) -> [Int] {
        guard count < total else { return Array(0..<total) }
        var generator = SplitMix(seed: seed ^ 0x5341_4D50_4C45)
        var chosen: [Int] = []
        chosen.reserveCapacity(count)
        for i in 0..<total where chosen.count < count {
            // Choose row i with probability (still needed) / (still left).
            if generator.next() % UInt64(total - i) < UInt64(count - chosen.count) { chosen.append(i) }
        }
        return chosen
    }
}
