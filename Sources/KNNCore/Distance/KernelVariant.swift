import KNNKernelsAVX2
import KNNKernelsAVX512
import KNNKernelsBaseline
import KNNKernelsVNNI

/// The builds of the tile kernel, and the choice among them made once per process from the CPU's
/// features (Linux reports them in /proc/cpuinfo, after the kernel has checked that the OS saves
/// the wider registers). `KNNBATCH_KERNEL=avx512vnni|avx512|avx2|baseline` forces a supported
/// one, for tests and benchmarks. Exact indexes never depend on the choice: the kernel only filters candidates,
/// and every reported distance is recomputed by the exact kernels in `Kernels`. HNSW navigates
/// (and builds its graph) with these kernels, so its output is deterministic per build.
public enum KernelVariant: String, CaseIterable, Sendable {
    /// The AVX-512 build, plus the int16 tile built for AVX-512 VNNI (-target-cpu cascadelake),
    /// which `FlatIndex` scores with from 64 dimensions and HNSW navigates with.
    case avx512vnni
    /// -target-cpu skylake-avx512: 512-bit FMA.
    case avx512
    /// -target-cpu haswell: 256-bit FMA.
    case avx2
    /// No target flags: SSE2 multiply and add, any x86-64.
    case baseline

    /// The CPU flags each build may use instructions from.
    var requiredFlags: Set<String> {
        switch self {
        case .avx512vnni: return KernelVariant.avx512.requiredFlags.union(["avx512_vnni"])
        case .avx512: return ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"]
        case .avx2: return ["avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"]
        case .baseline: return []
        }
    }

    public var isSupported: Bool { requiredFlags.isSubset(of: Self.cpuFlags) }

    public static var supported: [KernelVariant] { allCases.filter(\.isSupported) }

    /// The variant this process uses.
    public static let selected: KernelVariant = {
        if let forced = getenv("KNNBATCH_KERNEL").map({ String(cString: $0) }),
           let variant = KernelVariant(rawValue: forced), variant.isSupported {
            return variant
        }
        return supported.first ?? .baseline
    }()

    /// Refuses a `KNNBATCH_KERNEL` that names no build, or one this CPU cannot run, instead of
    /// quietly running another.
    static func checkEnvironment() throws(KNNError) {
        guard let forced = getenv("KNNBATCH_KERNEL").map({ String(cString: $0) }) else { return }
        guard let variant = KernelVariant(rawValue: forced) else {
            throw KNNError.usage("KNNBATCH_KERNEL=\(forced): no such kernel build (builds: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard variant.isSupported else {
            let missing = variant.requiredFlags.subtracting(cpuFlags).sorted().joined(separator: ", ")
            throw KNNError.usage("KNNBATCH_KERNEL=\(forced): this CPU cannot run that build (it lacks \(missing); builds it can run: \(supported.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    /// The x86 feature flags; none elsewhere, where only the baseline build runs.
    static let cpuFlags: Set<String> = {
        #if !arch(x86_64)
        return []
        #endif
        guard let line = ProcFile.line(startingWith: "flags", in: "/proc/cpuinfo") else { return [] }
        return Set(line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map { $0.trimmingSpaces } ?? [])
    }()

    /// The fast pair distance (`PairDistance`) used for navigation: smaller is nearer — ‖a − b‖²
    /// for l2 and sqeuclidean, −a·b for cosine (unit vectors) and ip.
    @inline(__always)
    func navigationDistance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int) -> Float {
        switch (self, metric) {
        case (.avx512, .l2), (.avx512, .sqeuclidean), (.avx512vnni, .l2), (.avx512vnni, .sqeuclidean):
            return KNNKernelsAVX512.PairDistance.squaredL2(a, b, count: dim)
        case (.avx512, _), (.avx512vnni, _): return -KNNKernelsAVX512.PairDistance.dot(a, b, count: dim)
        case (.avx2, .l2), (.avx2, .sqeuclidean): return KNNKernelsAVX2.PairDistance.squaredL2(a, b, count: dim)
        case (.avx2, _): return -KNNKernelsAVX2.PairDistance.dot(a, b, count: dim)
        case (.baseline, .l2), (.baseline, .sqeuclidean): return KNNKernelsBaseline.PairDistance.squaredL2(a, b, count: dim)
        case (.baseline, _): return -KNNKernelsBaseline.PairDistance.dot(a, b, count: dim)
        }
    }

    /// `navigationDistance` for many rows of `base` at once (see `PairDistance.many`).
    func navigationDistances(_ metric: Metric, _ query: UnsafePointer<Float>, base: UnsafePointer<Float>, dim: Int,
                             ids: UnsafePointer<Int32>, count: Int, into out: UnsafeMutablePointer<Float>) {
        let negatedDot = metric == .cosine || metric == .ip
        switch self {
        case .avx512, .avx512vnni: KNNKernelsAVX512.PairDistance.many(query, base: base, dim: dim, ids: ids, count: count, negatedDot: negatedDot, into: out)
        case .avx2: KNNKernelsAVX2.PairDistance.many(query, base: base, dim: dim, ids: ids, count: count, negatedDot: negatedDot, into: out)
        case .baseline: KNNKernelsBaseline.PairDistance.many(query, base: base, dim: dim, ids: ids, count: count, negatedDot: negatedDot, into: out)
        }
    }

    @inline(__always)
    func scan(queries: UnsafePointer<Float>, dim: Int, panels: UnsafePointer<Float>, bias: UnsafePointer<Float>,
              panelCount: Int, thresholds: UnsafePointer<Float>,
              onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        switch self {
        case .avx512, .avx512vnni:
            KNNKernelsAVX512.TileScan.scan(queries: queries, dim: dim, panels: panels, bias: bias, panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        case .avx2:
            KNNKernelsAVX2.TileScan.scan(queries: queries, dim: dim, panels: panels, bias: bias, panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        case .baseline:
            KNNKernelsBaseline.TileScan.scan(queries: queries, dim: dim, panels: panels, bias: bias, panelCount: panelCount, thresholds: thresholds, onHit: onHit)
        }
    }
}

extension KernelVariant {
    /// Whether this build has a fast int16 tile (`vpdpwssd`, or AVX2's `vpmaddwd`); others run
    /// the plain one (tests force it). AVX-512 without VNNI keeps its float32 tile.
    var hasFastQuantizedScan: Bool { self == .avx512vnni || self == .avx2 }

    /// `QuantizedTileScan.scan`, in this build's int16 kernel.
    @inline(__always)
    func quantizedScan(queries: UnsafePointer<Int32>, queryScales: UnsafePointer<Float>, pairs: Int,
                       panels: UnsafePointer<Int32>, panelScales: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                       panelCount: Int, thresholds: UnsafePointer<Float>,
                       onHit: (_ query: Int, _ panel: Int, _ scores: SIMD16<Float>) -> Void) {
        switch self {
        case .avx512vnni:
            KNNKernelsVNNI.QuantizedTileScan.scan(queries: queries, queryScales: queryScales, pairs: pairs, panels: panels,
                                                  panelScales: panelScales, bias: bias, panelCount: panelCount,
                                                  thresholds: thresholds, onHit: onHit)
        case .avx2:
            KNNKernelsAVX2.QuantizedTileScan.scan(queries: queries, queryScales: queryScales, pairs: pairs, panels: panels,
                                                  panelScales: panelScales, bias: bias, panelCount: panelCount,
                                                  thresholds: thresholds, onHit: onHit)
        case .avx512, .baseline:
            KNNKernelsBaseline.QuantizedTileScan.scan(queries: queries, queryScales: queryScales, pairs: pairs, panels: panels,
                                                      panelScales: panelScales, bias: bias, panelCount: panelCount,
                                                      thresholds: thresholds, onHit: onHit)
        }
    }
}

extension KernelVariant {
    /// `QuantizedPairDot.dot`, in this build's int16 kernel.
    @inline(__always)
    func quantizedDot(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, words: Int) -> Int32 {
        switch self {
        case .avx512vnni: return KNNKernelsVNNI.QuantizedPairDot.dot(a, b, words: words)
        case .avx2: return KNNKernelsAVX2.QuantizedPairDot.dot(a, b, words: words)
        case .avx512, .baseline: return KNNKernelsBaseline.QuantizedPairDot.dot(a, b, words: words)
        }
    }

    /// `QuantizedPairDot.dotWide` (int16 by int8 codes), in this build's int16 kernel.
    @inline(__always)
    func quantizedDotWide(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int8>, words: Int) -> Int32 {
        switch self {
        case .avx512vnni: return KNNKernelsVNNI.QuantizedPairDot.dotWide(a, b, words: words)
        case .avx2: return KNNKernelsAVX2.QuantizedPairDot.dotWide(a, b, words: words)
        case .avx512, .baseline: return KNNKernelsBaseline.QuantizedPairDot.dotWide(a, b, words: words)
        }
    }

    /// `QuantizedPairDot.many`, in this build's int16 kernel.
    func quantizedDots(_ query: UnsafePointer<Int32>, base: UnsafePointer<Int32>, words: Int, ids: UnsafePointer<Int32>, count: Int,
                       into out: UnsafeMutablePointer<Int32>) {
        switch self {
        case .avx512vnni: KNNKernelsVNNI.QuantizedPairDot.many(query, base: base, words: words, ids: ids, count: count, into: out)
        case .avx2: KNNKernelsAVX2.QuantizedPairDot.many(query, base: base, words: words, ids: ids, count: count, into: out)
        case .avx512, .baseline: KNNKernelsBaseline.QuantizedPairDot.many(query, base: base, words: words, ids: ids, count: count, into: out)
        }
    }
}

extension KernelVariant {
    /// `FastScan.scan`: the AVX2 build (`vpshufb`) on every CPU that has AVX2, the reference
    /// elsewhere; both give the same totals.
    @inline(__always)
    func fastScan(codes: UnsafePointer<UInt8>, blocks: Int, tables: UnsafePointer<UInt8>, pairs: Int, totals: UnsafeMutablePointer<UInt16>,
                  extra: UnsafePointer<Float>?, floor: Float, scale: Float, limit: Float, masks: UnsafeMutablePointer<UInt32>) {
        switch self {
        case .avx512vnni, .avx512, .avx2:
            KNNKernelsAVX2.FastScan.scan(codes: codes, blocks: blocks, tables: tables, pairs: pairs, totals: totals,
                                         extra: extra, floor: floor, scale: scale, limit: limit, masks: masks)
        case .baseline:
            KNNKernelsBaseline.FastScan.scan(codes: codes, blocks: blocks, tables: tables, pairs: pairs, totals: totals,
                                             extra: extra, floor: floor, scale: scale, limit: limit, masks: masks)
        }
    }

    /// `FastScan.quantize`, in the build `fastScan` uses (both give the same bytes).
    @inline(__always)
    func fastScanQuantize(terms: UnsafePointer<Float>?, products: UnsafePointer<Float>, subspaces: Int, least: UnsafeMutablePointer<Float>,
                          into bytes: UnsafeMutablePointer<UInt8>) -> (offset: Float, unscale: Float) {
        switch self {
        case .avx512vnni, .avx512, .avx2:
            return KNNKernelsAVX2.FastScan.quantize(terms: terms, products: products, subspaces: subspaces, least: least, into: bytes)
        case .baseline:
            return KNNKernelsBaseline.FastScan.quantize(terms: terms, products: products, subspaces: subspaces, least: least, into: bytes)
        }
    }
}

extension KernelVariant {
    /// `HammingScan.scan`, in the widest build the CPU runs; every build gives the same distances.
    @inline(__always)
    func hammingScan(codes: UnsafePointer<UInt64>, words: Int, blocks: Int, query: UnsafePointer<UInt64>, limit: Int,
                     distances: UnsafeMutablePointer<UInt64>, masks: UnsafeMutablePointer<UInt64>) -> Bool {
        switch self {
        case .avx512vnni, .avx512:
            return KNNKernelsAVX512.HammingScan.scan(codes: codes, words: words, blocks: blocks, query: query, limit: limit, distances: distances, masks: masks)
        case .avx2:
            return KNNKernelsAVX2.HammingScan.scan(codes: codes, words: words, blocks: blocks, query: query, limit: limit, distances: distances, masks: masks)
        case .baseline:
            return KNNKernelsBaseline.HammingScan.scan(codes: codes, words: words, blocks: blocks, query: query, limit: limit, distances: distances, masks: masks)
        }
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
