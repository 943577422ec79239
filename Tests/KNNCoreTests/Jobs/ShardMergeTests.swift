import Foundation
import Testing
@testable import KNNCore

@Suite struct ShardMergeTests {
    @Test(arguments: [(10, 3), (3, 9), (0, 2), (1_000_003, 7), (5, 1)])
    func shardRangesCoverEveryRowOnceInOrder(total: Int, count: Int) {
        let ranges = (0..<count).map { Shard(index: $0, count: count).range(of: total) }
        #expect(ranges.flatMap { Array($0) } == Array(0..<total))
        let sizes = ranges.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
    }

    @Test func shardParsingAndTheEnvironment() throws {
        #expect(try Shard.parse("2/5") == Shard(index: 2, count: 5))
        for bad in ["5/5", "-1/3", "1", "a/b", "0/0", "1/3/4"] { #expect(throws: KNNError.self) { try Shard.parse(bad) } }
        #expect(try Shard.fromEnvironment([:], count: nil) == nil)
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"], count: nil)?.shard == Shard(index: 3, count: 4))
        // --shards wins over the array's count (a task resubmitted alone has a count of 1).
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "1"], count: 4)?.shard == Shard(index: 3, count: 4))
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], count: 2)?.shard == Shard(index: 0, count: 2))
        #expect(throws: KNNError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], count: nil) }
        #expect(throws: KNNError.self) { try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"], count: nil) }
    }

    /// Writes one part per list of (id, reported distance) rows, k wide, for query 0 on.
    func parts(_ folder: TemporaryFolder, _ lists: [[[(Int64, Float)]]], k: Int) throws -> [ShardPartReader] {
        try lists.enumerated().map { p, rows in
            let shard = Shard(index: p, count: lists.count)
            let header = ShardPart.Header(job: "test", shard: shard, shardBy: .dataset, k: k, queryCount: rows.count, queries: 0..<rows.count,
                                          datasetRows: 100, rows: shard.range(of: 100))
            let table = ResultTable(capacity: rows.count, k: k)
            for (row, list) in rows.enumerated() {
                for (rank, pair) in list.enumerated() { (table.ids[row * k + rank], table.distances[row * k + rank]) = pair }
            }
            let path = folder.file("part-\(p)")
            let writer = try ShardPartWriter(path: path, header: header)
            try writer.write(table, rows: rows.count)
            try writer.publish()
            return try ShardPartReader(path: path)
        }
    }

    func merged(_ readers: [ShardPartReader], k: Int, metric: Metric, queries: Int) -> [[(Int64, Float)]] {
        let merger = NeighbourMerger(parts: readers.count, k: k, metric: metric)
        let table = ResultTable(capacity: queries, k: k)
        for q in 0..<queries { merger.merge(readers, query: q, into: table, row: q) }
        return (0..<queries).map { q in (0..<k).map { (table.id(row: q, rank: $0), table.distance(row: q, rank: $0)) } }
    }

    @Test func handCheckedMerges() throws {
        let folder = TemporaryFolder()
        let inf = Float.infinity
        // l2: equal distances across parts go by id; a short list's padding comes last.
        var readers = try parts(folder, [[[(0, 1), (2, 2), (-1, inf)]], [[(5, 1), (7, 1.5), (9, 3)]]], k: 3)
        #expect(merged(readers, k: 3, metric: .l2, queries: 1).map { $0.map(\.0) } == [[0, 5, 7]])
        #expect(merged(readers, k: 3, metric: .l2, queries: 1).map { $0.map(\.1) } == [[1, 1, 1.5]])
        // ip: the largest product first, ties by id.
        readers = try parts(folder, [[[(3, 3), (1, 2)]], [[(0, 3), (6, 2.5)]]], k: 2)
        #expect(merged(readers, k: 2, metric: .ip, queries: 1).map { $0.map(\.0) } == [[0, 3]])
        // Too few neighbours in all: padded.
        readers = try parts(folder, [[[(4, 0.5), (-1, inf)]], [[(-1, inf), (-1, inf)]]], k: 2)
        #expect(merged(readers, k: 2, metric: .cosine, queries: 1).map { $0.map(\.0) } == [[4, -1]])
        #expect(merged(readers, k: 2, metric: .cosine, queries: 1)[0][1].1 == inf)
    }

    /// Seeded lists on a coarse grid of distances (many ties) merge to a sort of all of them.
    @Test(arguments: [1, 2, 5, 17])
    func mergeEqualsSortingEveryCandidate(partCount: Int) throws {
        let folder = TemporaryFolder()
        var random = SplitMix64(seed: UInt64(partCount))
        let k = 6, queries = 40
        var lists: [[[(Int64, Float)]]] = Array(repeating: [], count: partCount)
        var expected: [[(Int64, Float)]] = []
        for _ in 0..<queries {
            var all: [(Int64, Float)] = []
            for p in 0..<partCount {
                let count = Int(random.next() % UInt64(k + 1))
                var list = (0..<count).map { _ in (Int64(p * 1000) + Int64(random.next() % 1000), Float(random.next() % 8) / 4) }
                list = Dictionary(list.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a }).map { ($0.key, $0.value) }
                list.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                all += list
                lists[p].append(list + Array(repeating: (-1, .infinity), count: k - list.count))
            }
            all.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            expected.append(Array(all.prefix(k)) + Array(repeating: (-1, .infinity), count: max(0, k - all.count)))
        }
        let got = merged(try parts(folder, lists, k: k), k: k, metric: .sqeuclidean, queries: queries)
        #expect(got.map { $0.map(\.0) } == expected.map { $0.map(\.0) })
        #expect(got.map { $0.map(\.1) } == expected.map { $0.map(\.1) })
    }

    @Test func aPartIsReadBackAsWrittenAndATruncatedOneIsRefused() throws {
        let folder = TemporaryFolder()
        let readers = try parts(folder, [[[(3, 0.25), (8, 0.5), (-1, .infinity)], [(1, 2), (2, 2), (4, 9)]]], k: 3)
        let part = readers[0]
        #expect(part.header.queries == 0..<2 && part.header.k == 3 && part.header.shardBy == .dataset)
        #expect((0..<3).map { part.id(query: 1, rank: $0) } == [1, 2, 4])
        #expect((0..<3).map { part.distance(query: 0, rank: $0) } == [0.25, 0.5, .infinity])
        let bytes = folder.contents("part-0")
        folder.write("short", Array(bytes.dropLast(1)))
        #expect(throws: KNNError.self) { try ShardPartReader(path: folder.file("short")) }
        folder.write("other", Array("not a part".utf8))
        #expect(throws: KNNError.self) { try ShardPartReader(path: folder.file("other")) }
    }
}
