import Foundation
import Testing

/// Inputs as NumPy and pipelines leave them: .npz archives (stored and deflated), int64 arrays,
/// and datasets in many files (a folder, a glob) whose ids continue from file to file.
@Suite(.enabled(if: NumPy.available, "needs python3 with numpy (pip install numpy)"), .skippedUnderThreadSanitizer)
struct InputFilesTests {
    /// Runs a 1-nearest search of `queries` in `dataset` and returns the result's ids and
    /// distances, as "id:distance" per query.
    private func nearest(_ w: Workspace, dataset: String, queries: String = #"{"path": "q.npy"}"#) throws -> (status: Int32, stderr: String, rows: [String]) {
        w.job(["dataset": dataset, "queries": queries, "k": "1", "output": #"{"path": "out.csv"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        let rows = (w.text("out.csv") ?? "").split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",")
            return "\(f[2]):\(f[3])"
        }
        return (run.status, run.stderr, rows)
    }

    @Test func npzArchivesStoredAndDeflated() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np
        rng = np.random.default_rng(5)
        train = rng.normal(size=(300, 10)).astype(np.float32)
        np.savez('stored.npz', train=train, test=train[:3])
        np.savez_compressed('deflated.npz', train=train.astype(np.float64))
        np.save('q.npy', train[[7, 150, 299]])
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        for dataset in [#"{"path": "stored.npz", "array": "train"}"#, #"{"path": "deflated.npz"}"#] {
            let result = try nearest(w, dataset: dataset)
            #expect(result.status == 0 && result.rows == ["7:0.0", "150:0.0", "299:0.0"], "\(dataset): \(result.stderr) \(result.rows)")
        }
        let ambiguous = try nearest(w, dataset: #"{"path": "stored.npz"}"#)
        #expect(ambiguous.status == 65 && ambiguous.stderr.contains(#"stored.npz: the archive holds 2 arrays ("train", "test"); name one with "array""#), "\(ambiguous.stderr)")
        let missing = try nearest(w, dataset: #"{"path": "stored.npz", "array": "val"}"#)
        #expect(missing.status == 65 && missing.stderr.contains(#"no array "val" in the archive (it holds "train", "test")"#), "\(missing.stderr)")
        let misplaced = try nearest(w, dataset: #"{"path": "q.npy", "array": "train"}"#)
        #expect(misplaced.status == 64 && misplaced.stderr.contains("array: applies to npz archives only"), "\(misplaced.stderr)")
    }

    /// A damaged archive member is refused by its checksum, naming the archive and the member.
    @Test func damagedNpzIsRefused() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np
        np.savez('a.npz', x=np.arange(40, dtype=np.float32).reshape(4, 10))
        b = bytearray(open('a.npz', 'rb').read()); b[200] ^= 0xFF; open('a.npz', 'wb').write(b)
        np.save('q.npy', np.zeros((1, 10), dtype=np.float32))
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        let result = try nearest(w, dataset: #"{"path": "a.npz"}"#)
        #expect(result.status == 65 && result.stderr.contains("a.npz: x.npy: CRC-32 mismatch"), "\(result.stderr)")
    }

    @Test func int64ArraysAreConvertedExactlyOrRefused() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np
        np.save('base.npy', np.array([[0, 0], [3, 4], [-16777216, 1]], dtype=np.int64))
        np.save('big.npy', np.array([[0, 0], [16777217, 1]], dtype=np.int64))
        np.save('q.npy', np.array([[3, 5]], dtype=np.int64))
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        let result = try nearest(w, dataset: #"{"path": "base.npy"}"#)
        #expect(result.status == 0 && result.rows == ["1:1.0"], "\(result.stderr) \(result.rows)")
        let big = try nearest(w, dataset: #"{"path": "big.npy"}"#)
        #expect(big.status == 65 && big.stderr.contains("big.npy: vector 1: integer 16777217 at dimension 0 is not exactly a float32"), "\(big.stderr)")
    }

    /// Shards in a folder and by a glob, read in name order with ids continuing; Parquet shards
    /// carry their labels with them.
    @Test func shardedDatasetsContinueIdsAcrossFiles() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, os
        rng = np.random.default_rng(9)
        x = rng.normal(size=(250, 6)).astype(np.float32)
        os.makedirs('parts'); os.makedirs('mixed')
        # Written out of order; read as part-000, part-001, part-002.
        for i, (a, b) in reversed(list(enumerate([(0, 100), (100, 120), (120, 250)]))):
            np.save(f'parts/part-{i:03d}.npy', x[a:b])
        np.save('parts/.hidden.npy', x[:5])
        open('parts/_SUCCESS', 'w').close()
        np.save('mixed/a.npy', x[:10]); x[:10].tofile('mixed/b.bin')
        np.save('mixed/c.npy', x[:10, :5])
        np.save('q.npy', x[[0, 99, 100, 119, 120, 249]])
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        for dataset in [#"{"path": "parts"}"#, #"{"path": "parts/part-*.npy"}"#] {
            let result = try nearest(w, dataset: dataset)
            #expect(result.status == 0 && result.rows == ["0:0.0", "99:0.0", "100:0.0", "119:0.0", "120:0.0", "249:0.0"], "\(dataset): \(result.stderr) \(result.rows)")
        }
        let noMatch = try nearest(w, dataset: #"{"path": "parts/shard-*.npy"}"#)
        #expect(noMatch.status == 64 && noMatch.stderr.contains("path: no file matches"), "\(noMatch.stderr)")
        let mismatched = try nearest(w, dataset: #"{"path": "mixed"}"#)
        #expect(mismatched.status == 65 && mismatched.stderr.contains("c.npy: vectors have dimension 5 but the first file"), "\(mismatched.stderr)")
    }

    /// A saved index over a sharded dataset is reused while no shard changes, and rebuilt, with
    /// a warning, once one is rewritten or another is added.
    @Test func aSavedIndexFollowsItsShards() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, os
        x = np.random.default_rng(12).normal(size=(300, 8)).astype(np.float32)
        os.makedirs('parts')
        np.save('parts/part-0.npy', x[:150]); np.save('parts/part-1.npy', x[150:])
        np.save('q.npy', x[[3, 200]])
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        w.job(["dataset": #"{"path": "parts"}"#, "queries": #"{"path": "q.npy"}"#, "k": "1", "index": #"{"type": "hnsw", "path": "parts.knnindex"}"#,
               "output": #"{"path": "out.csv"}"#])
        func action() throws -> String? {
            let report = try JSONSerialization.jsonObject(with: Data(try #require(w.read("out.csv.report.json")))) as? [String: Any]
            return ((report?["index"] as? [String: Any])?["file"] as? [String: Any])?["action"] as? String
        }
        var actions: [String?] = []
        for change in ["", "", "np.save('parts/part-1.npy', np.load('parts/part-1.npy')[::-1].copy())", "np.save('parts/part-2.npy', np.zeros((5, 8), np.float32) + 9)", ""] {
            if !change.isEmpty { try #require(try NumPy.run("import numpy as np\n\(change)\nprint('ok')", in: w.path) == "ok") }
            let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
            actions.append(try action())
        }
        #expect(actions == ["built", "loaded", "rebuilt", "rebuilt", "loaded"], "\(actions)")
        #expect(w.text("out.csv")?.hasPrefix("query,rank,id,distance\n0,1,3,0.0\n") == true, "\(w.text("out.csv") ?? "")")
    }

    @Test(.enabled(if: Python.has("pyarrow"), "needs pyarrow"))
    func parquetShardsWithLabels() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq, os
        x = np.arange(40, dtype=np.float32).reshape(10, 4)
        os.makedirs('emb')
        for i in range(2):
            rows = slice(5 * i, 5 * i + 5)
            pq.write_table(pa.table({'doc': [f'd{j}' for j in range(10)][rows], 'v': pa.array(list(x[rows]))}), f'emb/part-{i}.parquet')
        np.save('q.npy', x[[2, 7]] + 0.5)
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        w.job(["dataset": #"{"path": "emb/*.parquet", "label_column": "doc"}"#, "queries": #"{"path": "q.npy"}"#, "k": "1", "output": #"{"path": "out.csv"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(w.text("out.csv") == "query,rank,id,distance,label\n0,1,2,1.0,d2\n1,1,7,1.0,d7\n", "\(w.text("out.csv") ?? "")")
    }
}
