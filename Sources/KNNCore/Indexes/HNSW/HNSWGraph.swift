import Foundation

/// The layered graph of an HNSW index, in flat arrays.
///
/// Layout: every vector has a level `levels[v]` (0 for most). Layer 0 keeps up to `2M` links per
/// vector at `links0[v * 2M]`, their count in `counts0[v]`. A vector of level L ≥ 1 also owns
/// `L` blocks of `M` links in `upperLinks`, starting at block `upperBlock[v]` (layer l uses block
/// `upperBlock[v] + l − 1`), counts in `upperCounts[block]`.
final class HNSWGraph: @unchecked Sendable {
    let count: Int
    let m: Int
    /// The arrays, owned by their buffers; the pointers are what the walks read.
    let levelBuffer: AlignedBuffer<UInt8>
    let links0Buffer: AlignedBuffer<Int32>
    let counts0Buffer: AlignedBuffer<Int32>
    let upperBlockBuffer: AlignedBuffer<Int>
    let upperLinksBuffer: AlignedBuffer<Int32>
    let upperCountsBuffer: AlignedBuffer<Int32>
    let levels: UnsafeMutablePointer<UInt8>
    let links0: UnsafeMutablePointer<Int32>
    let counts0: UnsafeMutablePointer<Int32>
    let upperBlock: UnsafeMutablePointer<Int>
    let upperLinks: UnsafeMutablePointer<Int32>
    let upperCounts: UnsafeMutablePointer<Int32>
    let upperBlocks: Int
    var entryPoint = 0
    var topLevel = 0

    /// Levels are drawn per vector from its own seeded stream: −ln(u)/ln(M), as the paper does.
    convenience init(count: Int, connectivity m: Int, seed: UInt64) {
        let levels = AlignedBuffer<UInt8>(count: count, zeroed: false)
        let upperBlock = AlignedBuffer<Int>(count: count, zeroed: false)
        var blocks = 0
        let scale = 1 / log(Double(m))
        for v in 0..<count {
            var rng = SplitMix(seed: seed &+ UInt64(v) &* 0x9E37_79B9_7F4A_7C15)
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300)
            let level = min(Int(-log(u) * scale), 30)
            levels.pointer[v] = UInt8(level)
            upperBlock.pointer[v] = blocks
            blocks += level
        }
        self.init(count: count, m: m, levels: levels, links0: AlignedBuffer(count: count * 2 * m, zeroed: false),
                  counts0: AlignedBuffer(count: count), upperBlock: upperBlock, upperBlocks: blocks,
                  upperLinks: AlignedBuffer(count: blocks * m, zeroed: false), upperCounts: AlignedBuffer(count: blocks))
    }

    /// A graph over arrays already filled (built, or mapped from an index file).
    init(count: Int, m: Int, levels: AlignedBuffer<UInt8>, links0: AlignedBuffer<Int32>, counts0: AlignedBuffer<Int32>,
         upperBlock: AlignedBuffer<Int>, upperBlocks: Int, upperLinks: AlignedBuffer<Int32>, upperCounts: AlignedBuffer<Int32>) {
        self.count = count
        self.m = m
        self.upperBlocks = upperBlocks
        levelBuffer = levels; links0Buffer = links0; counts0Buffer = counts0
        upperBlockBuffer = upperBlock; upperLinksBuffer = upperLinks; upperCountsBuffer = upperCounts
        self.levels = levels.pointer; self.links0 = links0.pointer; self.counts0 = counts0.pointer
        self.upperBlock = upperBlock.pointer; self.upperLinks = upperLinks.pointer; self.upperCounts = upperCounts.pointer
    }

    /// The most links a vector keeps on `layer`.
    @inline(__always) func capacity(layer: Int) -> Int { layer == 0 ? 2 * m : m }

    /// A vector's links on a layer it has, and where their count lives.
    @inline(__always)
    func links(of v: Int, layer: Int) -> (links: UnsafeMutablePointer<Int32>, count: UnsafeMutablePointer<Int32>) {
        if layer == 0 { return (links0 + v * 2 * m, counts0 + v) }
        let block = upperBlock[v] + layer - 1
        return (upperLinks + block * m, upperCounts + block)
    }

    var memoryBytes: Int { count * (1 + 8 + 4 + 2 * m * 4) + upperBlocks * (m + 1) * 4 }
}

/// SplitMix64: a tiny seeded generator (the standard library has none).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
