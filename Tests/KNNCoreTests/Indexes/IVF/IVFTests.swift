import Testing
@testable import KNNCore

@Suite struct IVFTests {
    func ivf(_ data: [[Float]], _ metric: Metric, _ parameters: IVFParameters, threads: Int = 2) -> IVFIndex {
        IVFIndex(data: VectorMatrix(data), metric: metric, parameters: parameters, threads: threads)
    }

    /// The ids of cell `c`, in layout order.
    func members(_ index: IVFIndex, cell c: Int) -> [Int] {
        let lanes = PanelMatrix.lanes
        return (index.cellStarts.pointer[c] * lanes..<index.cellStarts.pointer[c + 1] * lanes).map { Int(index.ids.pointer[$0]) }.filter { $0 >= 0 }
    }

    @Test(.skippedUnderThreadSanitizer, arguments: Metric.allCases)
    func defaultsReachTheRecallFloor(metric: Metric) throws {
        let data = HNSWIndexTests.clustered(4000, 32, seed: 1), queries = HNSWIndexTests.clustered(200, 32, seed: 2)
        let index = ivf(data, metric, IVFParameters())
        #expect(index.lists == 253 && index.probe == 8)
        let r = recall(searchAll(index, queries: VectorMatrix(queries), k: 10), try exactNeighbours(data, queries, metric))
        // Observed with the defaults (253 lists, 8 probes): l2 0.996, sqeuclidean 0.996, cosine 0.997, ip 0.999.
        #expect(r >= 0.97, "\(metric): \(r)")
    }

    /// Each query's answer is exactly the oracle's k nearest among the vectors of its `probe`
    /// nearest cells (by the reference search over the centroids): ids, ties by id, and distance
    /// bits — block by block on two workers and in one slice alike, self-join included.
    @Test(arguments: Metric.allCases, [false, true])
    func theAnswerIsExactOverTheProbedCells(metric: Metric, selfJoin: Bool) throws {
        // Grid values: many ties; copies of rows: equal vectors in one cell.
        var data = Fixtures.gridVectors(1500, 24, seed: 3)
        for i in stride(from: 0, to: 1500, by: 13) { data[i] = data[7] }
        let queries = selfJoin ? data : Fixtures.gridVectors(60, 24, seed: 4)
        let index = ivf(data, metric, IVFParameters(lists: 20, probe: 3))
        let preparedQueries = try VectorMatrix(queries).prepared(for: metric)
        let centroids = VectorMatrix(rows: index.lists, dim: 24, stride: 24, base: UnsafePointer(index.centroids.pointer), owner: index.centroids)
        let probed = searchAll(ReferenceFlatIndex(data: centroids, metric: metric == .ip ? .ip : .sqeuclidean), queries: preparedQueries, k: 3)
        let everything = try exactNeighbours(data, queries, metric, k: data.count)
        let expected = (0..<queries.count).map { q -> [Neighbor] in
            let allowed = Set(probed[q].flatMap { members(index, cell: $0.id) })
            return Array(everything[q].filter { allowed.contains($0.id) && !(selfJoin && $0.id == q) }.prefix(10))
        }
        let found = searchAll(index, queries: VectorMatrix(queries), k: 10, selfJoin: selfJoin)
        #expect(found == expected)
        #expect(searchEachSlice(index, queries: VectorMatrix(queries), k: 10, selfJoin: selfJoin) == expected)
    }

    /// Probing every cell scans every vector: the oracle's answer, ids and distance bits.
    @Test(arguments: Metric.allCases)
    func probingEveryCellIsTheOracle(metric: Metric) throws {
        let data = Fixtures.gridVectors(900, 16, seed: 5), queries = Fixtures.gridVectors(40, 16, seed: 6)
        let index = ivf(data, metric, IVFParameters(lists: 9, probe: 9))
        #expect(searchAll(index, queries: VectorMatrix(queries), k: 7) == (try exactNeighbours(data, queries, metric, k: 7)))
    }

    /// Hand-checked: two squares of four points far apart make the two cells, centroids at their
    /// centres; with one probe a query sees only its own square, nearest first, ties by id.
    @Test func twoSquaresMakeTwoCells() throws {
        let data: [[Float]] = [[0, 0], [1, 0], [0, 1], [1, 1], [10, 10], [11, 10], [10, 11], [11, 11]]
        let index = ivf(data, .l2, IVFParameters(lists: 2, probe: 1))
        let cells = (0..<2).map { members(index, cell: $0) }.sorted { $0[0] < $1[0] }
        #expect(cells == [[0, 1, 2, 3], [4, 5, 6, 7]])
        let centres = (0..<2).map { [index.centroids.pointer[$0 * 2], index.centroids.pointer[$0 * 2 + 1]] }.sorted { $0[0] < $1[0] }
        #expect(centres == [[0.5, 0.5], [10.5, 10.5]])
        let found = searchAll(index, queries: VectorMatrix([[2, 2], [9, 9]]), k: 6)
        #expect(found.map { $0.map(\.id) } == [[3, 1, 2, 0], [4, 5, 6, 7]])
        #expect(found[0].map(\.distance) == [Float(2).squareRoot(), Float(5).squareRoot(), Float(5).squareRoot(), Float(8).squareRoot()])
    }

    /// Two groups of equal rows: whichever rows seed k-means — two copies of one point leave a
    /// cell empty, which takes half of the full one — the cells end as the two groups.
    @Test func anEmptyCellIsSplitOff() {
        let data = (0..<300).map { i -> [Float] in i % 2 == 0 ? [0, 0, 0] : [4, 0, 0] }
        for seed in 1...8 as ClosedRange<UInt64> {
            let index = ivf(data, .l2, IVFParameters(lists: 2, probe: 1, seed: seed))
            #expect(Set((0..<2).map { members(index, cell: $0).count }) == [150], "seed \(seed)")
        }
    }

    /// The same centroids and layout at any thread count, and from a sample when train_size is smaller.
    @Test func theIndexIsTheSameAtAnyThreadCount() {
        let data = HNSWIndexTests.clustered(5000, 20, seed: 8)
        for parameters in [IVFParameters(lists: 40), IVFParameters(lists: 40, trainSize: 1000)] {
            let a = ivf(data, .cosine, parameters, threads: 1), b = ivf(data, .cosine, parameters, threads: 3)
            #expect(Array(a.centroids.buffer) == Array(b.centroids.buffer))
            #expect(Array(a.ids.buffer) == Array(b.ids.buffer) && Array(a.cellStarts.buffer) == Array(b.cellStarts.buffer))
            #expect(a.trainSize == parameters.trainSize ?? 5000)
        }
    }

    /// More probes find more, and the tuning ladder ends with every cell.
    @Test func moreProbesFindMore() throws {
        // Uniform data: no clusters for the cells to follow.
        let data = Fixtures.randomVectors(4000, 16, seed: 9), queries = Fixtures.randomVectors(100, 16, seed: 10)
        let expected = try exactNeighbours(data, queries, .l2)
        let index = ivf(data, .l2, IVFParameters(lists: 64))
        #expect(index.knobLadder(k: 10) == [1, 2, 4, 8, 16, 32, 64])
        let recalls = [1, 4, 16, 64].map { recall(searchAll(index.withKnob($0).index, queries: VectorMatrix(queries), k: 10), expected) }
        // Observed: 0.28, 0.60, 0.92, 1.0.
        #expect(zip(recalls, recalls.dropFirst()).allSatisfy { $0 <= $1 }, "\(recalls)")
        #expect(recalls[0] < 0.5 && recalls[2] >= 0.85 && recalls[3] == 1, "\(recalls)")
    }

    /// Parameters the dataset cannot take are refused naming the field, before any work.
    @Test func parametersThatDoNotFitAreRefused() {
        #expect(IVFParameters(lists: 51).problem(count: 50, dim: 4)?.field == "lists")
        #expect(IVFParameters(probe: 50).problem(count: 100, dim: 4)?.field == "probe")
        #expect(IVFParameters(lists: 20, trainSize: 10).problem(count: 100, dim: 4)?.field == "train_size")
        #expect(IVFParameters(lists: 50, probe: 50).problem(count: 50, dim: 4) == nil)
        let info = VectorFileInfo(path: "d.npy", format: .npy, rows: 50, dim: 4, element: .float32, fileBytes: 0, memoryMapped: true, hasLabels: false)
        do throws(KNNError) {
            try IndexSpec(IVFParameters(lists: 51)).checkFits(dataset: info, jobPath: "job.json")
            Issue.record("no error")
        } catch {
            #expect(error == .spec(file: "job.json", field: "index.lists", message: "is 51, more than the dataset's 50 vectors (each cell needs one) (dataset d.npy)"))
            #expect(error.exitCode == 64)
        }
    }

    /// A build over fewer rows than lists (an appended range, a dataset shard) makes one cell per row.
    @Test func fewerRowsThanListsMakeOneCellEach() throws {
        let data = Fixtures.randomVectors(5, 3, seed: 11)
        let index = ivf(data, .l2, IVFParameters(lists: 64, probe: 64))
        #expect(index.lists == 5)
        #expect(searchAll(index, queries: VectorMatrix(data), k: 5) == (try exactNeighbours(data, data, .l2, k: 5)))
    }
}

/// k-means scores with int16 codes where the CPU makes them fast, the sample's rows coded once
/// against a fixed centre; the exact keys decide, so the centroids are the float32 scoring's,
/// bit for bit.
@Suite struct KMeansScoringTests {
    @Test(arguments: [(72, 0.0), (65, 0.0), (96, 1e4)])
    func int16AndFloat32ScoringTrainTheSameCentroids(dim: Int, offset: Double) {
        // Clustered rows with copies (exact ties between cells), off the origin in the last case.
        var data = HNSWIndexTests.clustered(3000, dim, seed: 21).map { $0.map { $0 + Float(offset) } }
        for i in stride(from: 0, to: 3000, by: 17) { data[i] = data[5] }
        let sample = VectorMatrix(data)
        let float32 = KMeans.train(sample: sample, lists: 70, iterations: 6, seed: 3, threads: 2, scoring: .float32)
        let int16 = KMeans.train(sample: sample, lists: 70, iterations: 6, seed: 3, threads: 2, scoring: .int16)
        #expect(float32.buffer.map(\.bitPattern) == int16.buffer.map(\.bitPattern))
    }
}
