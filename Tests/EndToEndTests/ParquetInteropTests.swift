import Foundation
import Testing

/// Parquet files as pyarrow, pandas and Polars write them load with the right shape, values and
/// labels: each file's vectors are also saved as .npy, and a 1-nearest self-search of the npy
/// rows in the Parquet dataset must find every row itself at distance 0 (the rows are distinct
/// random vectors, so only identical values give that). `.ci/run` installs the packages;
/// elsewhere each suite says why it skipped.
@Suite(.enabled(if: Python.has("pyarrow"), "needs python3 with pyarrow and numpy (pip install pyarrow numpy)"), .skippedUnderThreadSanitizer)
struct ParquetInteropTests {
    /// Writes `table` (a Python expression over `x`, a 700 × 12 float32 matrix) with `write`
    /// (a call over `t` and `path`), then checks the search result.
    private func loadsExactly(_ w: Workspace, make table: String, write: String, before: String = "pass", dataset: String = #"{"path": "data.parquet"}"#) throws {
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        rng = np.random.default_rng(7)
        x = rng.normal(size=(700, 12)).astype(np.float32)
        \(before)
        np.save('x.npy', x)
        t = \(table)
        path = 'data.parquet'
        \(write)
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        w.job(["dataset": dataset, "queries": #"{"path": "x.npy"}"#, "k": "1", "output": #"{"path": "out.npy"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let check = try NumPy.run("""
        import numpy as np
        r = np.load('out.npy')
        assert r.shape == (700, 1), r.shape
        assert (r['id'][:, 0] == np.arange(700)).all(), r['id'][:8, 0]
        assert (r['distance'] == 0).all(), r['distance'].max()
        print('ok')
        """, in: w.path)
        #expect(check == "ok", "\(table) / \(write): \(check)")
    }

    /// Every codec, both data page versions, dictionary pages (with the fall-back to plain pages
    /// when the dictionary fills), plain and byte-stream-split values, many row groups and pages.
    @Test(arguments: [
        "compression='none'",
        "compression='snappy'",
        "compression='gzip'",
        "compression='zstd'",
        "compression='zstd', data_page_version='2.0'",
        "compression='snappy', data_page_version='2.0', use_dictionary=False",
        "compression='gzip', dictionary_pagesize_limit=2000",
        "compression='none', use_dictionary=False, use_byte_stream_split=True",
        "compression='zstd', compression_level=19, use_dictionary=False",
    ])
    func pyarrowListColumns(options: String) throws {
        try loadsExactly(Workspace(), make: "pa.table({'id': np.arange(700), 'embedding': pa.array(list(x), type=pa.list_(pa.float32()))})",
                         write: "pq.write_table(t, path, \(options), row_group_size=160, data_page_size=3000)")
    }

    /// The element types and list kinds pyarrow writes for vectors: fixed_size_list, double and
    /// half-precision elements (exact here: the values are rounded to float16 first), a
    /// non-nullable field, and a vector column that is not the first.
    @Test(arguments: [
        "pa.table({'v': pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 12)})",
        "pa.table({'v': pa.array(list(x.astype(np.float64)), type=pa.list_(pa.float64()))})",
        "pa.table({'n': pa.array([str(i) for i in range(700)]), 'v': pa.array(list(x), type=pa.large_list(pa.float32()))})",
        "pa.Table.from_arrays([pa.array(list(x), type=pa.list_(pa.field('item', pa.float32(), nullable=False)))], schema=pa.schema([pa.field('v', pa.list_(pa.field('item', pa.float32(), nullable=False)), nullable=False)]))",
    ])
    func pyarrowVectorTypes(table: String) throws {
        try loadsExactly(Workspace(), make: table, write: "pq.write_table(t, path, row_group_size=300)")
    }

    @Test func halfPrecisionVectors() throws {
        try loadsExactly(Workspace(), make: "pa.table({'v': pa.array(list(x.astype(np.float16)), type=pa.list_(pa.float16()))})",
                         write: "pq.write_table(t, path)", before: "x = x.astype(np.float16).astype(np.float32)")
    }

    /// pandas: a column of arrays with each codec, and (the other common layout) one float64
    /// column per dimension beside a string column, which is read as the labels.
    @Test(.enabled(if: Python.has("pandas"), "needs pandas"))
    func pandasFiles() throws {
        for codec in ["'snappy'", "'gzip'", "'zstd'", "None"] {
            try loadsExactly(Workspace(), make: "__import__('pandas').DataFrame({'id': np.arange(700), 'embedding': list(x)})",
                             write: "t.to_parquet(path, compression=\(codec))")
        }
        let w = Workspace()
        try loadsExactly(w, make: "__import__('pandas').DataFrame({**{f'f{j}': x[:, j].astype(np.float64) for j in range(12)}, 'word': [f'w{i}' for i in range(700)]})",
                         write: "t.to_parquet(path, compression='gzip')", dataset: #"{"path": "data.parquet", "label_column": "word"}"#)
        w.job(["dataset": #"{"path": "data.parquet", "label_column": "word"}"#, "queries": #"{"path": "data.parquet", "label_column": "word"}"#,
               "k": "1", "output": #"{"path": "out.csv"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = w.text("out.csv")?.split(separator: "\n") ?? []
        #expect(lines.count == 701 && lines[0] == "query,rank,id,distance,query_label,label" && lines[5] == "4,1,4,0.0,w4,w4", "\(lines.prefix(6))")
    }

    @Test(.enabled(if: Python.has("polars"), "needs polars"))
    func polarsFiles() throws {
        // Polars writes with its own writer (zstd by default); an Array column and a List column.
        try loadsExactly(Workspace(), make: "__import__('polars').DataFrame({'id': np.arange(700), 'emb': x})",
                         write: "t.write_parquet(path, row_group_size=200)")
        try loadsExactly(Workspace(), make: "__import__('polars').DataFrame({'emb': [list(map(float, r)) for r in x]}).cast({'emb': __import__('polars').List(__import__('polars').Float32)})",
                         write: "t.write_parquet(path, compression='snappy')")
    }

    /// Integer ids as labels: the CSV output shows them beside the row numbers.
    @Test func integerLabelColumn() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        x = np.eye(4, dtype=np.float32) * np.arange(1, 5, dtype=np.float32)[:, None]
        pq.write_table(pa.table({'doc': np.array([40, 10, 30, 20]), 'v': pa.array(list(x))}), 'data.parquet', row_group_size=3)
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        w.job(["dataset": #"{"path": "data.parquet", "label_column": "doc"}"#, "queries": #""self""#, "k": "1", "output": #"{"path": "out.csv"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        // Rows e1, 2·e2, 3·e3, 4·e4: each one's nearest other row is row 0 (distances √5, √10, √17 from rows 1-3; √5 for row 0 is row 1).
        #expect(w.text("out.csv") == "query,rank,id,distance,query_label,label\n0,1,1,2.236068,40,10\n1,1,0,2.236068,10,40\n2,1,0,3.1622777,30,40\n3,1,0,4.1231055,20,40\n", "\(w.text("out.csv") ?? "")")
    }

    /// Unsigned ids (pyarrow's uint32 and uint64, stored as INT32/INT64 annotated unsigned) are
    /// printed unsigned; an empty row group (what writing an empty table leaves) is skipped.
    @Test func unsignedLabelsAndEmptyRowGroups() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        x = np.array([[0, 0], [1, 0]], dtype=np.float32)
        for name, ids in [('u64', pa.array([2**64 - 1, 2**63], type=pa.uint64())), ('u32', pa.array([3000000000, 7], type=pa.uint32()))]:
            t = pa.table({'id': ids, 'v': pa.array(list(x))})
            with pq.ParquetWriter(name + '.parquet', t.schema) as writer:
                writer.write_table(t.slice(0, 0))
                writer.write_table(t)
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        for (name, labels) in [("u64", ("18446744073709551615", "9223372036854775808")), ("u32", ("3000000000", "7"))] {
            w.job(["dataset": "{\"path\": \"\(name).parquet\", \"label_column\": \"id\"}", "queries": #""self""#, "k": "1", "output": #"{"path": "out.csv"}"#])
            let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(w.text("out.csv") == "query,rank,id,distance,query_label,label\n0,1,1,1.0,\(labels.0),\(labels.1)\n1,1,0,1.0,\(labels.1),\(labels.0)\n", "\(w.text("out.csv") ?? "")")
        }
    }

    /// Spark-style output: a folder of part files, one of them empty, beside _SUCCESS.
    @Test func sparkStyleFoldersWithEmptyParts() throws {
        let w = Workspace()
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq, os
        x = np.random.default_rng(4).normal(size=(30, 5)).astype(np.float32)
        os.makedirs('out')
        schema = pa.schema([('v', pa.list_(pa.float32()))])
        pq.write_table(pa.table({'v': pa.array([], type=pa.list_(pa.float32()))}), 'out/part-00000.parquet')
        pq.write_table(pa.table({'v': pa.array(list(x[:10]))}), 'out/part-00001.parquet')
        pq.write_table(pa.table({'v': pa.array(list(x[10:]))}), 'out/part-00002.parquet')
        open('out/_SUCCESS', 'w').close()
        np.save('q.npy', x[[0, 29]])
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        for dataset in [#"{"path": "out"}"#, #"{"path": "out", "format": "parquet"}"#] {
            w.job(["dataset": dataset, "queries": #"{"path": "q.npy"}"#, "k": "1", "output": #"{"path": "r.csv"}"#])
            let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(dataset): \(run.stderr)")
            #expect(w.text("r.csv") == "query,rank,id,distance\n0,1,0,0.0\n1,1,29,0.0\n", "\(w.text("r.csv") ?? "")")
        }
    }

    /// What the reader refuses, each with the file, the place and the reason, exit 65, and no output.
    @Test(arguments: [
        ("pa.table({'v': pa.array([[1.0, 2.0], None, [3.0, 4.0]], type=pa.list_(pa.float32()))})", "{}", "row group 0: row 1: the vector in column \"v\" is null"),
        ("pa.table({'v': pa.array([[1.0, 2.0], [3.0, None], [3.0, 4.0]], type=pa.list_(pa.float32()))})", "{}", "row 1: the vector in column \"v\" is null or empty, or holds a null"),
        ("pa.table({'v': pa.array([[1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0]], type=pa.list_(pa.float32()))})", "{}", "row 1: the vector in column \"v\" has more than the 2 values the first row has"),
        ("pa.table({'v': pa.array([[1.0, 2.0], [3.0], [6.0, 7.0], [1.0, 1.0]], type=pa.list_(pa.float32()))})", "{}", "row 1: the vector in column \"v\" has 1 value where the first row has 2"),
        ("pa.table({'a': pa.array([[1.0]]), 'b': pa.array([[2.0]])})", "{}", "several vector columns (\"a\" (list of DOUBLE), \"b\" (list of DOUBLE)): name one with \"column\""),
        ("pa.table({'a': pa.array([[1.0]])})", #"{"column": "emb"}"#, "no column \"emb\" (the file has \"a\" (list of DOUBLE))"),
        ("pa.table({'a': pa.array([[1]])})", "{}", "no floating-point column to read vectors from (the file has \"a\" (list of INT64))"),
        ("pa.table({'a': pa.array([[1.0]]), 'l': pa.array([[1]])})", #"{"label_column": "l"}"#, "label column \"l\" (list of INT64) must be INT32, INT64 or a string, one per row"),
        ("pa.table({'a': pa.array([[1.0]]), 'l': pa.array([None], type=pa.int64())})", #"{"label_column": "l"}"#, "row 0: column \"l\" is null"),
        ("(t0 := pa.table({'a': pa.array([[1.0]])}), pq.write_table(t0, 'data.parquet', compression='lz4'), t0)[-1]", #"{"_lz4": true}"#, "compression LZ4_RAW is not supported (none, SNAPPY, GZIP and ZSTD are)"),
    ])
    func refusedFiles(table: String, options: String, message: String) throws {
        let w = Workspace()
        let lz4 = options.contains("_lz4")
        let made = try NumPy.run("""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        t = \(table)
        if not \(lz4 ? "True" : "False"): pq.write_table(t, 'data.parquet', row_group_size=2)
        print('ok')
        """, in: w.path)
        try #require(made == "ok", "\(made)")
        var dataset = #"{"path": "data.parquet""#
        if !lz4 && options != "{}" { dataset += ", " + options.dropFirst().dropLast() }
        dataset += "}"
        w.job(["dataset": dataset, "queries": #""self""#, "k": "1", "output": #"{"path": "out.csv"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 65 && run.stderr.contains("data.parquet: ") && run.stderr.contains(message), "\(run.stderr)")
        #expect(!w.exists("out.csv"))
    }
}

enum Python {
    /// Whether python3 can import `module` (CI installs what the suites need, so there they run).
    static func has(_ module: String) -> Bool {
        if ProcessInfo.processInfo.environment["CI"] != nil { return true }
        return (try? NumPy.run("import \(module), numpy; print('ok')", in: NSTemporaryDirectory())) == "ok"
    }
}
