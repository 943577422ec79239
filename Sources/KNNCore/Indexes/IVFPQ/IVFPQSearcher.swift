import KNNKernelsBaseline

/// Finds a slice's candidates in an `IVFPQIndex`, cell by cell: `CellRanker` gives each
/// query its `probe` nearest cells (and |q − c|², or −q·c under ip); the pairs are grouped by
/// cell; each probed cell's codes are then scanned once per query that probes it, with the
/// query's one table (`IVFPQIndex` gives the forms of the score); each query keeps its best
/// `rerank × k` (score, id) pairs in a `SelectionPools` row (ties by id, so the set does not
/// depend on the order cells are visited). The block scores them exactly.
///
/// Under 4 bits the query's table is quantized once for `FastScan`: per subspace its entries
/// less their least, times one scale `a` that keeps every entry within 65535 / (2 · pairs),
/// rounded to bytes; a code's score is then start + f · (Σ_s least_s + total / a) (+ N), where
/// f is 2 for the distance forms, whose table is −2 q_s·w. The scores only choose candidates;
/// every reported distance is exact.
final class IVFPQSearcher: CandidateFinder {
    private let index: IVFPQIndex
    private let probe: Int
    private let slots: Int
    private let cells: CellRanker
    private let groups: CellGroups
    private var capacity = 0
    private var probed = AlignedBuffer<Int64>(count: 0)
    private var probedKeys = FloatBuffer(count: 0)
    /// Per query its table (`m × ksub`, subspace-major): q_s·w at first, then the score's terms.
    private var queryTables = FloatBuffer(count: 0)
    /// Per query its best `slots` (score, id) so far.
    private var pools = SelectionPools(rows: 0, keep: 1)
    /// Under 4 bits: per query its quantized table (`pairs × 32` bytes), and f · Σ least and
    /// f / a (the score of total 0 less the start, and of one unit of total).
    private var queryBytes = AlignedBuffer<UInt8>(count: 0)
    private var queryScales = FloatBuffer(count: 0)
    /// Scratch for `FastScan.quantize`, and a cell's totals and per block its lanes within
    /// reach (`FastScan.scan`'s masks).
    private let least: FloatBuffer
    private var totals = AlignedBuffer<UInt16>(count: 0)
    private var masks = AlignedBuffer<UInt32>(count: 0)

    /// Whether the kernel's masks skip lanes (`false`, every lane is offered, lets tests check
    /// that the masks lose nothing).
    private let masksLanes: Bool

    init(index: IVFPQIndex, k: Int, masksLanes: Bool = true) {
        self.index = index
        self.masksLanes = masksLanes
        probe = index.probe
        slots = min(index.count, index.parameters.rerank * k)
        cells = CellRanker(matrix: index.coarse.panelMatrix!,
                           centroids: VectorMatrix(rows: index.lists, dim: index.dim, stride: index.dim, base: UnsafePointer(index.centroids.pointer), owner: index.centroids),
                           metric: index.coarse.metric, kernel: index.coarse.kernel)
        groups = CellGroups(lists: index.lists)
        least = FloatBuffer(count: index.quantizer.m)
        if index.quantizer.bits == 4 {
            let largest = (0..<index.lists).map { index.cellStarts.pointer[$0 + 1] - index.cellStarts.pointer[$0] }.max() ?? 0
            totals = AlignedBuffer(count: max(largest, 1))
            masks = AlignedBuffer(count: max(largest / FastScan.blockVectors, 1))
        }
    }

    private func reserve(queries: Int) {
        guard capacity < queries else { return }
        capacity = queries
        probed = AlignedBuffer(count: queries * probe)
        probedKeys = FloatBuffer(count: queries * probe)
        queryTables = FloatBuffer(count: queries * index.quantizer.m * index.quantizer.ksub)
        pools = SelectionPools(rows: queries, keep: slots)
        if index.quantizer.bits == 4 {
            queryBytes = AlignedBuffer(count: queries * index.quantizer.pairs * 32)
            queryScales = FloatBuffer(count: queries * 2)
        }
    }

    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows) {
        let index = index, quantizer = index.quantizer, queryCount = batch.vectors.rows
        let entries = quantizer.m * quantizer.ksub
        reserve(queries: queryCount)
        cells.rank(batch.vectors, probe: probe, cells: probed.pointer, keys: probedKeys.pointer)
        groups.group(probed: probed.pointer, queries: queryCount, probe: probe)
        let residual = index.parameters.residual, fourBits = quantizer.bits == 4, withTerms = index.scoresCodeTerms
        // Without residuals under l2 the table holds |w|² − 2 q_s·w; with them, −2 q_s·w beside
        // each code's N; under ip, −q_s·w.
        let codewordNorms = IVFPQIndex.usesCellTerms(index.metric) && !residual ? UnsafePointer(index.cellTerms.pointer) : nil
        let factor: Float = withTerms ? 2 : 1
        for q in 0..<queryCount {
            let table = queryTables.pointer + q * entries
            quantizer.innerProducts(batch.vectors.row(q), into: table)
            pools.reset(row: q)
            if fourBits {
                let (offset, unscale) = index.kernel.fastScanQuantize(terms: codewordNorms, products: table, subspaces: quantizer.m,
                                                                      least: least.pointer, into: queryBytes.pointer + q * quantizer.pairs * 32)
                (queryScales.pointer[2 * q], queryScales.pointer[2 * q + 1]) = (factor * offset, factor * unscale)
            } else if let codewordNorms {
                for i in 0..<entries { table[i] = codewordNorms[i] - 2 * table[i] }
            } else {
                for i in 0..<entries { table[i] = -factor * table[i] }
            }
        }
        for cell in 0..<index.lists {
            let pairs = groups.pairs(ofCell: cell)
            guard !pairs.isEmpty else { continue }
            for pair in pairs {
                let q = pair / probe, excluded = batch.excludedID(ofRow: q)
                // The score's part that no code adds: |q − c|² under the distance forms (each
                // code adds its own terms N), −q·c under ip, nothing without residuals.
                let start = residual ? probedKeys.pointer[pair] : 0
                if fourBits {
                    scanCodes(cell: cell, query: q, tables: queryBytes.pointer + q * quantizer.pairs * 32, base: start + queryScales.pointer[2 * q],
                              unscale: queryScales.pointer[2 * q + 1], excluded: excluded)
                } else {
                    scan(cell: cell, query: q, table: queryTables.pointer + q * entries, start: start, excluded: excluded)
                }
            }
        }
        for q in 0..<queryCount {
            rows.setCount(pools.finish(row: q, ids: rows.ids(ofRow: q)), ofRow: q)
        }
    }

    /// Offers (score, id) to query `q`'s pool unless it is the query's own vector or padding.
    @inline(__always)
    private func offer(_ score: Float, id: Int, query q: Int, excluded: Int) {
        if id != excluded && id >= 0 { pools.offer(row: q, score: score, id: id) }
    }

    /// Scores cell `cell`'s 4-bit codes for query `q` with quantized `tables` (`FastScan`'s
    /// layout; a total T stands for base + T · unscale, plus N with code terms) and
    /// offers them to the query's pool.
    private func scanCodes(cell: Int, query q: Int, tables: UnsafePointer<UInt8>, base: Float, unscale: Float, excluded: Int) {
        let index = index, pairs = index.quantizer.pairs
        let first = index.cellStarts.pointer[cell], end = index.cellStarts.pointer[cell + 1]
        let firstBlock = first / FastScan.blockVectors, blocks = (end - first) / FastScan.blockVectors
        let terms = index.scoresCodeTerms ? index.codeTerms.pointer : nil
        // The kernel marks the lanes whose score base + T · unscale (+ N) is within the pool's
        // threshold as the cell starts, in table units from the cell's least N: T + (N − least)
        // / unscale ≤ (threshold − base − least) / unscale. Both sides round, by relative errors
        // of the terms' sizes (which may be large and cancel, for data far from the origin), so
        // the limit has a margin of 10⁻⁵ of those sizes, about 170 roundings, and one unit. The
        // pool then compares each marked lane's score with its threshold as it is by then.
        var floor: Float = 0
        if terms != nil {
            floor = .infinity
            for block in firstBlock..<(firstBlock + blocks) { floor = min(floor, index.blockLeastTerms.pointer[block]) }
        }
        let threshold = pools.thresholdScore(row: q)
        var limit = (threshold - base - floor) / unscale
        limit = limit.isNaN || unscale == 0 || !masksLanes ? .infinity : limit + 1e-5 * (abs(limit) + (abs(threshold) + abs(base) + abs(floor)) / unscale) + 1
        guard limit >= 0 else { return }
        index.kernel.fastScan(codes: index.codes.pointer + firstBlock * pairs * 32, blocks: blocks, tables: tables, pairs: pairs,
                              totals: totals.pointer, extra: limit.isFinite ? terms.map { UnsafePointer($0 + first) } : nil, floor: floor, scale: 1 / unscale,
                              limit: limit, masks: masks.pointer)
        let ids = index.ids.pointer
        for block in 0..<blocks {
            var marked = masks.pointer[block]
            let totals = totals.pointer + block * FastScan.blockVectors
            let firstPosition = first + block * FastScan.blockVectors
            while marked != 0 {
                let lane = marked.trailingZeroBitCount
                marked &= marked &- 1
                let position = firstPosition + lane
                offer(base + Float(totals[lane]) * unscale + (terms?[position] ?? 0), id: Int(ids[position]), query: q, excluded: excluded)
            }
        }
    }

    /// Scores cell `cell`'s 8-bit codes for query `q` with `table` (`m × 256`; `start` is the
    /// pair's constant) and offers them to the query's pool.
    ///
    /// A code's score is start + (Σ even subspaces + Σ odd subspaces) (+ N with code terms),
    /// each sum in subspace order: two independent chains of additions per code, and
    /// four codes at a time, so the additions' latency overlaps (one chain per code would wait
    /// on every addition). A code scores the same bits in a group of four or alone.
    private func scan(cell: Int, query q: Int, table: UnsafePointer<Float>, start: Float, excluded: Int) {
        let index = index, m = index.quantizer.m, codeBytes = index.quantizer.codeBytes
        let first = index.cellStarts.pointer[cell], end = index.cellStarts.pointer[cell + 1]
        let ids = index.ids.pointer
        let codes = UnsafePointer(index.codes.pointer)
        let withTerms = index.scoresCodeTerms, terms = index.codeTerms.pointer
        @inline(__always) func term(_ p: Int) -> Float { withTerms ? terms[p] : 0 }
        var p = first
        // Subspace s at table[s·256 + code]: even ones into e, odd ones into o.
        while p + 4 <= end {
            let c0 = codes + p * codeBytes, c1 = c0 + codeBytes, c2 = c1 + codeBytes, c3 = c2 + codeBytes
            var (e0, e1, e2, e3): (Float, Float, Float, Float) = (0, 0, 0, 0)
            var (o0, o1, o2, o3): (Float, Float, Float, Float) = (0, 0, 0, 0)
            var s = 0
            while s + 2 <= m {
                let even = table + s << 8, odd = even + 256
                e0 += even[Int(c0[s])]; o0 += odd[Int(c0[s + 1])]
                e1 += even[Int(c1[s])]; o1 += odd[Int(c1[s + 1])]
                e2 += even[Int(c2[s])]; o2 += odd[Int(c2[s + 1])]
                e3 += even[Int(c3[s])]; o3 += odd[Int(c3[s + 1])]
                s += 2
            }
            if s < m {
                let even = table + s << 8
                e0 += even[Int(c0[s])]; e1 += even[Int(c1[s])]; e2 += even[Int(c2[s])]; e3 += even[Int(c3[s])]
            }
            offer(start + (e0 + o0) + term(p), id: Int(ids[p]), query: q, excluded: excluded)
            offer(start + (e1 + o1) + term(p + 1), id: Int(ids[p + 1]), query: q, excluded: excluded)
            offer(start + (e2 + o2) + term(p + 2), id: Int(ids[p + 2]), query: q, excluded: excluded)
            offer(start + (e3 + o3) + term(p + 3), id: Int(ids[p + 3]), query: q, excluded: excluded)
            p += 4
        }
        while p < end {
            let c0 = codes + p * codeBytes
            var e0: Float = 0, o0: Float = 0
            var s = 0
            while s + 2 <= m {
                e0 += table[s << 8 + Int(c0[s])]; o0 += table[(s + 1) << 8 + Int(c0[s + 1])]
                s += 2
            }
            if s < m { e0 += table[s << 8 + Int(c0[s])] }
            offer(start + (e0 + o0) + term(p), id: Int(ids[p]), query: q, excluded: excluded)
            p += 1
        }
    }
}
