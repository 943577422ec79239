import KNNKernelsBaseline

/// Finds a slice's candidates in an `IVFPQIndex`, cell by cell: the coarse flat search gives each
/// query its `probe` nearest cells (and |q − c|², or −q·c under ip); the pairs are grouped by
/// cell; each probed cell's codes are then scanned once per query that probes it, with the
/// pair's distance table built from the query's inner-product table and the cell's terms; each
/// query keeps its best `rerank × k` (score, id) pairs in a bounded heap (ties by id, so the
/// set does not depend on the order cells are visited). The block scores them exactly.
///
/// Under 4 bits the table is quantized for `FastScan`: per subspace its entries less their
/// least, times one scale `a` for the pair that keeps every entry within 65535 / (2 · pairs),
/// rounded to bytes; a code's score is then start + Σ_s least_s + total / a. The scores only
/// choose candidates; every reported distance is exact.
final class IVFPQSearcher: CandidateFinder {
    private let index: IVFPQIndex
    private let probe: Int
    private let slots: Int
    private let coarse: any NeighborSearcher
    private let groups: CellGroups
    private var capacity = 0
    private var probed = AlignedBuffer<Int64>(count: 0)
    private var probedKeys = FloatBuffer(count: 0)
    /// Per query `m × ksub` inner products q_s·w (subspace-major).
    private var queryTables = FloatBuffer(count: 0)
    /// Per query a heap of `slots` (score, id), largest first.
    private var heaps = AlignedBuffer<Neighbor>(count: 0)
    private var heapCounts: [Int] = []
    /// Without residuals: per query its quantized table (`pairs × 32` bytes) and its base and
    /// unscale (`FastScan.quantize`).
    private var queryBytes = AlignedBuffer<UInt8>(count: 0)
    private var queryScales = FloatBuffer(count: 0)
    /// One (query, cell) distance table, and under 4 bits its bytes (`FastScan`'s layout) and a
    /// cell's totals.
    private let table: FloatBuffer
    private let bytes: AlignedBuffer<UInt8>
    private var totals = AlignedBuffer<UInt16>(count: 0)

    init(index: IVFPQIndex, k: Int) {
        self.index = index
        probe = index.probe
        slots = min(index.count, index.parameters.rerank * k)
        coarse = index.coarse.makeSearcher(k: probe)
        groups = CellGroups(lists: index.lists)
        table = FloatBuffer(count: index.quantizer.pairs * 2 * index.quantizer.ksub)
        bytes = AlignedBuffer(count: index.quantizer.pairs * 32)
        if index.quantizer.bits == 4 {
            let largest = (0..<index.lists).map { index.cellStarts.pointer[$0 + 1] - index.cellStarts.pointer[$0] }.max() ?? 0
            totals = AlignedBuffer(count: max(largest, 1))
        }
    }

    private func reserve(queries: Int) {
        guard capacity < queries else { return }
        capacity = queries
        probed = AlignedBuffer(count: queries * probe)
        probedKeys = FloatBuffer(count: queries * probe)
        queryTables = FloatBuffer(count: queries * index.quantizer.m * index.quantizer.ksub)
        heaps = AlignedBuffer(count: queries * slots, zeroed: false)
        heapCounts = Array(repeating: 0, count: queries)
        if !index.parameters.residual && index.quantizer.bits == 4 {
            queryBytes = AlignedBuffer(count: queries * index.quantizer.pairs * 32)
            queryScales = FloatBuffer(count: queries * 2)
        }
    }

    func findCandidates(_ batch: QueryBatch, into rows: CandidateRows) {
        let index = index, quantizer = index.quantizer, queryCount = batch.vectors.rows
        let entries = quantizer.m * quantizer.ksub
        reserve(queries: queryCount)
        coarse.search(QueryBatch(vectors: batch.vectors, firstQuery: 0, excludesOwnID: false),
                      into: ResultRows(ids: probed.pointer, distances: probedKeys.pointer, count: queryCount, k: probe))
        groups.group(probed: probed.pointer, queries: queryCount, probe: probe)
        for q in 0..<queryCount {
            quantizer.innerProducts(batch.vectors.row(q), into: queryTables.pointer + q * entries)
            heapCounts[q] = 0
        }
        let l2 = index.metric != .ip, residual = index.parameters.residual, fourBits = quantizer.bits == 4
        if !residual {
            // Codes of the vectors themselves: one table per query serves all its cells.
            let norms = UnsafePointer(index.cellTerms.pointer)
            for q in 0..<queryCount {
                let products = queryTables.pointer + q * entries
                if fourBits {
                    let (offset, unscale) = index.kernel.fastScanQuantize(terms: l2 ? norms : nil, products: products, subspaces: quantizer.m,
                                                                          least: table.pointer, into: queryBytes.pointer + q * quantizer.pairs * 32)
                    (queryScales.pointer[2 * q], queryScales.pointer[2 * q + 1]) = (offset, unscale)
                } else if l2 {
                    for i in 0..<entries { products[i] = norms[i] - 2 * products[i] }
                } else {
                    for i in 0..<entries { products[i] = -products[i] }
                }
            }
        }
        for cell in 0..<index.lists {
            let pairs = groups.pairs(ofCell: cell)
            guard !pairs.isEmpty else { continue }
            let terms = UnsafePointer(index.cellTerms.pointer + (residual ? cell * entries : 0))
            for pair in pairs {
                let q = pair / probe, excluded = batch.excludedID(ofRow: q)
                let products = queryTables.pointer + q * entries
                switch (residual, fourBits) {
                case (false, true):
                    scanCodes(cell: cell, query: q, tables: queryBytes.pointer + q * quantizer.pairs * 32, base: queryScales.pointer[2 * q],
                              unscale: queryScales.pointer[2 * q + 1], excluded: excluded)
                case (false, false):
                    scan(cell: cell, query: q, table: products, start: 0, excluded: excluded)
                case (true, true):
                    // The pair's table: the cell's terms less twice the query's products.
                    let (offset, unscale) = index.kernel.fastScanQuantize(terms: l2 ? terms : nil, products: products, subspaces: quantizer.m,
                                                                          least: table.pointer, into: bytes.pointer)
                    scanCodes(cell: cell, query: q, tables: bytes.pointer, base: probedKeys.pointer[pair] + offset, unscale: unscale, excluded: excluded)
                case (true, false):
                    if l2 {
                        for i in 0..<entries { table.pointer[i] = terms[i] - 2 * products[i] }
                    } else {
                        for i in 0..<entries { table.pointer[i] = -products[i] }
                    }
                    scan(cell: cell, query: q, table: table.pointer, start: probedKeys.pointer[pair], excluded: excluded)
                }
            }
        }
        for q in 0..<queryCount {
            let heap = heaps.pointer + q * slots, ids = rows.ids(ofRow: q)
            for i in 0..<heapCounts[q] { ids[i] = Int32(heap[i].id) }
            rows.setCount(heapCounts[q], ofRow: q)
        }
    }

    /// Offers (score, id) to query `q`'s heap (of `count` entries) unless it cannot enter it.
    @inline(__always)
    private func offer(_ score: Float, id: Int, heap: UnsafeMutablePointer<Neighbor>, count: inout Int, excluded: Int) {
        let candidate = Neighbor(distance: score, id: id)
        if (count < slots || candidate < heap[0]) && id != excluded && id >= 0 {
            BoundedHeap.push(heap, count: &count, k: slots, candidate)
        }
    }

    /// Scores cell `cell`'s 4-bit codes for query `q` with quantized `tables` (`FastScan`'s
    /// layout; a total T stands for the score base + T · unscale) and offers them to the
    /// query's heap.
    private func scanCodes(cell: Int, query q: Int, tables: UnsafePointer<UInt8>, base: Float, unscale: Float, excluded: Int) {
        let index = index, pairs = index.quantizer.pairs
        let first = index.cellStarts.pointer[cell], end = index.cellStarts.pointer[cell + 1]
        let blocks = (end - first) / FastScan.blockVectors
        index.kernel.fastScan(codes: index.codes.pointer + (first / FastScan.blockVectors) * pairs * 32, blocks: blocks,
                              tables: tables, pairs: pairs, totals: totals.pointer)
        let heap = heaps.pointer + q * slots, ids = index.ids.pointer
        var count = heapCounts[q]
        for block in 0..<blocks {
            let totals = totals.pointer + block * FastScan.blockVectors
            // Once the heap is full, a block whose least score lies above the heap's top cannot
            // add anything (a score grows with its total: unscale ≥ 0).
            if count == slots {
                var least = totals[0]
                for lane in 1..<FastScan.blockVectors { least = min(least, totals[lane]) }
                if base + Float(least) * unscale > heap[0].distance { continue }
            }
            let firstPosition = first + block * FastScan.blockVectors
            for lane in 0..<FastScan.blockVectors {
                offer(base + Float(totals[lane]) * unscale, id: Int(ids[firstPosition + lane]), heap: heap, count: &count, excluded: excluded)
            }
        }
        heapCounts[q] = count
    }

    /// Scores cell `cell`'s 8-bit codes for query `q` with `table` (`m × 256`; `start` is the
    /// pair's constant) and offers them to the query's heap.
    ///
    /// A code's score is start + (Σ even subspaces + Σ odd subspaces), each sum in subspace
    /// order: two independent chains of additions per code, and four codes at a time, so the
    /// additions' latency overlaps (one chain per code would wait on every addition). A code
    /// scores the same bits in a group of four or alone.
    private func scan(cell: Int, query q: Int, table: UnsafePointer<Float>, start: Float, excluded: Int) {
        let index = index, m = index.quantizer.m, codeBytes = index.quantizer.codeBytes
        let first = index.cellStarts.pointer[cell], end = index.cellStarts.pointer[cell + 1]
        let heap = heaps.pointer + q * slots, ids = index.ids.pointer
        var count = heapCounts[q]
        let codes = UnsafePointer(index.codes.pointer)
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
            offer(start + (e0 + o0), id: Int(ids[p]), heap: heap, count: &count, excluded: excluded)
            offer(start + (e1 + o1), id: Int(ids[p + 1]), heap: heap, count: &count, excluded: excluded)
            offer(start + (e2 + o2), id: Int(ids[p + 2]), heap: heap, count: &count, excluded: excluded)
            offer(start + (e3 + o3), id: Int(ids[p + 3]), heap: heap, count: &count, excluded: excluded)
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
            offer(start + (e0 + o0), id: Int(ids[p]), heap: heap, count: &count, excluded: excluded)
            p += 1
        }
        heapCounts[q] = count
    }
}
