import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Recall as a job's business: `target_recall` tunes the search setting on a sample, `min_recall`
/// gates a run on a measured recall, `knnbatch eval` sweeps the setting into a table and a plot.
@Suite(.skippedUnderThreadSanitizer) struct RecallTests {
    func report(_ w: Workspace, _ name: String) throws -> [String: Any] {
        let bytes = try #require(w.read(name))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// Clustered 24-d data: HNSW needs a real search setting to find the true neighbours.
    func setUp(_ w: Workspace) {
        let centres = Bytes.random(30, 24, seed: 401)
        let noise = Bytes.random(6_000, 24, seed: 402)
        let rows = noise.enumerated().map { i, n in zip(centres[i % 30], n).map { $0 + 0.6 * $1 } }
        w.write("base.fvecs", Bytes.fvecs(Array(rows.prefix(5_000))))
        w.write("queries.fvecs", Bytes.fvecs(Array(rows.suffix(1_000))))
    }

    @Test func targetRecallTunesTheSettingAndTheRunMeetsIt() throws {
        let w = Workspace()
        setUp(w)
        for threads in ["1", "2"] {
            w.job(["index": #"{"type": "hnsw", "connectivity": 6, "expansion_add": 40, "target_recall": 0.9}"#, "k": "10",
                   "groundtruth": #"{"sample": 1000}"#, "threads": threads, "output": "{\"path\": \"out/t\(threads).npy\"}"])
            let run = try Knnbatch.run(["run", "job.json"], in: w.path)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let r = try report(w, "out/t1.npy.report.json")
        let index = try #require(r["index"] as? [String: Any]), tuning = try #require(index["tuning"] as? [String: Any])
        let chosen = try #require(tuning["chosen"] as? Int)
        #expect(tuning["knob"] as? String == "expansion_search" && tuning["reached"] as? Bool == true, "\(tuning)")
        #expect(index["expansion_search"] as? Int == chosen, "the run searched with the tuned setting")
        // Measured on every query (the sample here is all 1,000): the target is met.
        let recall = try #require(r["recall_at_k"] as? Double)
        #expect(recall >= 0.9, "recall \(recall) at expansion_search \(chosen)")
        // The cheapest that reaches it: the next cheaper value probed falls short.
        let probes = try #require(tuning["probes"] as? [[String: Any]])
        let below = probes.filter { ($0["value"] as? Int ?? 0) < chosen }
        #expect(below.allSatisfy { ($0["lower_bound"] as? Double ?? 1) < 0.9 }, "\(probes)")
        // The same choice and output at any thread count.
        let r2 = try report(w, "out/t2.npy.report.json")
        #expect(((r2["index"] as? [String: Any])?["tuning"] as? [String: Any])?["chosen"] as? Int == chosen)
        #expect(w.read("out/t1.npy") == w.read("out/t2.npy"))
    }

    @Test func minRecallGatesARunButKeepsItsOutput() throws {
        let w = Workspace()
        setUp(w)
        w.job(["index": #"{"type": "hnsw", "connectivity": 4, "expansion_add": 10, "expansion_search": 10}"#, "k": "10",
               "groundtruth": #"{"sample": 300}"#, "min_recall": "0.999"])
        let low = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(low.status == 3, "\(low.stderr)")
        #expect(low.stderr.contains("is below min_recall 0.999; the output was written (exit 3)"), "\(low.stderr)")
        #expect(w.exists("out/result.csv"))
        let r = try report(w, "out/result.csv.report.json")
        #expect((r["min_recall"] as? [String: Any])?["passed"] as? Bool == false && r["recall_queries"] as? Int == 320, "\(r)")
        // flat reaches any floor.
        w.job(["index": #"{"type": "flat"}"#, "k": "10", "groundtruth": #"{"sample": 300}"#, "min_recall": "0.999"])
        let exact = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect((try report(w, "out/result.csv.report.json")["recall_at_k"] as? Double) == 1)
    }

    @Test func misuseIsRefusedNamingTheField() throws {
        let w = Workspace()
        setUp(w)
        w.job(["index": #"{"type": "flat", "target_recall": 0.9}"#])
        let flat = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(flat.status == 64 && flat.stderr.contains("index.target_recall") && flat.stderr.contains("flat is exact"), "\(flat.stderr)")
        w.job(["min_recall": "0.9"])
        let noTruth = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(noTruth.status == 64 && noTruth.stderr.contains("min_recall") && noTruth.stderr.contains("needs ground truth"), "\(noTruth.stderr)")
        w.job(["index": #"{"type": "hnsw", "target_recall": 1.5}"#])
        #expect(try Knnbatch.run(["run", "job.json"], in: w.path).status == 64)
    }

    @Test func evalWritesATableAndAPlot() throws {
        let w = Workspace()
        setUp(w)
        w.job(["index": #"{"type": "hnsw", "connectivity": 6, "expansion_add": 40}"#, "k": "10", "output": #"{"path": "out/r.npy"}"#])
        let first = try Knnbatch.run(["eval", "job.json", "--values", "10,20,40,80", "--repeats", "2"], in: w.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("computing the exact neighbours of 1000 queries"), "\(first.stderr)")
        let table = String(decoding: try #require(w.read("out/r.npy.eval.csv")), as: UTF8.self).split(separator: "\n")
        #expect(table.count == 5 && table[0].hasPrefix("index,parameter,value,recall_at_10,queries_per_second"), "\(table)")
        let recalls = table.dropFirst().map { Double($0.split(separator: ",")[3])! }
        #expect(recalls.last! > recalls.first! && recalls.last! > 0.95, "\(recalls)")
        // The plot is well-formed SVG with a point per value.
        let svg = try #require(w.read("out/r.npy.eval.svg"))
        let parser = XMLParser(data: Data(svg))
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #expect(String(decoding: svg, as: UTF8.self).components(separatedBy: "<circle").count - 1 == 4 + 1, "four points and the legend's")
        // Again: the exact neighbours come from the cache, and all but the timings is the same.
        let second = try Knnbatch.run(["eval", "job.json", "--values", "10,20,40,80", "--repeats", "1"], in: w.path)
        #expect(second.status == 0 && !second.stderr.contains("computing the exact neighbours"), "\(second.stderr)")
        let again = String(decoding: try #require(w.read("out/r.npy.eval.csv")), as: UTF8.self).split(separator: "\n")
        #expect(again.map { $0.split(separator: ",").prefix(4) } == table.map { $0.split(separator: ",").prefix(4) })
    }

    /// Several indexes side by side: one table, one plot, a line each, the front across them.
    @Test func evalSweepsSeveralIndexesSideBySide() throws {
        let w = Workspace()
        setUp(w)
        w.job(["index": #"{"type": "hnsw", "connectivity": 6, "expansion_add": 40}"#, "k": "10", "output": #"{"path": "out/r.npy"}"#,
               "groundtruth": #"{"sample": 200}"#,
               "sweep": #"{"values": [10, 40], "indexes": [{"type": "kdtree", "leaf_size": 16}, {"type": "flat"}]}"#])
        let run = try Knnbatch.run(["eval", "job.json", "--repeats", "1", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = String(decoding: try #require(w.read("out/r.npy.eval.csv")), as: UTF8.self).split(separator: "\n").dropFirst()
        let byIndex = Dictionary(grouping: rows.map { $0.split(separator: ",", omittingEmptySubsequences: false) }, by: { String($0[0]) })
        #expect(byIndex["hnsw"]?.count == 2 && byIndex["flat"]?.count == 1, "\(rows)")
        // The kdtree's ladder: 1, 2, 4, … leaves up to all of them (exact: recall 1); flat is exact.
        let tree = try #require(byIndex["kdtree"])
        #expect(tree.count >= 4 && tree.first?[1] == "max_leaves" && Double(tree.last![3]) == 1, "\(tree)")
        #expect(Double(byIndex["flat"]![0][3]) == 1)
        let svg = String(decoding: try #require(w.read("out/r.npy.eval.svg")), as: UTF8.self)
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
        // A range instead of a list: 10, 20, 40, 80 by factor 2.
        w.job(["index": #"{"type": "hnsw", "connectivity": 6, "expansion_add": 40}"#, "k": "10", "output": #"{"path": "out/r.npy"}"#,
               "groundtruth": #"{"sample": 200}"#, "sweep": #"{"from": 10, "to": 80, "factor": 2}"#])
        #expect(try Knnbatch.run(["eval", "job.json", "--repeats", "1", "--quiet"], in: w.path).status == 0)
        let ranged = String(decoding: try #require(w.read("out/r.npy.eval.csv")), as: UTF8.self).split(separator: "\n").dropFirst()
        #expect(ranged.map { $0.split(separator: ",", omittingEmptySubsequences: false)[2] } == ["10", "20", "40", "80"])
        w.job(["sweep": #"{"from": 10, "to": 80}"#])
        let noStep = try Knnbatch.run(["eval", "job.json"], in: w.path)
        #expect(noStep.status == 64 && noStep.stderr.contains("sweep.step: give step (adding) or factor (multiplying)"), "\(noStep.stderr)")
        // Refused: a bad index object in the list names its place.
        w.job(["sweep": #"{"indexes": [{"type": "hnsw", "connectivty": 6}]}"#])
        let bad = try Knnbatch.run(["eval", "job.json"], in: w.path)
        #expect(bad.status == 64 && bad.stderr.contains("sweep.indexes[0].connectivty"), "\(bad.stderr)")
    }

    /// Ground truth as knnbatch writes results (.npy records), or a plain int32/int64 .npy.
    @Test func groundTruthFromNpy() throws {
        let w = Workspace()
        setUp(w)
        w.job(["index": #"{"type": "flat"}"#, "k": "10", "output": #"{"path": "exact.npy"}"#])
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        let ids = try NPYIds.read(w.file("exact.npy"))
        for (name, dtype, size) in [("plain32.npy", "<i4", 4), ("plain64.npy", "<i8", 8)] {
            var header = "{'descr': '\(dtype)', 'fortran_order': False, 'shape': (\(ids.count), 10), }"
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
            for row in ids { for id in row { withUnsafeBytes(of: id.littleEndian) { bytes += $0.prefix(size) } } }
            w.write(name, bytes)
        }
        for truth in ["exact.npy", "plain32.npy", "plain64.npy"] {
            w.job(["index": #"{"type": "hnsw", "expansion_search": 200}"#, "k": "10", "groundtruth": "{\"path\": \"\(truth)\"}",
                   "output": #"{"path": "approx.npy"}"#])
            let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
            #expect(run.status == 0, "\(truth): \(run.stderr)")
            // Observed 1.0 at this expansion_search.
            #expect((try report(w, "approx.npy.report.json")["recall_at_k"] as? Double ?? 0) > 0.99, "\(truth)")
        }
        // Not a .npy at all: refused, naming the file.
        w.job(["groundtruth": #"{"path": "base.fvecs", "format": "npy"}"#])
        let wrong = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(wrong.status == 65 && wrong.stderr.contains("base.fvecs"), "\(wrong.stderr)")
    }
}
