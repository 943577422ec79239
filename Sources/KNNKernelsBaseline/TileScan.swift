// This file is compiled three times, into KNNKernelsBaseline (no target flags), KNNKernelsAVX2
// (-target-cpu haswell: AVX2 + FMA, and NARROW_TILE: a tile shaped for 16 registers) and
// KNNKernelsAVX512 (-target-cpu skylake-avx512); the other two targets hold symlinks to it. KNNCore picks one at run time from the CPU's features, so one
// release binary runs everywhere and uses 512-bit FMAs where they exist.

/// The register-tiled scan at the heart of the exact flat search.
///
/// Base vectors are packed in *panels* of 16, dimension-major: component `j` of the 16 vectors of
/// panel `p` sits at `panels[(p * dim + j) * 16 ..< +16]`, one SIMD16 load. `bias[p * 16 + lane]`
/// is a per-vector constant the score starts from (|b|² for l2, 0 for inner products, +∞ for the
/// padding that rounds the panel count up to an even number).
///
/// For a tile of 8 queries × 2 panels, 16 accumulators hold
///
///     score[q][b] = bias[b] + Σ_j query[q][j] · b[j]
///
/// where the queries come pre-scaled (−2q for l2, −q for inner products), so the score ranks like
/// the distance. Each tile's scores are compared with the 8 queries' thresholds on the registers;
/// only when some score is below its threshold — rare once each query has k candidates — is
/// `onHit` called, once per (query, panel) of the tile. The scores are approximate (a different
/// summation than the exact kernels); the caller re-ranks survivors with exact distances.
public enum TileScan {
    public static let lanes = 16
    public static let queriesPerTile = 8

    /// `queries`: the 8 queries interleaved dimension-major, component `j` of query `i` at
    /// `queries[j * 8 + i]`, so that one base register addresses all eight broadcasts of a step;
    /// `panelCount` must be even; `thresholds`:
    /// 8 floats, read once per tile (the callback may lower them). `onHit` is called for each
    /// (query, panel) with a score below the query's threshold as the tile read it; panel
    /// numbers count from `panels`.
    public static func scan(queries q: UnsafePointer<Float>, dim: Int,
                            panels: UnsafePointer<Float>, bias: UnsafePointer<Float>, panelCount: Int,
                            thresholds: UnsafePointer<Float>,
                            onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        precondition(panelCount % 2 == 0, "panel count must be even")
        #if NARROW_TILE
        scanNarrow(queries: q, dim: dim, panels: panels, bias: bias, panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        #else
        scanWide(queries: q, dim: dim, panels: panels, bias: bias, panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        #endif
    }

    /// The tile of 8 queries × 2 panels: 16 accumulators of 16 lanes, 16 of the 32 registers of
    /// AVX-512.
    @inline(__always)
    static func scanWide(queries q: UnsafePointer<Float>, dim: Int,
                         panels: UnsafePointer<Float>, bias: UnsafePointer<Float>, panelCount: Int,
                         thresholds: UnsafePointer<Float>,
                         onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        var p = 0
        while p < panelCount {
            let b0 = UnsafeRawPointer(panels + p * dim * 16)
            let b1 = UnsafeRawPointer(panels + (p + 1) * dim * 16)
            let z0 = UnsafeRawPointer(bias + p * 16).load(as: SIMD16<Float>.self)
            let z1 = UnsafeRawPointer(bias + (p + 1) * 16).load(as: SIMD16<Float>.self)
            var a00 = z0, a01 = z1, a10 = z0, a11 = z1, a20 = z0, a21 = z1, a30 = z0, a31 = z1
            var a40 = z0, a41 = z1, a50 = z0, a51 = z1, a60 = z0, a61 = z1, a70 = z0, a71 = z1
            var qj = q
            for j in 0..<dim {
                let v0 = b0.load(fromByteOffset: j &* 64, as: SIMD16<Float>.self)
                let v1 = b1.load(fromByteOffset: j &* 64, as: SIMD16<Float>.self)
                var s = SIMD16<Float>(repeating: qj[0])
                a00 = fused(a00, s, v0); a01 = fused(a01, s, v1)
                s = SIMD16<Float>(repeating: qj[1])
                a10 = fused(a10, s, v0); a11 = fused(a11, s, v1)
                s = SIMD16<Float>(repeating: qj[2])
                a20 = fused(a20, s, v0); a21 = fused(a21, s, v1)
                s = SIMD16<Float>(repeating: qj[3])
                a30 = fused(a30, s, v0); a31 = fused(a31, s, v1)
                s = SIMD16<Float>(repeating: qj[4])
                a40 = fused(a40, s, v0); a41 = fused(a41, s, v1)
                s = SIMD16<Float>(repeating: qj[5])
                a50 = fused(a50, s, v0); a51 = fused(a51, s, v1)
                s = SIMD16<Float>(repeating: qj[6])
                a60 = fused(a60, s, v0); a61 = fused(a61, s, v1)
                s = SIMD16<Float>(repeating: qj[7])
                a70 = fused(a70, s, v0); a71 = fused(a71, s, v1)
                qj += 8
            }
            let t0 = SIMD16<Float>(repeating: thresholds[0]), t1 = SIMD16<Float>(repeating: thresholds[1])
            let t2 = SIMD16<Float>(repeating: thresholds[2]), t3 = SIMD16<Float>(repeating: thresholds[3])
            let t4 = SIMD16<Float>(repeating: thresholds[4]), t5 = SIMD16<Float>(repeating: thresholds[5])
            let t6 = SIMD16<Float>(repeating: thresholds[6]), t7 = SIMD16<Float>(repeating: thresholds[7])
            var below = (a00 .< t0) .| (a01 .< t0) .| (a10 .< t1) .| (a11 .< t1)
            below = below .| (a20 .< t2) .| (a21 .< t2) .| (a30 .< t3) .| (a31 .< t3)
            below = below .| (a40 .< t4) .| (a41 .< t4) .| (a50 .< t5) .| (a51 .< t5)
            below = below .| (a60 .< t6) .| (a61 .< t6) .| (a70 .< t7) .| (a71 .< t7)
            if _slowPath(any(below)) {
                // Only the (query, panel) pairs with a score below their threshold are reported.
                if any(a00 .< t0) { onHit(0, p, a00) }
                if any(a01 .< t0) { onHit(0, p + 1, a01) }
                if any(a10 .< t1) { onHit(1, p, a10) }
                if any(a11 .< t1) { onHit(1, p + 1, a11) }
                if any(a20 .< t2) { onHit(2, p, a20) }
                if any(a21 .< t2) { onHit(2, p + 1, a21) }
                if any(a30 .< t3) { onHit(3, p, a30) }
                if any(a31 .< t3) { onHit(3, p + 1, a31) }
                if any(a40 .< t4) { onHit(4, p, a40) }
                if any(a41 .< t4) { onHit(4, p + 1, a41) }
                if any(a50 .< t5) { onHit(5, p, a50) }
                if any(a51 .< t5) { onHit(5, p + 1, a51) }
                if any(a60 .< t6) { onHit(6, p, a60) }
                if any(a61 .< t6) { onHit(6, p + 1, a61) }
                if any(a70 .< t7) { onHit(7, p, a70) }
                if any(a71 .< t7) { onHit(7, p + 1, a71) }
            }
            p += 2
        }
    }

    /// The tile of 4 queries × 1 panel, for 16 registers of 8 lanes (AVX2): its 4 × 16 sums are 8
    /// ymm accumulators, beside 2 for the panel's step and 1 for a broadcast query component —
    /// the 8-query, 2-panel tile would need 32 and spill. Each step's 8 FMAs (4 cycles on two FMA
    /// pipes) need 2 loads and 4 broadcasts, and 8 independent accumulators cover the FMA
    /// latency. The same 8-query layout is read as two halves, each panel once per half (it
    /// stays in L1: 64 bytes per dimension). Scores are the wide tile's, term for term: each is
    /// the same chain of FMAs in the same order.
    @inline(__always)
    static func scanNarrow(queries q: UnsafePointer<Float>, dim: Int,
                           panels: UnsafePointer<Float>, bias: UnsafePointer<Float>, panelCount: Int,
                           thresholds: UnsafePointer<Float>,
                           onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        for p in 0..<panelCount {
            let b = UnsafeRawPointer(panels + p * dim * 16)
            let z = UnsafeRawPointer(bias + p * 16).load(as: SIMD16<Float>.self)
            for half in 0..<2 {
                var a0 = z, a1 = z, a2 = z, a3 = z
                var qj = q + half * 4
                for j in 0..<dim {
                    let v = b.load(fromByteOffset: j &* 64, as: SIMD16<Float>.self)
                    a0 = fused(a0, SIMD16<Float>(repeating: qj[0]), v)
                    a1 = fused(a1, SIMD16<Float>(repeating: qj[1]), v)
                    a2 = fused(a2, SIMD16<Float>(repeating: qj[2]), v)
                    a3 = fused(a3, SIMD16<Float>(repeating: qj[3]), v)
                    qj += 8
                }
                let first = half * 4
                let t0 = SIMD16<Float>(repeating: thresholds[first]), t1 = SIMD16<Float>(repeating: thresholds[first + 1])
                let t2 = SIMD16<Float>(repeating: thresholds[first + 2]), t3 = SIMD16<Float>(repeating: thresholds[first + 3])
                if _slowPath(any((a0 .< t0) .| (a1 .< t1) .| (a2 .< t2) .| (a3 .< t3))) {
                    if any(a0 .< t0) { onHit(first, p, a0) }
                    if any(a1 .< t1) { onHit(first + 1, p, a1) }
                    if any(a2 .< t2) { onHit(first + 2, p, a2) }
                    if any(a3 .< t3) { onHit(first + 3, p, a3) }
                }
            }
        }
    }

    /// acc + a·b, as one fused instruction where the target has FMA. Without target flags Swift
    /// would lower `addingProduct` to a libm call per lane, so the baseline build multiplies and
    /// adds separately.
    @inline(__always)
    public static func fused(_ acc: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        #if FUSED_MULTIPLY_ADD
        return acc.addingProduct(a, b)
        #else
        return acc + a * b
        #endif
    }
}
