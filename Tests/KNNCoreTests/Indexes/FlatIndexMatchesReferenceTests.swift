import Testing
@testable import KNNCore

/// `FlatIndex` (tile kernel + candidate filter + exact re-rank) must return exactly what
/// `ReferenceFlatIndex` (the exact kernels, pair by pair) returns: the same ids and the same
/// distance bits, for every kernel build this CPU supports, with float32 and with int16 scoring
/// (the plain integer tile where the CPU lacks VNNI).
@Suite(.skippedUnderThreadSanitizer) struct FlatIndexMatchesReferenceTests {
    struct Dataset: CustomTestStringConvertible, Sendable {
        var name: String
        var data: [[Float]]
        var queries: [[Float]]
        var testDescription: String { name }
    }

    /// Points on the unit sphere, clustered so that nearest neighbours sit ~1e-4 apart and their
    /// squared distances (~1e-8) are far below float32's resolution of |q|² + |x|² − 2q·x.
    static func sphere(_ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<20).map { _ in (0..<3).map { _ in Float.random(in: -1...1, using: &rng) } }
        return (0..<count).map { i in
            let c = centres[i % centres.count]
            let p = c.map { $0 + Float.random(in: -1e-3...1e-3, using: &rng) }
            let norm = p.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return p.map { $0 / norm }
        }
    }

    static let datasets: [Dataset] = {
        var sets: [Dataset] = []
        sets.append(Dataset(name: "random 1000×37", data: Fixtures.randomVectors(1000, 37, seed: 1), queries: Fixtures.randomVectors(45, 37, seed: 2)))
        sets.append(Dataset(name: "grid ties 700×4", data: Fixtures.gridVectors(700, 4, seed: 3), queries: Fixtures.gridVectors(30, 4, seed: 4)))
        let base = Fixtures.randomVectors(300, 16, seed: 5)
        sets.append(Dataset(name: "duplicates 600×16", data: base + base, queries: Array(base.prefix(20))))
        sets.append(Dataset(name: "sphere 3-D 3000", data: sphere(3000, seed: 6), queries: sphere(50, seed: 7)))
        sets.append(Dataset(name: "tiny 5×3", data: Fixtures.randomVectors(5, 3, seed: 8), queries: Fixtures.randomVectors(9, 3, seed: 9)))
        sets.append(Dataset(name: "1-D 333", data: Fixtures.randomVectors(333, 1, seed: 10), queries: Fixtures.randomVectors(17, 1, seed: 11)))
        sets.append(Dataset(name: "offset far from origin 500×8", data: Fixtures.randomVectors(500, 8, seed: 12, range: 1000...1001),
                            queries: Fixtures.randomVectors(12, 8, seed: 13, range: 1000...1001)))
        sets.append(Dataset(name: "wide 200×200", data: Fixtures.randomVectors(200, 200, seed: 14), queries: Fixtures.randomVectors(10, 200, seed: 15)))
        return sets
    }()

    func bits(_ rows: [[Neighbor]]) -> [[String]] {
        rows.map { $0.map { "\($0.id):\($0.distance.bitPattern)" } }
    }

    @Test(arguments: datasets)
    func everyKernelAndMetricMatchesTheReferenceExactly(dataset: Dataset) throws {
        for metric in Metric.allCases {
            let reference = ReferenceFlatIndex(data: try VectorMatrix(dataset.data).prepared(for: metric), metric: metric)
            for k in [1, 10] {
                let expected = bits(searchAll(reference, queries: VectorMatrix(dataset.queries), k: k))
                let expectedSelf = bits(searchAll(reference, queries: VectorMatrix(dataset.data), k: k, selfJoin: true))
                for kernel in KernelVariant.supported {
                    for scoring in Self.scorings(metric) {
                        let fast = FlatIndex(data: VectorMatrix(dataset.data), metric: metric, kernel: kernel, scoring: scoring)
                        #expect(bits(searchAll(fast, queries: VectorMatrix(dataset.queries), k: k)) == expected, "\(metric) k=\(k) \(kernel) \(scoring)")
                        #expect(bits(searchAll(fast, queries: VectorMatrix(dataset.data), k: k, selfJoin: true)) == expectedSelf,
                                "self-join \(metric) k=\(k) \(kernel) \(scoring)")
                    }
                }
            }
        }
    }

    /// The scorings, both for every metric.
    static func scorings(_ metric: Metric) -> [FlatIndex.Scoring] { FlatIndex.Scoring.allCases }

    @Test func thisMachineUsesItsWidestKernel() {
        // At least the baseline build is always there; unless forced, the widest supported is used.
        #expect(KernelVariant.supported.contains(.baseline))
        if getenv("KNNBATCH_KERNEL") == nil { #expect(KernelVariant.selected == KernelVariant.supported.first) }
    }

    /// Vectors whose squared norms are subnormal: every rounding can err by half the smallest
    /// subnormal, which relative error bounds alone miss. (Found by review: without the
    /// underflow term the tile kernel dropped the true nearest here.)
    @Test func subnormalVectorsMatchTheReference() throws {
        let scale = Float(sign: .plus, exponent: -77, significand: 1)
        let data: [[Float]] = [[-8, 8, 7, -9], [-6, -3, 4, -4]].map { $0.map { $0 * scale } }
        let query: [[Float]] = [[12, 7, 6, -4].map { $0 * scale }]
        for metric in Metric.allCases {
            let expected = searchAll(ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric), queries: VectorMatrix(query), k: 1)
            for kernel in KernelVariant.supported {
                for scoring in Self.scorings(metric) {
                    let index = FlatIndex(data: VectorMatrix(data), metric: metric, kernel: kernel, scoring: scoring)
                    #expect(searchAll(index, queries: VectorMatrix(query), k: 1) == expected, "\(metric) \(kernel) \(scoring)")
                }
            }
        }
    }

    /// Data far from the origin makes the rounding bound wide enough that nearly every vector
    /// is a candidate: results stay exact and candidate memory stays bounded (the lists flush
    /// into an exact top-k rather than grow).
    @Test func dataFarFromTheOriginStaysExact() throws {
        var rng = SplitMix64(seed: 9)
        let data = (0..<5000).map { _ in [Float(500_000) + Float.random(in: 0...20_000, using: &rng), Float(5_000_000) + Float.random(in: 0...20_000, using: &rng)] }
        let queries = Array(data.prefix(20))
        let expected = searchAll(ReferenceFlatIndex(data: VectorMatrix(data), metric: .l2), queries: VectorMatrix(queries), k: 10)
        #expect(searchAll(FlatIndex(data: VectorMatrix(data), metric: .l2), queries: VectorMatrix(queries), k: 10) == expected)
    }

    /// Int16 codes are not the vectors, so int16 scoring re-ranks from the source rows; from a
    /// memory-mapped file it reads them with pread. Results must not change.
    @Test func int16ScoringReRanksFromAMappedSource() throws {
        let folder = TemporaryFolder()
        let data = Fixtures.randomVectors(2000, 96, seed: 21)
        let queries = Fixtures.randomVectors(40, 96, seed: 22)
        let path = folder.write("base.fvecs", Fixtures.fvecs(data))
        let loaded = try VectorLoader.load(VectorSource(path: path, format: .fvecs))
        #expect(loaded.info.memoryMapped)
        let mapped = loaded.matrix
        for metric in Metric.allCases {
            let expected = bits(searchAll(ReferenceFlatIndex(data: try VectorMatrix(data).prepared(for: metric), metric: metric),
                                          queries: VectorMatrix(queries), k: 10))
            let index = FlatIndex(data: mapped, metric: metric, kernel: .selected, threads: 2, scoring: .int16)
            #expect(bits(searchAll(index, queries: VectorMatrix(queries), k: 10)) == expected, "\(metric)")
        }
    }

    /// Int16 is the default only where it is fast (VNNI, AVX2's vpmaddwd), in 64 or more dimensions.
    @Test func int16ScoringIsChosenForWideVectorsWhereItIsFast() {
        #expect(FlatIndex.defaultScoring(metric: .l2, dim: 128, kernel: .avx2) == .int16)
        #expect(FlatIndex.defaultScoring(metric: .cosine, dim: 63, kernel: .avx2) == .float32)
        #expect(FlatIndex.defaultScoring(metric: .cosine, dim: 384, kernel: .baseline) == .float32)
        #expect(FlatIndex.defaultScoring(metric: .cosine, dim: 384, kernel: .avx512vnni) == .int16)
        #expect(FlatIndex.defaultScoring(metric: .ip, dim: 64, kernel: .avx512vnni) == .int16)
        #expect(FlatIndex.defaultScoring(metric: .l2, dim: 128, kernel: .avx512vnni) == .int16)
        #expect(FlatIndex.defaultScoring(metric: .cosine, dim: 50, kernel: .avx512vnni) == .float32)
        #expect(FlatIndex.defaultScoring(metric: .cosine, dim: 384, kernel: .avx512) == .float32)
    }
}
