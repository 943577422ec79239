import Foundation
import Testing
@testable import KNNCore

@Suite struct JobSpecTests {
    func parse(_ text: String, path: String = "jobs/job.json") throws -> JobSpec {
        try JobSpec.parse(Array(text.utf8), jobPath: path)
    }

    func specError(_ text: String) -> (field: String?, message: String)? {
        guard case .spec(let file, let field, let message)? = knnError({ _ = try parse(text) }) else { return nil }
        #expect(file == "jobs/job.json")
        return (field, message)
    }

    let minimal = #"""
    {"version": 1, "dataset": {"path": "base.fvecs"}, "queries": {"path": "q.npy"}, "k": 10,
     "metric": "l2", "index": {"type": "flat"}, "output": {"path": "out/r.csv"}}
    """#

    /// `minimal` with one top-level member replaced or added.
    func with(_ key: String, _ json: String) -> String {
        var members = minimal.replacingOccurrences(of: "\n", with: " ")
        if let range = members.range(of: "\"\(key)\": ") {
            // Replace the existing value up to the next top-level comma or brace.
            var depth = 0, end = range.upperBound
            for index in members[range.upperBound...].indices {
                let c = members[index]
                if c == "{" || c == "[" { depth += 1 }
                if c == "}" || c == "]" { if depth == 0 { end = index; break }; depth -= 1 }
                if c == "," && depth == 0 { end = index; break }
            }
            members.replaceSubrange(range.upperBound..<end, with: json)
        } else {
            members.insert(contentsOf: "\"\(key)\": \(json), ", at: members.index(after: members.startIndex))
        }
        return members
    }

    @Test func theReadmeExampleParsesWithPathsResolvedAgainstTheJobFolder() throws {
        let spec = try parse(#"""
        {
          "version": 1,
          "dataset":  {"path": "data/words.txt", "format": "text"},
          "queries":  {"path": "data/query-words.txt"},
          "k": 10,
          "metric": "cosine",
          "index": {"type": "flat"},
          "output": {"path": "out/words-knn.csv", "format": "csv"},
          "threads": 0,
          "groundtruth": {"path": "data/gt.ivecs"}
        }
        """#)
        #expect(spec.dataset == VectorSource(path: "jobs/data/words.txt", format: .text))
        #expect(spec.queries == .file(VectorSource(path: "jobs/data/query-words.txt", format: .text)))
        #expect(spec.k == 10 && spec.metric == .cosine && spec.index == .flat && spec.threads == 0)
        #expect(spec.output == OutputSpec(path: "jobs/out/words-knn.csv", format: .csv, reportPath: "jobs/out/words-knn.csv.report.json"))
        #expect(spec.groundtruthPath == "jobs/data/gt.ivecs")
    }

    @Test func formatsAreInferredFromExtensions() throws {
        let spec = try parse(minimal)
        #expect(spec.dataset.format == .fvecs)
        #expect(spec.queries == .file(VectorSource(path: "jobs/q.npy", format: .npy)))
        #expect(spec.output.format == .csv)
        #expect(try parse(with("output", #"{"path": "r.NPY"}"#)).output.format == .npy)
        #expect(try parse(with("dataset", #"{"path": "/abs/../data/w.vec"}"#)).dataset == VectorSource(path: "/data/w.vec", format: .text))
    }

    @Test func treeParametersAndDefaults() throws {
        #expect(try parse(with("index", #"{"type": "kdtree"}"#)).index == .kdtree(TreeParameters()))
        #expect(try parse(with("index", #"{"type": "balltree", "leaf_size": 40, "eps": 0.5, "max_leaves": 20}"#)).index
                == .balltree(TreeParameters(leafSize: 40, eps: 0.5, maxLeaves: 20)))
        #expect(try parse(with("index", #"{"type": "auto"}"#)).index == .auto)
    }

    @Test func hnswParametersAndDefaults() throws {
        #expect(try parse(with("index", #"{"type": "hnsw"}"#)).index == .hnsw(HNSWParameters()))
        var expected = HNSWParameters(connectivity: 8, expansionAdd: 40, expansionSearch: 20, seed: 3)
        expected.navigation = .float32
        let json = #"{"type": "hnsw", "connectivity": 8, "expansion_add": 40, "expansion_search": 20, "seed": 3, "navigation": "float32"}"#
        #expect(try parse(with("index", json)).index == .hnsw(expected))
    }

    /// Hamming ranking: its own defaults (4 tables of 64 bits), its knob, and no bucket probes.
    @Test func lshHammingParametersAndDefaults() throws {
        let cosine = with("metric", #""cosine""#)
        func spec(_ index: String) -> String { cosine.replacingOccurrences(of: #"{"type": "flat"}"#, with: index) }
        var expected = LSHParameters(tables: 4)
        expected.search = .hamming
        #expect(try parse(spec(#"{"type": "lsh", "search": "hamming"}"#)).index == IndexSpec(expected))
        #expect(expected.resolvedBits(count: 100_000, metric: .cosine) == 64 && LSHParameters().resolvedBits(count: 100_000, metric: .cosine) == 13)
        expected.tables = 8
        expected.rerank = 3
        #expect(try parse(spec(#"{"type": "lsh", "search": "hamming", "tables": 8, "rerank": 3}"#)).index == IndexSpec(expected))
        let error = specError(spec(#"{"type": "lsh", "search": "hamming", "probes": 4}"#))
        #expect(error?.field == "index.probes")
        #expect(error?.message == "applies to \"search\": \"buckets\" only; \"hamming\" ranks every code (set rerank instead)")
    }

    @Test func selfQueriesAndOptionalSections() throws {
        let spec = try parse(with("queries", #""self""#))
        #expect(spec.queries == .dataset)
        let planned = try parse(with("planner", #"{"block_queries": 100, "slice_queries": 7}"#))
        #expect(planned.planner == .init(blockQueries: 100, sliceQueries: 7))
        let csv = try parse(with("dataset", #"{"path": "c.csv", "header": true, "label_column": 2}"#))
        #expect(csv.dataset.csv == .init(header: true, labelColumn: .index(2)))
        #expect(try parse(with("output", #"{"path": "a.csv", "report": "logs/r.json"}"#)).output.reportPath == "jobs/logs/r.json")
    }

    @Test(arguments: [
        ("version", #"2"#, "version", "this release of knnbatch reads version 1, the job says 2"),
        ("k", #"0"#, "k", "must be at least 1, found 0"),
        ("k", #"2.5"#, "k", "expected an integer, found 2.5"),
        ("k", #"10.0"#, "k", "expected an integer written without a fraction or exponent, found 10.0"),
        ("k", #""10""#, "k", "expected an integer, found a string"),
        ("metric", #""euclid""#, "metric", "unknown metric \"euclid\" (known: l2, sqeuclidean, cosine, ip)"),
        ("index", #"{"type": "annoy"}"#, "index.type", "unknown index type \"annoy\" (known: flat, kdtree, balltree, hnsw, forest, lsh, ivf, ivfpq, auto)"),
        ("index", #"{"type": "ivfpq", "pq_bits": 6}"#, "index.pq_bits", "must be 4 or 8, found 6"),
        ("index", #"{"type": "ivfpq", "rerank": 0}"#, "index.rerank", "must be between 1 and 100000, found 0"),
        ("index", #"{"type": "ivf", "lists": 0}"#, "index.lists", "must be between 1 and 16777216, found 0"),
        ("index", #"{"type": "ivf", "lists": 8, "probe": 9}"#, "index.probe", "is 9, more than the 8 lists there are to scan"),
        ("index", #"{"type": "ivf", "iterations": -1}"#, "index.iterations", "must be between 0 and 1000, found -1"),
        ("index", #"{"type": "forest", "trees": 0}"#, "index.trees", "must be between 1 and 4096, found 0"),
        ("index", #"{"type": "forest", "search_budget": 0}"#, "index.search_budget", "must be between 1 and 100000000, found 0"),
        ("index", #"{"type": "lsh", "bits": 33}"#, "index.bits", "must be between 1 and 32, found 33"),
        ("index", #"{"type": "lsh", "bucket_width": 0}"#, "index.bucket_width", "must be greater than 0"),
        ("index", #"{"type": "lsh", "bucket_width": 1e-46}"#, "index.bucket_width", "is 1e-46: too small for single precision (at least 1.1754944e-38)"),
        ("index", #"{"type": "lsh", "probes": 0}"#, "index.probes", "must be between 1 and 1000000, found 0"),
        ("index", #"{"type": "lsh", "search": "hamming"}"#, "index.search",
         "\"hamming\" applies to cosine and ip only: under l2 the hashes are cells of projections, not sign bits"),
        ("index", #"{"type": "lsh", "search": "hash"}"#, "index.search", "must be \"buckets\" or \"hamming\", found \"hash\""),
        ("index", #"{"type": "lsh", "rerank": 4}"#, "index.rerank", "applies to \"search\": \"hamming\" only; bucket search scores every vector it finds"),
        ("index", #"{"type": "flat", "nlist": 4}"#, "index.nlist", "unknown key (known keys here: path, reuse, target_recall, type)"),
        ("index", #"{"type": "kdtree", "leafsize": 4}"#, "index.leafsize", "unknown key (did you mean \"leaf_size\"?)"),
        ("index", #"{"type": "balltree", "eps": -1}"#, "index.eps", "must be between 0.0 and 1000000.0, found -1.0"),
        ("index", #"{"type": "kdtree", "max_leaves": 0}"#, "index.max_leaves", "must be at least 1, found 0"),
        ("index", #"{"type": "hnsw", "navigation": "int8"}"#, "index.navigation", "must be \"int16\" or \"float32\", found \"int8\""),
        ("dataset", #"{"path": "b.fvecs", "fromat": "fvecs"}"#, "dataset.fromat", "unknown key (did you mean \"format\"?)"),
        ("dataset", #"{"path": "b.dat"}"#, "dataset.format", "cannot tell the format of \"b.dat\" from its extension; set \"format\" to one of fvecs, bvecs, ivecs, npy, npz, csv, text, parquet"),
        ("dataset", #"{"path": "b.x", "format": "arrow"}"#, "dataset.format", "unknown format \"arrow\" (known: fvecs, bvecs, ivecs, npy, npz, csv, text, parquet)"),
        ("dataset", #"{"path": "b.npy", "column": "v"}"#, "dataset.column", "applies to parquet files only; this file is npy"),
        ("dataset", #"{"path": "b.parquet", "label_column": 2}"#, "dataset.label_column", "expected a column name, found a number"),
        ("dataset", #"{"path": "b.fvecs", "label_column": "id"}"#, "dataset.label_column", "applies to csv and parquet files only; this file is fvecs"),
        ("dataset", #"{"path": "b.fvecs", "header": true}"#, "dataset.header", "applies to csv files only; this file is fvecs"),
        ("dataset", #"{"format": "fvecs"}"#, "dataset.path", "missing required key"),
        ("dataset", #""b.fvecs""#, "dataset", "expected a JSON object, found a string"),
        ("queries", #""all""#, "queries", "expected an object with a \"path\" or the string \"self\", found \"all\""),
        ("output", #"{"path": "r.txt"}"#, "output.format", "cannot tell the output format of \"r.txt\" from its extension; set \"format\" to csv or npy"),
        ("output", #"{"path": "r.csv", "format": "parquet"}"#, "output.format", "unknown output format \"parquet\" (known: csv, npy)"),
        ("output", #"{"path": "base.fvecs", "format": "npy"}"#, "output.path", "\"jobs/base.fvecs\" is also an input of this job; writing it would destroy the input"),
        ("threads", #"-1"#, "threads", "must be between 0 and 4096, found -1"),
        ("dataset", #"{"path": "words.txt\u0000.csv"}"#, "dataset.path", "contains a control character; paths must be plain text"),
        ("thread", #"2"#, "thread", "unknown key (did you mean \"threads\"?)"),
        ("groundtruth", #"{"path": "gt.ivecs", "format": "fvecs"}"#, "groundtruth.format", "ground truth is ivecs or npy (a knnbatch result, or a 2-D int32/int64 array), found \"fvecs\""),
    ])
    func invalidSpecsNameTheField(key: String, value: String, field: String, message: String) {
        let error = specError(with(key, value))
        #expect(error?.field == field)
        #expect(error?.message == message)
    }

    @Test(arguments: [
        ("max_memory", #""8 parsecs""#, "max_memory", "expected a size such as 8589934592, \"512MiB\" or \"8GiB\", found \"8 parsecs\""),
        ("max_memory", #""99999999999T""#, "max_memory", "expected a size such as 8589934592, \"512MiB\" or \"8GiB\", found \"99999999999T\""),
        ("max_memory", #"0"#, "max_memory", "must be at least 1, found 0"),
        ("max_memory", #"true"#, "max_memory", "expected a size in bytes or a string such as \"8GiB\", found a boolean"),
        ("index", #"{"type": "hnsw", "connectivity": -5}"#, "index.connectivity", "must be at least 2, found -5: with fewer links per vector the graph degenerates into chains"),
        ("dataset", #"{"path": "w.txt", "label_spaces": 1}"#, "dataset.label_spaces", "expected true or false, found a number"),
        ("dataset", #"{"path": "b.csv", "label_spaces": true}"#, "dataset.label_spaces", "applies to word-vector text files only; this file is csv"),
    ])
    func invalidLimitsAndOptionsNameTheField(key: String, value: String, field: String, message: String) {
        invalidSpecsNameTheField(key: key, value: value, field: field, message: message)
    }

    @Test(arguments: [(#"1048576"#, 1 << 20), (#""512MiB""#, 512 << 20), (#""8GiB""#, 8 << 30), (#""8 GB""#, 8 << 30),
                      (#""2g""#, 2 << 30), (#""100""#, 100), (#""64K""#, 64 << 10), (#""1TiB""#, 1 << 40)])
    func maxMemoryTakesSizesWithUnits(text: String, bytes: Int) throws {
        #expect(try parse(with("max_memory", text)).maxMemory == bytes)
    }

    @Test func missingRequiredKeysAreNamed() {
        #expect(specError(#"{"version": 1}"#)?.field == "dataset")
        #expect(specError(#"{"dataset": {"path": "a.fvecs"}}"#)! == ("version", "missing required key (this release reads version 1)"))
        #expect(specError(minimal.replacingOccurrences(of: #""k": 10,"#, with: ""))! == ("k", "missing required key"))
        #expect(specError(minimal.replacingOccurrences(of: #""queries": {"path": "q.npy"},"#, with: ""))! == ("queries", "missing required key"))
    }

    @Test func invalidJSONSaysWhere() {
        #expect(specError("{\n \"version\": 1,\n}")! == (nil, "invalid JSON at line 3, column 1: expected a key in double quotes"))
        #expect(specError("[1]")! == (nil, "expected a JSON object, found an array"))
    }

    @Test func unknownKeyErrorMessageLineForTheUser() {
        let error = knnError { _ = try parse(with("dataset", #"{"path": "b.fvecs", "fromat": "fvecs"}"#)) }
        #expect(error?.description == "jobs/job.json: dataset.fromat: unknown key (did you mean \"format\"?)")
        #expect(error?.exitCode == 64)
    }
}
