import KNNKernelsAVX2
import KNNKernelsBaseline
import Testing
@testable import KNNCore

@Suite struct IVFPQTests {
    func ivfpq(_ data: [[Float]], _ metric: Metric, _ parameters: IVFPQParameters, threads: Int = 2) -> IVFPQIndex {
        IVFPQIndex(data: VectorMatrix(data), metric: metric, parameters: parameters, threads: threads)
    }

    static func parameters(lists: Int? = nil, probe: Int? = nil, subspaces: Int? = nil, bits: Int = 4, rerank: Int = 10, residual: Bool = true,
                           seed: UInt64 = 1) -> IVFPQParameters {
        IVFPQParameters(coarse: IVFParameters(lists: lists, probe: probe, seed: seed), subspaces: subspaces, bits: bits, rerank: rerank, residual: residual)
    }

    /// Every metric with 4-bit codes; 8-bit codes (whose 256-codeword training dominates the
    /// suite's time under the sanitizers) under l2 and ip.
    @Test(.skippedUnderThreadSanitizer, arguments: Metric.allCases.map { ($0, 4) } + [(Metric.l2, 8), (.ip, 8)])
    func defaultsReachTheRecallFloor(metric: Metric, bits: Int) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let index = ivfpq(data, metric, Self.parameters(bits: bits))
        #expect(index.lists == 253 && index.probe == 8 && index.quantizer.m == (bits == 4 ? 16 : 8) && index.quantizer.codeBytes == 8)
        let r = recall(searchAll(index, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed with the defaults (253 lists, 8 probes, 8-byte codes, rerank 10), 4 and 8 bits alike: l2 0.996,
        // sqeuclidean 0.996, cosine 0.997, ip 0.999 — what ivf finds in the same cells.
        #expect(r >= 0.97, "\(metric) \(bits): \(r)")
    }

    /// Codes of the vectors themselves (one table per query): coarser codes, which the exact
    /// re-rank of 10 × k candidates makes up for on this data.
    @Test(.skippedUnderThreadSanitizer, arguments: [(Metric.l2, 4), (.cosine, 4), (.ip, 8)])
    func codesOfTheVectorsThemselvesReachTheirFloor(metric: Metric, bits: Int) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let index = ivfpq(data, metric, Self.parameters(bits: bits, residual: false))
        let r = recall(searchAll(index, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed, 4 and 8 bits alike: l2 0.996, cosine 0.997, ip 0.999.
        #expect(r >= 0.97, "\(metric) \(bits): \(r)")
    }

    /// Every reported distance is the exact kernels' for that pair, rows are in order, a
    /// self-join never returns the query itself — and with every cell probed and every vector a
    /// candidate, the answer is the oracle's. Residual codes and codes of the vectors alike.
    @Test(arguments: Metric.allCases.map { ($0, (4, true)) }
          + [Metric.l2, .ip].flatMap { metric in [(8, true), (4, false), (8, false)].map { (metric, $0) } })
    func distancesAreExactAndFullSearchIsTheOracle(metric: Metric, code: (bits: Int, residual: Bool)) throws {
        let bits = code.bits
        var data = Fixtures.gridVectors(600, 12, seed: 3)
        for i in stride(from: 0, to: 600, by: 17) { data[i] = data[5] }
        let index = ivfpq(data, metric, Self.parameters(lists: 10, probe: 3, subspaces: 6, bits: bits, residual: code.residual))
        let found = searchAll(index, queries: VectorMatrix(data), k: 8, selfJoin: true)
        let prepared = try VectorMatrix(data).prepared(for: metric)
        for (q, row) in found.enumerated() {
            #expect(!row.contains { $0.id == q })
            #expect(row == row.sorted { metric == .ip ? ($0.distance > $1.distance || ($0.distance == $1.distance && $0.id < $1.id)) : $0 < $1 })
            for neighbour in row {
                #expect(neighbour.distance == metric.reported(rankKey: metric.exactKey(prepared.row(q), prepared.row(neighbour.id), dim: 12)))
            }
        }
        let queries = Fixtures.gridVectors(30, 12, seed: 4)
        let everything = IVFPQIndex(sharing: index, parameters: Self.parameters(lists: 10, probe: 10, subspaces: 6, bits: bits, rerank: 600,
                                                                                 residual: code.residual))
        #expect(searchAll(everything, queries: VectorMatrix(queries), k: 8) == (try exactNeighbours(data, queries, metric, k: 8)))
    }

    /// With 8-bit codes (exact float tables) and one candidate per query, the candidate is the
    /// vector whose reconstruction c + Σ_s w_s is nearest the query — |q − x̂|² under the
    /// distance metrics, scored from the query's one table and each code's reconstruction
    /// norm, and −q·x̂ under ip — computed here by decoding every code.
    @Test(arguments: Metric.allCases)
    func oneCandidateIsTheNearestReconstruction(metric: Metric) throws {
        let data = Fixtures.gridVectors(600, 12, seed: 5), queries = try VectorMatrix(Fixtures.gridVectors(30, 12, seed: 6)).prepared(for: metric)
        let index = ivfpq(data, metric, Self.parameters(lists: 10, probe: 10, subspaces: 6, bits: 8, rerank: 1))
        let table = CandidateTable(capacity: 30, perRow: 1)
        IVFPQSearcher(index: index, k: 1).findCandidates(QueryBatch(vectors: queries, firstQuery: 0, excludesOwnID: false), into: table.rows(0..<30))
        let quantizer = index.quantizer, dim = 12
        var scores: [Int: Float] = [:]
        for q in 0..<30 {
            let query = queries.row(q)
            for cell in 0..<index.lists {
                for p in index.cellStarts.pointer[cell]..<index.cellStarts.pointer[cell + 1] {
                    var x = (0..<dim).map { index.centroids.pointer[cell * dim + $0] }
                    for s in 0..<quantizer.m {
                        let word = quantizer.codebooks.pointer + (s * quantizer.ksub + Int(index.codes.pointer[p * quantizer.codeBytes + s])) * quantizer.dsub
                        for t in 0..<quantizer.dsub { x[s * quantizer.dsub + t] += word[t] }
                    }
                    let score = metric == .ip ? -(0..<dim).reduce(Float(0)) { $0 + query[$1] * x[$1] }
                                              : (0..<dim).reduce(Float(0)) { $0 + (query[$1] - x[$1]) * (query[$1] - x[$1]) }
                    scores[Int(index.ids.pointer[p])] = score
                }
            }
            let best = scores.values.min()!, found = Int(table.ids[q])
            #expect(table.counts[q] == 1)
            // The index sums the same terms in another order: equal up to float rounding.
            #expect(scores[found]! <= best + 1e-4 * (1 + abs(best)), "\(metric) query \(q): \(scores[found]!) against \(best)")
        }
    }

    /// The kernel's lane masks lose nothing: with 4-bit codes and a pool of 2 × k, every query
    /// keeps the same candidates as when every lane is offered — for every metric, on data near
    /// the origin and on data shifted 10⁴ and 10⁶ away from it (large terms that cancel; a
    /// margin of one table unit and 10⁻⁵ of the limit alone lost candidates under ip at 10⁶).
    @Test(arguments: Metric.allCases)
    func laneMasksKeepTheSameCandidates(metric: Metric) throws {
        for shift in [Float(0), 10_000, 1_000_000] {
            let data = Fixtures.randomVectors(3000, 16, seed: 51).map { $0.map { $0 + shift } }
            let queries = try VectorMatrix(Fixtures.randomVectors(40, 16, seed: 52).map { $0.map { $0 + shift } }).prepared(for: metric)
            let index = ivfpq(data, metric, Self.parameters(lists: 12, probe: 5, subspaces: 8, bits: 4, rerank: 2))
            var found: [[Int32]] = []
            for masks in [true, false] {
                let table = CandidateTable(capacity: 40, perRow: 20)
                IVFPQSearcher(index: index, k: 10, masksLanes: masks).findCandidates(QueryBatch(vectors: queries, firstQuery: 0, excludesOwnID: false),
                                                                                   into: table.rows(0..<40))
                found.append((0..<40).flatMap { q in (0..<Int(table.counts[q])).map { table.ids[q * 20 + $0] }.sorted() })
            }
            #expect(found[0] == found[1] && found[0].count == 40 * 20, "\(metric), shift \(shift)")
        }
    }

    /// The vpshufb scan and the reference give the same totals, which are the plain sums of the
    /// table entries the codes pick, and the same masks of the lanes within a limit with and
    /// without per-vector addends; the quantized tables are the same bytes.
    @Test func fastScanMatchesTheReference() throws {
        var rng = SplitMix64(seed: 5)
        for pairs in [1, 3, 8, 96] {
            let blocks = 3
            let codes = (0..<(blocks * pairs * 32)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let limit = min(255, 65535 / (2 * pairs))
            let tables = (0..<(pairs * 32)).map { _ in UInt8(Int.random(in: 0...limit, using: &rng)) }
            var reference = [UInt16](repeating: 0, count: blocks * 32), fast = reference
            var referenceMasks = [UInt32](repeating: 0, count: blocks), fastMasks = referenceMasks
            // A limit near the middle of the totals, and per-vector addends in table units from
            // a floor, so that masks have lanes in and out.
            let middle = Float(pairs * limit), floor: Float = -1.5, scale: Float = 0.75
            let extra = (0..<(blocks * 32)).map { _ in Float.random(in: -1.5...40, using: &rng) }
            KNNKernelsBaseline.FastScan.scan(codes: codes, blocks: blocks, tables: tables, pairs: pairs, totals: &reference, extra: extra,
                                             floor: floor, scale: scale, limit: middle, masks: &referenceMasks)
            for b in 0..<blocks {
                let expected = (0..<32).reduce(UInt32(0)) { $0 | (Float(reference[b * 32 + $1]) + (extra[b * 32 + $1] - floor) * scale <= middle ? 1 << $1 : 0) }
                #expect(referenceMasks[b] == expected && expected != 0 && expected != .max, "pairs \(pairs) block \(b)")
            }
            // Plain sums from the documented layout.
            for b in 0..<blocks {
                for v in 0..<32 {
                    var sum = 0
                    for s in 0..<(2 * pairs) {
                        let byte = codes[b * pairs * 32 + (s / 2) * 32 + (s % 2) * 16 + v % 16]
                        sum += Int(tables[(s / 2) * 32 + (s % 2) * 16 + Int(v < 16 ? byte & 15 : byte >> 4)])
                    }
                    #expect(Int(reference[b * 32 + v]) == sum)
                }
            }
            if KernelVariant.avx2.isSupported {
                KNNKernelsAVX2.FastScan.scan(codes: codes, blocks: blocks, tables: tables, pairs: pairs, totals: &fast, extra: extra,
                                             floor: floor, scale: scale, limit: middle, masks: &fastMasks)
                #expect(fast == reference && fastMasks == referenceMasks, "pairs \(pairs)")
                var withoutExtra = fastMasks
                KNNKernelsAVX2.FastScan.scan(codes: codes, blocks: blocks, tables: tables, pairs: pairs, totals: &fast, extra: nil,
                                             floor: 0, scale: 1, limit: middle, masks: &withoutExtra)
                #expect(withoutExtra == (0..<blocks).map { b in (0..<32).reduce(UInt32(0)) { $0 | (Float(reference[b * 32 + $1]) <= middle ? 1 << $1 : 0) } })
            }
        }
        for subspaces in [1, 5, 16, 192] {
            let terms = (0..<(subspaces * 16)).map { _ in Float.random(in: -3...3, using: &rng) }
            let products = (0..<(subspaces * 16)).map { _ in Float.random(in: -3...3, using: &rng) }
            var least = [Float](repeating: 0, count: subspaces)
            var a = [UInt8](repeating: 7, count: (subspaces + 1) / 2 * 32), b = a
            let first = KNNKernelsBaseline.FastScan.quantize(terms: terms, products: products, subspaces: subspaces, least: &least, into: &a)
            // Each byte is the rounded scaled entry; the widest run reaches the limit.
            let limit = Float(min(255, 65535 / (2 * ((subspaces + 1) / 2))))
            #expect(a.max().map(Float.init) == limit)
            for s in 0..<subspaces {
                for j in 0..<16 {
                    let entry = terms[s * 16 + j] - 2 * products[s * 16 + j]
                    let expected = (entry - least[s]) / first.unscale
                    #expect(abs(Float(a[(s / 2) * 32 + (s % 2) * 16 + j]) - expected) <= 0.5001)
                }
            }
            if KernelVariant.avx2.isSupported {
                let second = KNNKernelsAVX2.FastScan.quantize(terms: terms, products: products, subspaces: subspaces, least: &least, into: &b)
                #expect(a == b && first == second)
            }
        }
    }

    /// The same answers from the reference kernel as from this CPU's.
    @Test(arguments: [true, false])
    func theKernelDoesNotChangeTheAnswer(residual: Bool) {
        let data = HNSWIndexTests.clustered(3000, 48, seed: 6), queries = VectorMatrix(HNSWIndexTests.clustered(100, 48, seed: 7))
        let index = ivfpq(data, .l2, Self.parameters(lists: 40, probe: 5, residual: residual))
        let reference = IVFPQIndex(sharing: index, parameters: index.parameters, kernel: .baseline)
        #expect(searchAll(index, queries: queries, k: 10) == searchAll(reference, queries: queries, k: 10))
    }

    /// Hand-checked layout: one cell of 40 vectors takes two blocks of 32 (24 padding); decoding
    /// each position's nibbles from the blocks gives back the vector's code.
    @Test func fourBitCodesAreLaidOutInBlocks() {
        let n = 40, m = 3
        let quantizer = ProductQuantizer(m: m, bits: 4, dim: 6, codebooks: FloatBuffer(count: m * 16 * 2))
        let cells = AlignedBuffer<Int32>(repeating: 0, count: n)
        let codesByID = AlignedBuffer<UInt8>(count: n * quantizer.codeBytes)
        var rng = SplitMix64(seed: 8)
        for i in 0..<(n * quantizer.codeBytes) { codesByID.pointer[i] = UInt8.random(in: 0...255, using: &rng) & (i % 2 == 1 ? 0x0F : 0xFF) }
        let (starts, ids, codes) = IVFPQIndex.layOut(cells: cells, lists: 1, codesByID: codesByID, quantizer: quantizer)
        #expect(Array(starts.buffer) == [0, 64])
        #expect(Array(ids.buffer) == (0..<40).map(Int32.init) + [Int32](repeating: -1, count: 24))
        for p in 0..<n {
            for s in 0..<m {
                let byte = codes.pointer[(p / 32) * quantizer.pairs * 32 + (s / 2) * 32 + (s % 2) * 16 + p % 16]
                let nibble = Int(p % 32 < 16 ? byte & 15 : byte >> 4)
                #expect(nibble == quantizer.codeword(codesByID.pointer + p * quantizer.codeBytes, subspace: s))
            }
        }
    }

    /// Hand-checked encoding: each subspace takes its nearest codeword, ties to the lower one.
    @Test func encodingPicksTheNearestCodeword() {
        // 2 subspaces of 1 dimension, 16 codewords 0, 1, …, 15 (the second subspace's negated).
        let books = FloatBuffer(count: 32)
        for j in 0..<16 { books.pointer[j] = Float(j); books.pointer[16 + j] = -Float(j) }
        let quantizer = ProductQuantizer(m: 2, bits: 4, dim: 2, codebooks: books)
        var code: [UInt8] = [0]
        quantizer.encode([3.2, -7.5], into: &code)
        // 3.2 → 3; −7.5 is as near −7 as −8: the lower number, 7.
        #expect(quantizer.codeword(code, subspace: 0) == 3 && quantizer.codeword(code, subspace: 1) == 7)
        #expect(code == [0x73])
    }

    @Test func theIndexIsTheSameAtAnyThreadCount() {
        let data = HNSWIndexTests.clustered(1500, 16, seed: 9)
        for bits in [4, 8] {
            let a = ivfpq(data, .cosine, Self.parameters(lists: 30, bits: bits), threads: 1), b = ivfpq(data, .cosine, Self.parameters(lists: 30, bits: bits), threads: 3)
            #expect(Array(a.codes.buffer) == Array(b.codes.buffer) && Array(a.ids.buffer) == Array(b.ids.buffer))
            #expect(Array(a.quantizer.codebooks.buffer) == Array(b.quantizer.codebooks.buffer) && Array(a.centroids.buffer) == Array(b.centroids.buffer))
        }
    }

    @Test func parametersThatDoNotFitAreRefused() {
        #expect(Self.parameters(subspaces: 5).problem(count: 100, dim: 12)?.field == "pq_subspaces")
        #expect(Self.parameters(lists: 200).problem(count: 100, dim: 12)?.field == "lists")
        #expect(Self.parameters(subspaces: 4).problem(count: 100, dim: 12) == nil)
        #expect(IVFPQParameters().resolvedSubspaces(dim: 100) == 50 && IVFPQParameters(bits: 8).resolvedSubspaces(dim: 100) == 25)
        #expect(IVFPQParameters().resolvedSubspaces(dim: 7) == 1)
        // 4-bit sums hold at most 256 subspaces; a prime dimension has no default near dim / 2.
        #expect(Self.parameters(subspaces: 512).problem(count: 100, dim: 1024)?.field == "pq_subspaces")
        #expect(IVFPQParameters().resolvedSubspaces(dim: 4096) == 256)
        #expect(IVFPQParameters().problem(count: 100, dim: 97)?.message == "has no default for dimension 97, which has no divisor near dim / 2; set it to one of 1, 97")
    }

    /// `sweep.indexes` are checked like the job's index, named by their place in the list.
    @Test func sweepIndexesAreCheckedToo() throws {
        let text = #"""
        {"version": 1, "dataset": {"path": "base.npy"}, "queries": "self", "k": 10, "metric": "l2", "index": {"type": "flat"},
         "output": {"path": "out.npy"}, "sweep": {"indexes": [{"type": "ivf"}, {"type": "ivfpq", "pq_subspaces": 7}]}}
        """#
        let spec = try JobSpec.parse(Array(text.utf8), jobPath: "job.json")
        let info = VectorFileInfo(path: "base.npy", format: .npy, rows: 500, dim: 12, element: .float32, fileBytes: 0, memoryMapped: true, hasLabels: false)
        #expect(knnError { try spec.checkIndexesFit(dataset: info) } == .spec(file: "job.json", field: "sweep.indexes[1].pq_subspaces",
                                                                                 message: "is 7, which does not divide the dimension 12 (dataset base.npy)"))
    }
}
