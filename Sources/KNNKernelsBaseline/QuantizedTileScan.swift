// This file is compiled three times: into KNNKernelsBaseline (no target flags: plain 32-bit
// integer multiply and add, the reference), into KNNKernelsVNNI (-target-cpu cascadelake,
// defining VNNI: one `vpdpwssd` per 32 multiply-adds) and into KNNKernelsAVX2 (-target-cpu
// haswell, defining PMADDWD: one `vpmaddwd` and one `vpaddd` per 16, and NARROW_TILE: the tile
// shaped for 16 registers); those two hold symlinks to it. Every build computes the same integer
// sums, so their scores are identical bit for bit.
#if VNNI || PMADDWD
import Builtin
#endif

/// The tile scan of `TileScan` on 16-bit integer vectors: twice the multiply-adds per
/// instruction of float32 FMAs, and half the bytes per vector.
///
/// Vectors are quantised to int16 and stored two components per 32-bit *word* (component 2j in
/// the low half, 2j + 1 in the high half, a zero pad for odd dimensions). Panels of 16 vectors
/// are word-major: word `j` of the 16 vectors of panel `p` at `panels[(p * pairs + j) * 16 ..< +16]`.
/// `panelScales[p * 16 + lane]` is the vector's inverse quantisation scale and `bias` the
/// vector's starting score (0 for inner products, ‖x̃‖² for l2: see `QuantizedPanelMatrix`), or
/// +∞ for padding vectors. For a tile of 8 queries × 2 panels, 16 integer accumulators hold the
/// exact sums D = Σ q'ᵢ x'ᵢ (the caller keeps |q'|·|x'| < 2³¹, so they cannot wrap), and the score
///
///     score[q][b] = Float(D) · panelScale[b] · queryScale[q] + bias[b]
///
/// is compared with the queries' thresholds on the registers, as in `TileScan`, which documents
/// `onHit`. Queries arrive negated, so that smaller scores are nearer.
public enum QuantizedTileScan {
    /// `queries`: the 8 queries' words interleaved word-major (word `j` of query `i` at
    /// `queries[j * 8 + i]`); `queryScales`: their 8 inverse scales; `panelCount` must be even.
    public static func scan(queries q: UnsafePointer<Int32>, queryScales: UnsafePointer<Float>, pairs: Int,
                            panels: UnsafePointer<Int32>, panelScales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                            panelCount: Int, thresholds: UnsafePointer<Float>,
                            onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        precondition(panelCount % 2 == 0, "panel count must be even")
        #if NARROW_TILE
        scanNarrow(queries: q, queryScales: queryScales, pairs: pairs, panels: panels, panelScales: panelScales, bias: bias,
                   panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        #else
        scanWide(queries: q, queryScales: queryScales, pairs: pairs, panels: panels, panelScales: panelScales, bias: bias,
                 panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        #endif
    }

    /// The tile of 8 queries × 2 panels (16 accumulators of 16 lanes: AVX-512's 32 registers).
    @inline(__always)
    static func scanWide(queries q: UnsafePointer<Int32>, queryScales: UnsafePointer<Float>, pairs: Int,
                         panels: UnsafePointer<Int32>, panelScales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                         panelCount: Int, thresholds: UnsafePointer<Float>,
                         onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        var p = 0
        while p < panelCount {
            let b0 = UnsafeRawPointer(panels + p * pairs * 16)
            let b1 = UnsafeRawPointer(panels + (p + 1) * pairs * 16)
            var a00 = SIMD16<Int32>(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00
            var a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00
            var qj = q
            for j in 0..<pairs {
                let v0 = b0.load(fromByteOffset: j &* 64, as: SIMD16<Int32>.self)
                let v1 = b1.load(fromByteOffset: j &* 64, as: SIMD16<Int32>.self)
                var s = SIMD16<Int32>(repeating: qj[0])
                a00 = pairedProducts(a00, s, v0); a01 = pairedProducts(a01, s, v1)
                s = SIMD16<Int32>(repeating: qj[1])
                a10 = pairedProducts(a10, s, v0); a11 = pairedProducts(a11, s, v1)
                s = SIMD16<Int32>(repeating: qj[2])
                a20 = pairedProducts(a20, s, v0); a21 = pairedProducts(a21, s, v1)
                s = SIMD16<Int32>(repeating: qj[3])
                a30 = pairedProducts(a30, s, v0); a31 = pairedProducts(a31, s, v1)
                s = SIMD16<Int32>(repeating: qj[4])
                a40 = pairedProducts(a40, s, v0); a41 = pairedProducts(a41, s, v1)
                s = SIMD16<Int32>(repeating: qj[5])
                a50 = pairedProducts(a50, s, v0); a51 = pairedProducts(a51, s, v1)
                s = SIMD16<Int32>(repeating: qj[6])
                a60 = pairedProducts(a60, s, v0); a61 = pairedProducts(a61, s, v1)
                s = SIMD16<Int32>(repeating: qj[7])
                a70 = pairedProducts(a70, s, v0); a71 = pairedProducts(a71, s, v1)
                qj += 8
            }
            let x0 = UnsafeRawPointer(panelScales + p * 16).load(as: SIMD16<Float>.self)
            let x1 = UnsafeRawPointer(panelScales + (p + 1) * 16).load(as: SIMD16<Float>.self)
            let z0 = UnsafeRawPointer(bias + p * 16).load(as: SIMD16<Float>.self)
            let z1 = UnsafeRawPointer(bias + (p + 1) * 16).load(as: SIMD16<Float>.self)
            // The scores, two per query (panel p, panel p + 1), against the query's threshold.
            @inline(__always) func check(_ query: Int, _ sum0: SIMD16<Int32>, _ sum1: SIMD16<Int32>) {
                let s0 = score(sum0, x0, queryScales[query], z0), s1 = score(sum1, x1, queryScales[query], z1)
                let t = SIMD16<Float>(repeating: thresholds[query])
                if _slowPath(any((s0 .< t) .| (s1 .< t))) { report(query, p, s0, s1, t, onHit) }
            }
            check(0, a00, a01); check(1, a10, a11); check(2, a20, a21); check(3, a30, a31)
            check(4, a40, a41); check(5, a50, a51); check(6, a60, a61); check(7, a70, a71)
            p += 2
        }
    }

    /// The tile of 4 queries × 1 panel for AVX2's 16 registers (`TileScan.scanNarrow` explains
    /// the shape): 8 ymm accumulators; each step is 2 loads, 4 broadcasts and 8 `vpmaddwd` +
    /// `vpaddd`, 32 multiply-adds per accumulator pair.
    @inline(__always)
    static func scanNarrow(queries q: UnsafePointer<Int32>, queryScales: UnsafePointer<Float>, pairs: Int,
                           panels: UnsafePointer<Int32>, panelScales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                           panelCount: Int, thresholds: UnsafePointer<Float>,
                           onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        for p in 0..<panelCount {
            let b = UnsafeRawPointer(panels + p * pairs * 16)
            let x = UnsafeRawPointer(panelScales + p * 16).load(as: SIMD16<Float>.self)
            let z = UnsafeRawPointer(bias + p * 16).load(as: SIMD16<Float>.self)
            for half in 0..<2 {
                var a0 = SIMD16<Int32>(), a1 = a0, a2 = a0, a3 = a0
                var qj = q + half * 4
                for j in 0..<pairs {
                    let v = b.load(fromByteOffset: j &* 64, as: SIMD16<Int32>.self)
                    a0 = pairedProducts(a0, SIMD16<Int32>(repeating: qj[0]), v)
                    a1 = pairedProducts(a1, SIMD16<Int32>(repeating: qj[1]), v)
                    a2 = pairedProducts(a2, SIMD16<Int32>(repeating: qj[2]), v)
                    a3 = pairedProducts(a3, SIMD16<Int32>(repeating: qj[3]), v)
                    qj += 8
                }
                @inline(__always) func check(_ query: Int, _ sum: SIMD16<Int32>) {
                    let s = score(sum, x, queryScales[query], z)
                    if _slowPath(any(s .< SIMD16<Float>(repeating: thresholds[query]))) { onHit(query, p, s) }
                }
                check(half * 4, a0); check(half * 4 + 1, a1); check(half * 4 + 2, a2); check(half * 4 + 3, a3)
            }
        }
    }

    /// Three roundings: the conversion and two products; a fourth adding a bias other than 0
    /// or +∞.
    @inline(__always)
    static func score(_ sum: SIMD16<Int32>, _ panelScale: SIMD16<Float>, _ queryScale: Float, _ bias: SIMD16<Float>) -> SIMD16<Float> {
        float(sum) * panelScale * queryScale + bias
    }

    /// The lanes converted to float (rounded to nearest). The standard library's generic
    /// conversion is an out-of-line call per vector; VNNI builds use one `vcvtdq2ps`.
    @inline(__always)
    static func float(_ sum: SIMD16<Int32>) -> SIMD16<Float> {
        #if VNNI
        var result = SIMD16<Float>()
        result._storage._value = Builtin.sitofp_Vec16xInt32_Vec16xFPIEEE32(sum._storage._value)
        return result
        #elseif PMADDWD
        var low = SIMD8<Float>(), high = SIMD8<Float>()
        low._storage._value = Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(sum.lowHalf._storage._value)
        high._storage._value = Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(sum.highHalf._storage._value)
        return SIMD16(lowHalf: low, highHalf: high)
        #else
        return SIMD16<Float>(sum)
        #endif
    }

    @inline(never)
    static func report(_ query: Int, _ panel: Int, _ s0: SIMD16<Float>, _ s1: SIMD16<Float>, _ threshold: SIMD16<Float>,
                       _ onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        if any(s0 .< threshold) { onHit(query, panel, s0) }
        if any(s1 .< threshold) { onHit(query, panel + 1, s1) }
    }

    /// acc + a.low·b.low + a.high·b.high per 32-bit lane, the halves read as signed 16-bit
    /// integers (exact: the caller's bound keeps every partial sum within Int32).
    @inline(__always)
    public static func pairedProducts(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ b: SIMD16<Int32>) -> SIMD16<Int32> {
        #if VNNI
        var result = SIMD16<Int32>()
        result._storage._value = Builtin.int_x86_avx512_vpdpwssd_512(acc._storage._value, a._storage._value, b._storage._value)
        return result
        #elseif PMADDWD
        return acc &+ SIMD16(lowHalf: madd(a.lowHalf, b.lowHalf), highHalf: madd(a.highHalf, b.highHalf))
        #else
        let low = ((a &<< 16) &>> 16) &* ((b &<< 16) &>> 16)
        let high = (a &>> 16) &* (b &>> 16)
        return acc &+ low &+ high
        #endif
    }

    #if PMADDWD
    /// a.low·b.low + a.high·b.high per 32-bit lane: one `vpmaddwd`.
    @inline(__always)
    static func madd(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
        var result = SIMD8<Int32>()
        result._storage._value = Builtin.int_x86_avx2_pmadd_wd(Builtin.bitcast_Vec8xInt32_Vec16xInt16(a._storage._value),
                                                               Builtin.bitcast_Vec8xInt32_Vec16xInt16(b._storage._value))
        return result
    }
    #endif
}
