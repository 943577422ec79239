// This file is compiled twice: into KNNKernelsBaseline (no target flags: one table lookup per
// code and subspace, the reference) and into KNNKernelsAVX2 (-target-cpu haswell, defining
// PSHUFB: 64 lookups per `vpshufb` pair); the AVX2 target holds a symlink to it. Both compute
// the same integer sums, so their totals are identical.
#if PSHUFB
import Builtin
#endif

/// The 4-bit product-quantization scan ("fast scan"): sums of small-integer table entries, one
/// per subspace, for blocks of 32 codes, with the tables held in registers.
///
/// Layout of a block (32 vectors, `pairs` subspace pairs): pair `t` is 32 bytes at
/// `codes[t * 32]` — bytes 0..<16 subspace 2t, byte j holding the code of vector j in its low
/// half and of vector j + 16 in its high half; bytes 16..<32 subspace 2t + 1 alike. The tables:
/// pair `t` is 32 bytes at `tables[t * 32]`, the 16 entries of subspace 2t then of 2t + 1 — one
/// 256-bit register whose two 128-bit halves `vpshufb` looks up independently, exactly as the
/// codes are laid out. `totals[v]` receives Σ_s table_s[code_s(v)]; the caller keeps every entry
/// at most 65535 / (2 · pairs), so no sum wraps.
public enum FastScan {
    public static let blockVectors = 32

    /// Builds and quantizes a (query, cell) distance table for `scan`. Entry j of subspace s is
    /// terms[s·16 + j] − 2·products[s·16 + j], or −products[s·16 + j] without terms; each
    /// subspace's 16 entries less their least, times one scale that maps the widest run onto
    /// `0...limit` (limit = min(255, 65535 / (2 · pairs)), so no sum wraps), rounded to nearest
    /// even, go into `bytes` (the pair layout; an odd last subspace's partner zero). `least`:
    /// scratch for `subspaces` floats. Returns Σ least and 1 / scale: a total T stands for the
    /// score Σ least + T / scale.
    ///
    /// Rounding adds 2²³ (the float's unit in the last place becomes 1) and keeps the low byte
    /// of the sum's bits: the same rounding on every CPU, in vector registers.
    public static func quantize(terms: UnsafePointer<Float>?, products: UnsafePointer<Float>, subspaces: Int,
                                least: UnsafeMutablePointer<Float>, into bytes: UnsafeMutablePointer<UInt8>) -> (offset: Float, unscale: Float) {
        let pairs = (subspaces + 1) / 2
        let limit = Float(min(255, 65535 / (2 * pairs)))
        @inline(__always) func entries(_ s: Int) -> SIMD16<Float> {
            guard let terms else { return -load(products + s * 16) }
            return load(terms + s * 16) - 2 * load(products + s * 16)
        }
        var offset: Float = 0, widest: Float = 0
        for s in 0..<subspaces {
            let run = entries(s)
            let smallest = minimum(run)
            least[s] = smallest
            offset += smallest
            widest = max(widest, maximum(run) - smallest)
        }
        // A run too narrow for its scale to be finite (subnormal widths) scores as flat.
        let scale = widest > 0 && (limit / widest).isFinite ? limit / widest : 0
        for s in 0..<subspaces {
            let shifted = (entries(s) - least[s]) * scale + 8_388_608
            store(unsafeBitCast(shifted, to: SIMD16<UInt32>.self), into: bytes + (s >> 1) * 32 + (s & 1) * 16)
        }
        if subspaces & 1 == 1 { (bytes + (subspaces >> 1) * 32 + 16).update(repeating: 0, count: 16) }
        return (offset, scale > 0 ? widest / limit : 0)
    }

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// The least lane (exact, whatever the order: min and max do not round).
    @inline(__always)
    static func minimum(_ v: SIMD16<Float>) -> Float {
        #if PSHUFB
        var half = SIMD8<Float>()
        half._storage._value = Builtin.int_x86_avx_min_ps_256(v.lowHalf._storage._value, v.highHalf._storage._value)
        let quarter = SIMD4<Float>(min(half[0], half[4]), min(half[1], half[5]), min(half[2], half[6]), min(half[3], half[7]))
        return min(min(quarter[0], quarter[1]), min(quarter[2], quarter[3]))
        #else
        var least = v[0]
        for j in 1..<16 { least = min(least, v[j]) }
        return least
        #endif
    }

    @inline(__always)
    static func maximum(_ v: SIMD16<Float>) -> Float {
        #if PSHUFB
        var half = SIMD8<Float>()
        half._storage._value = Builtin.int_x86_avx_max_ps_256(v.lowHalf._storage._value, v.highHalf._storage._value)
        let quarter = SIMD4<Float>(max(half[0], half[4]), max(half[1], half[5]), max(half[2], half[6]), max(half[3], half[7]))
        return max(max(quarter[0], quarter[1]), max(quarter[2], quarter[3]))
        #else
        var most = v[0]
        for j in 1..<16 { most = max(most, v[j]) }
        return most
        #endif
    }

    /// The low byte of each lane.
    @inline(__always)
    static func store(_ lanes: SIMD16<UInt32>, into bytes: UnsafeMutablePointer<UInt8>) {
        #if PSHUFB
        var narrow = SIMD16<UInt8>()
        narrow._storage._value = Builtin.trunc_Vec16xInt32_Vec16xInt8(lanes._storage._value)
        UnsafeMutableRawPointer(bytes).storeBytes(of: narrow, as: SIMD16<UInt8>.self)
        #else
        for j in 0..<16 { bytes[j] = UInt8(truncatingIfNeeded: lanes[j]) }
        #endif
    }

    /// Sums for `blocks` consecutive blocks into `totals` (32 per block), and per block a mask
    /// (bit v for vector v) of the lanes whose value T + (extra[v] − floor) · scale, in float32
    /// and in that order, is at most `limit`, so that a caller visits only those. `extra`: a
    /// per-vector addend to the score (an ivfpq's code terms, 32 per block), or nil
    /// for none; `scale` turns it into table units.
    public static func scan(codes: UnsafePointer<UInt8>, blocks: Int, tables: UnsafePointer<UInt8>, pairs: Int, totals: UnsafeMutablePointer<UInt16>,
                            extra: UnsafePointer<Float>?, floor: Float, scale: Float, limit: Float, masks: UnsafeMutablePointer<UInt32>) {
        let blockBytes = pairs * 32
        for b in 0..<blocks {
            scanBlock(codes: codes + b * blockBytes, tables: tables, pairs: pairs, totals: totals + b * 32)
            masks[b] = lanesWithin(totals + b * 32, extra: extra.map { $0 + b * 32 }, floor: floor, scale: scale, limit: limit)
        }
    }

    #if PSHUFB
    /// Eight lanes at a time: widened, converted, compared, and their signs gathered by `vmovmskps`.
    @inline(__always)
    static func lanesWithin(_ totals: UnsafePointer<UInt16>, extra: UnsafePointer<Float>?, floor: Float, scale: Float, limit: Float) -> UInt32 {
        var mask: UInt32 = 0
        for part in 0..<4 {
            let raw = UnsafeRawPointer(totals + part * 8).loadUnaligned(as: SIMD8<UInt16>.self)
            // vpmovzxwd and vcvtdq2ps (the standard library's conversions go lane by lane).
            var value = SIMD8<Float>()
            value._storage._value = Builtin.sitofp_Vec8xInt32_Vec8xFPIEEE32(Builtin.zext_Vec8xInt16_Vec8xInt32(raw._storage._value))
            if let extra {
                value += (UnsafeRawPointer(extra + part * 8).loadUnaligned(as: SIMD8<Float>.self) - floor) * scale
            }
            // vcmpleps (the standard library's comparison also goes lane by lane).
            let within = Builtin.sext_Vec8xInt1_Vec8xInt32(Builtin.fcmp_ole_Vec8xFPIEEE32(value._storage._value, SIMD8<Float>(repeating: limit)._storage._value))
            let bits = Builtin.int_x86_avx_movmsk_ps_256(Builtin.bitcast_Vec8xInt32_Vec8xFPIEEE32(within))
            mask |= UInt32(bitPattern: Int32(bits)) << (8 * part)
        }
        return mask
    }
    #else
    @inline(__always)
    static func lanesWithin(_ totals: UnsafePointer<UInt16>, extra: UnsafePointer<Float>?, floor: Float, scale: Float, limit: Float) -> UInt32 {
        var mask: UInt32 = 0
        for v in 0..<32 {
            var value = Float(totals[v])
            if let extra { value += (extra[v] - floor) * scale }
            if value <= limit { mask |= 1 << v }
        }
        return mask
    }
    #endif

    #if PSHUFB
    /// Per pair: the low and high halves of the 32 code bytes, each looked up in the pair's
    /// tables by one `vpshufb` (vectors 0..<16 and 16..<32; the register's low half answers
    /// subspace 2t, its high half 2t + 1). The byte results are summed as 16-bit lanes: the even
    /// bytes (masked) and the odd ones (shifted) into separate accumulators; the two subspaces'
    /// halves are added at the end.
    @inline(__always)
    static func scanBlock(codes: UnsafePointer<UInt8>, tables: UnsafePointer<UInt8>, pairs: Int, totals: UnsafeMutablePointer<UInt16>) {
        var lowEven = SIMD16<UInt16>(), lowOdd = SIMD16<UInt16>(), highEven = SIMD16<UInt16>(), highOdd = SIMD16<UInt16>()
        let nibbles = SIMD16<UInt16>(repeating: 0x0F0F), byte = SIMD16<UInt16>(repeating: 255)
        for t in 0..<pairs {
            // As 16-bit lanes: the nibbles of each byte by one shift and one mask of both bytes.
            let packed = UnsafeRawPointer(codes + t * 32).loadUnaligned(as: SIMD16<UInt16>.self)
            let table = UnsafeRawPointer(tables + t * 32).loadUnaligned(as: SIMD32<UInt8>.self)
            let low = lookup(table, packed & nibbles), high = lookup(table, shiftRight(packed, 4) & nibbles)
            lowEven &+= low & byte
            lowOdd &+= shiftRight(low, 8)
            highEven &+= high & byte
            highOdd &+= shiftRight(high, 8)
        }
        // Lane i < 8 holds subspace 2t's vectors 2i (even) and 2i + 1 (odd); lane 8 + i the same
        // vectors for subspace 2t + 1.
        let lowEvenSum = lowEven.lowHalf &+ lowEven.highHalf, lowOddSum = lowOdd.lowHalf &+ lowOdd.highHalf
        let highEvenSum = highEven.lowHalf &+ highEven.highHalf, highOddSum = highOdd.lowHalf &+ highOdd.highHalf
        for i in 0..<8 {
            totals[2 * i] = lowEvenSum[i]
            totals[2 * i + 1] = lowOddSum[i]
            totals[16 + 2 * i] = highEvenSum[i]
            totals[16 + 2 * i + 1] = highOddSum[i]
        }
    }

    /// `vpshufb`: each byte of `indices` (low 4 bits) picks a byte of `table` within its own
    /// 128-bit half; indices and result read as 16-bit lanes.
    @inline(__always)
    static func lookup(_ table: SIMD32<UInt8>, _ indices: SIMD16<UInt16>) -> SIMD16<UInt16> {
        var result = SIMD16<UInt16>()
        result._storage._value = Builtin.bitcast_Vec32xInt8_Vec16xInt16(
            Builtin.int_x86_avx2_pshuf_b(table._storage._value, Builtin.bitcast_Vec16xInt16_Vec32xInt8(indices._storage._value)))
        return result
    }

    /// One `vpsrlw` (the standard library's masking shift is generic, lane by lane).
    @inline(__always)
    static func shiftRight(_ value: SIMD16<UInt16>, _ count: UInt16) -> SIMD16<UInt16> {
        var result = SIMD16<UInt16>()
        result._storage._value = Builtin.lshr_Vec16xInt16(value._storage._value, SIMD16<UInt16>(repeating: count)._storage._value)
        return result
    }
    #else
    /// The reference: one lookup per vector and subspace.
    @inline(__always)
    static func scanBlock(codes: UnsafePointer<UInt8>, tables: UnsafePointer<UInt8>, pairs: Int, totals: UnsafeMutablePointer<UInt16>) {
        for v in 0..<32 { totals[v] = 0 }
        for t in 0..<pairs {
            let pair = codes + t * 32, table = tables + t * 32
            for j in 0..<16 {
                let first = Int(pair[j]), second = Int(pair[16 + j])
                totals[j] &+= UInt16(table[first & 15]) &+ UInt16(table[16 + second & 15])
                totals[16 + j] &+= UInt16(table[first >> 4]) &+ UInt16(table[16 + second >> 4])
            }
        }
    }
    #endif
}
