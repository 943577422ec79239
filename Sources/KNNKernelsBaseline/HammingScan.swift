// Compiled three times, like TileScan.swift (see there): the AVX2 and AVX-512 targets hold
// symlinks to this file. Distances are integers, so every build gives the same ones; the wider
// builds count bits in 4 or 8 lanes at a time (LLVM counts a lane's bits with a 16-entry nibble
// table, vpshufb, and adds each lane's bytes with vpsadbw; `objdump -d` shows them).

/// The Hamming distances from one query's code to blocks of codes (`lsh`'s ranking search).
///
/// Layout of `codes`: blocks of 8 codes of `words` 64-bit words each, word-major within a
/// block: word w of code l of block b is `codes[(b * words + w) * 8 + l]`. A block's 8 distances
/// are then 8 lanes of one vector, and the query's word w is broadcast against them.
public enum HammingScan {
    /// Writes the distances from `query` (`words` words) to the codes of `blocks` blocks,
    /// code l of block b at `distances[b * 8 + l]`, marks those at most `limit` in `masks`, and
    /// returns whether any is marked.
    ///
    /// Layout of `masks`: a vector of 8 words per 8 blocks; bit j of word l of vector g marks
    /// code l of block 8g + j (bits of blocks past `blocks` are 0). Marking 8 blocks in one
    /// vector costs a shift and an OR per block, where a bit mask per block would cost a
    /// reduction across lanes; and late in a scan most vectors are 0, so the caller visits
    /// only the few marked codes.
    public static func scan(codes: UnsafePointer<UInt64>, words: Int, blocks: Int, query: UnsafePointer<UInt64>, limit: Int,
                            distances: UnsafeMutablePointer<UInt64>, masks: UnsafeMutablePointer<UInt64>) -> Bool {
        // distance ≤ limit exactly when distance − (limit + 1) wraps below zero: its top bit.
        // A negative limit marks nothing: nothing wraps below zero.
        let bound = SIMD8<UInt64>(repeating: limit < 0 ? 0 : UInt64(min(limit, 1 << 40)) &+ 1)
        var any = SIMD8<UInt64>()
        var group = 0
        while group &* 8 < blocks {
            var marks = SIMD8<UInt64>()
            var j = 0
            while j < 8 && group &* 8 &+ j < blocks {
                let b = group &* 8 &+ j
                let total = distance(block: codes + b &* words &* 8, words: words, query: query)
                marks |= ((total &- bound) &>> 63) &<< UInt64(j)
                UnsafeMutableRawPointer(distances + b &* 8).storeBytes(of: total, as: SIMD8<UInt64>.self)
                j &+= 1
            }
            UnsafeMutableRawPointer(masks + group &* 8).storeBytes(of: marks, as: SIMD8<UInt64>.self)
            any |= marks
            group &+= 1
        }
        return any != SIMD8()
    }

    /// The distances from `query` to one block's 8 codes.
    @inline(__always)
    static func distance(block: UnsafePointer<UInt64>, words: Int, query: UnsafePointer<UInt64>) -> SIMD8<UInt64> {
        var total = SIMD8<UInt64>()
        var w = 0
        // Four words a step: four independent counts, added in a tree.
        while w &+ 4 <= words {
            let a = count(block, query, w), b = count(block, query, w &+ 1)
            let c = count(block, query, w &+ 2), d = count(block, query, w &+ 3)
            total &+= (a &+ b) &+ (c &+ d)
            w &+= 4
        }
        while w < words {
            total &+= count(block, query, w)
            w &+= 1
        }
        return total
    }

    /// The plain reference: one code at a time.
    public static func distance(_ codes: UnsafePointer<UInt64>, words: Int, code: Int, query: UnsafePointer<UInt64>) -> Int {
        let block = codes + (code / 8) * words * 8, lane = code % 8
        var total = 0
        for w in 0..<words { total += (block[w * 8 + lane] ^ query[w]).nonzeroBitCount }
        return total
    }

    /// The bits of word `w` of a block's 8 codes that differ from the query's word `w`.
    @inline(__always)
    static func count(_ block: UnsafePointer<UInt64>, _ query: UnsafePointer<UInt64>, _ w: Int) -> SIMD8<UInt64> {
        (load8(block + w &* 8) ^ SIMD8(repeating: query[w])).nonzeroBitCount
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<UInt64>) -> SIMD8<UInt64> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt64>.self)
    }
}
