// Compiled three times, like QuantizedTileScan.swift (see there): KNNKernelsVNNI and
// KNNKernelsAVX2 hold symlinks.

/// Inner products of int16 codes (two per 32-bit word, as `QuantizedTileScan` stores them), one
/// pair of rows at a time, for graph indexes that compare a query with scattered vectors. The
/// sums are exact integers (the caller keeps |a|·|b| < 2³¹), so every build returns the same
/// value.
public enum QuantizedPairDot {
    /// Σ aᵢbᵢ over `words` words (a multiple of 16).
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, words: Int) -> Int32 {
        var acc0 = SIMD16<Int32>(), acc1 = SIMD16<Int32>()
        var j = 0
        while j &+ 32 <= words {
            acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), load(b + j))
            acc1 = QuantizedTileScan.pairedProducts(acc1, load(a + (j &+ 16)), load(b + (j &+ 16)))
            j &+= 32
        }
        if j < words { acc0 = QuantizedTileScan.pairedProducts(acc0, load(a + j), load(b + j)) }
        return (acc0 &+ acc1).wrappedSum()
    }

    /// `dot(query, row)` for the rows `ids[0..<count]` of `base` (row stride `words`), into
    /// `out`. The rows are independent, so their cache misses overlap.
    public static func many(_ query: UnsafePointer<Int32>, base: UnsafePointer<Int32>, words: Int, ids: UnsafePointer<Int32>, count: Int,
                            into out: UnsafeMutablePointer<Int32>) {
        #if VNNI || PMADDWD
        // Ask for every row before computing any: their cache misses then overlap fully.
        for i in 0..<count {
            let row = UnsafeRawPointer(base + Int(ids[i]) * words)
            var offset = 0
            while offset < words &* 4 {
                Prefetch.read(row + offset)
                offset &+= 64
            }
        }
        #endif
        for i in 0..<count { out[i] = dot(query, base + Int(ids[i]) * words, words: words) }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Int32>) -> SIMD16<Int32> {
        UnsafeRawPointer(p).load(as: SIMD16<Int32>.self)
    }
}
