import Testing
@testable import KNNCore

@Suite struct PlannerTests {
    func covered(_ planner: Planner) -> [Int] {
        (0..<planner.blockCount).flatMap { b -> [Int] in
            let block = planner.block(b)
            return planner.slices(ofBlockWith: block.count).flatMap { ($0.lowerBound + block.lowerBound)..<($0.upperBound + block.lowerBound) }
        }
    }

    @Test(arguments: [(1, 1, nil, nil), (10, 2, 3, 2), (1000, 2, nil, nil), (100_000, 3, nil, nil), (77, 4, 10, 100), (5, 8, nil, nil)] as [(Int, Int, Int?, Int?)])
    func blocksAndSlicesCoverEveryQueryOnceInOrder(queries: Int, threads: Int, block: Int?, slice: Int?) {
        let planner = Planner(queryCount: queries, k: 10, threads: threads, blockQueries: block, sliceQueries: slice)
        #expect(covered(planner) == Array(0..<queries))
    }

    @Test func blockResultsAreBoundedWhateverTheQueryCount() {
        let planner = Planner(queryCount: 10_000_000, k: 10, threads: 2)
        #expect(planner.blockSize == Planner.defaultBlockQueries)
        #expect(planner.blockCount == (10_000_000 + planner.blockSize - 1) / planner.blockSize)
        // A large k shrinks blocks so that one block's results stay under the cap.
        let wide = Planner(queryCount: 10_000_000, k: 1000, threads: 2)
        #expect(wide.blockSize * 1000 * 12 <= Planner.blockResultBytes)
        // The cap holds even when the job asks for more.
        let asked = Planner(queryCount: 10_000_000, k: 1 << 20, threads: 2, blockQueries: 1_000_000)
        #expect(asked.blockSize * (1 << 20) * 12 <= Planner.blockResultBytes)
        // The block search's scratch per query counts too: 64 MiB / (120 + 12,000) bytes per query
        // is 5,537 queries; with 1,536 bytes more, 4,914.
        let deferred = Planner(queryCount: 10_000_000, k: 10, threads: 2, scratch: BlockScratch(perQuery: 12_000, perWorker: 0))
        #expect(deferred.blockSize == 5537)
        #expect(Planner(queryCount: 10_000_000, k: 10, threads: 2, scratch: BlockScratch(perQuery: 13_536, perWorker: 1 << 20)).blockSize == 4914)
    }

    @Test func smallBlocksAreSplitAcrossWorkers() {
        let planner = Planner(queryCount: 24, k: 10, threads: 2)
        #expect(planner.slices(ofBlockWith: 24) == [0..<12, 12..<24])
        #expect(Planner(queryCount: 3, k: 10, threads: 4).slices(ofBlockWith: 3) == [0..<1, 1..<2, 2..<3])
    }

    /// Slices come in a multiple of the workers, equal, never above the slice size: 10,000
    /// queries in slices of at most 2,048 on 2 workers are 6 of 1,666 or 1,667 (not 4 × 2,048 + 1,808,
    /// which leaves one worker alone on the last); 16,384 in slices of 256 stay 64 of 256.
    @Test func slicesKeepEveryWorkerBusy() {
        let ivf = Planner(queryCount: 10_000, k: 10, threads: 2, sliceQueries: 2048)
        #expect(ivf.slices(ofBlockWith: 10_000).map(\.count) == [1666, 1667, 1667, 1666, 1667, 1667])
        let flat = Planner(queryCount: 16_384, k: 10, threads: 2, sliceQueries: 256)
        #expect(flat.slices(ofBlockWith: 16_384) == (0..<64).map { ($0 * 256)..<(($0 + 1) * 256) })
        for threads in 1...5 {
            let planner = Planner(queryCount: 100_000, k: 10, threads: threads, sliceQueries: 300)
            for rows in [1, 7, 299, 301, 1000, 16_384] {
                let slices = planner.slices(ofBlockWith: rows)
                #expect(slices.first?.lowerBound == 0 && slices.last?.upperBound == rows && zip(slices, slices.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                let sizes = slices.map(\.count)
                #expect(sizes.max()! <= 300 && sizes.max()! - sizes.min()! <= 1 && (slices.count % threads == 0 || slices.count == rows), "\(threads) \(rows) \(sizes)")
            }
        }
    }
}
