import Foundation
import Testing

/// Sharded jobs on a real Slurm cluster started on this machine (Tests/Slurm/cluster.sh:
/// munged, slurmctld and two slurmd): `knnbatch slurm --submit` runs an array job and a merge,
/// whose output is byte for byte the one-machine run's, split by queries and by dataset; a
/// killed task makes Slurm drop the merge, `knnbatch merge` refuses, and `--resubmit` completes.
@Suite(.serialized, .enabled(if: SlurmCluster.usable, "needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them); not run under a sanitizer"))
struct SlurmClusterTests {
    /// `saved`: the sharded job saves its index there (query shards: built once by a build task).
    func job(_ w: Workspace, name: String, shardBy: String, index: String, selfJoin: Bool, saved: String? = nil) {
        let common = ["index": "{\"type\": \"\(index)\"}", "metric": #""l2""#, "k": "6",
                      "queries": selfJoin ? #""self""# : #"{"path": "queries.fvecs"}"#]
        var sharded = ["output": "{\"path\": \"out/\(name).npy\"}", "shard_by": "\"\(shardBy)\""]
        if let saved { sharded["index"] = "{\"type\": \"\(index)\", \"path\": \"\(saved)\"}" }
        w.job(common.merging(sharded) { $1 }, name: "\(name).json")
        w.job(common.merging(["output": "{\"path\": \"out/\(name)-one.npy\"}"]) { $1 }, name: "\(name)-one.json")
    }

    @Test func shardedJobsMergeToTheOneMachineOutputAndSurviveAKilledTask() throws {
        let w = Workspace()
        let cluster = try SlurmCluster(folder: w.file("cluster"))
        defer { cluster.stop() }
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(2000, 8, seed: 3).map { $0.map { ($0 * 3).rounded() } }))
        w.write("queries.fvecs", Bytes.fvecs(Bytes.random(300, 8, seed: 4)))
        job(w, name: "by-queries", shardBy: "queries", index: "kdtree", selfJoin: true, saved: "tree.knnindex")
        job(w, name: "by-dataset", shardBy: "dataset", index: "flat", selfJoin: false)
        for name in ["by-queries", "by-dataset"] {
            #expect(try Knnbatch.run(["run", "\(name)-one.json", "--quiet"], in: w.path).status == 0)
            let submit = try Knnbatch.run(["slurm", "\(name).json", "--shards", "2", "--submit"], in: w.path, environment: cluster.environment)
            #expect(submit.status == 0, "\(submit.stderr)")
            #expect(submit.stdout.contains("submitted array job"), "\(submit.stdout)")
            // With a saved index and query shards, a build task first.
            #expect(submit.stdout.contains("submitted build job") == (name == "by-queries"), "\(submit.stdout)")
            try cluster.waitUntilIdle()
            #expect(w.read("out/\(name).npy") != nil, "no merged output; logs: \(cluster.logs(w.file("out/\(name).npy.slurm")))")
            #expect(w.read("out/\(name).npy") == w.read("out/\(name)-one.npy"), "\(name): the merged output differs from the one-machine output")
        }
        // The build task saved the index once; each shard mapped it.
        let reportBytes = try #require(w.read("out/by-queries.npy.report.json"))
        let merged = try #require(try JSONSerialization.jsonObject(with: Data(reportBytes)) as? [String: Any])
        let parts = try #require((merged["merge"] as? [String: Any])?["parts"] as? [[String: Any]])
        #expect(parts.count == 2 && parts.allSatisfy { ($0["index_file"] as? [String: Any])?["action"] as? String == "loaded" }, "\(parts)")

        // Shard 1 is killed before it runs; shard 0 runs. Slurm drops the merge (afterok).
        job(w, name: "killed", shardBy: "queries", index: "flat", selfJoin: false)
        #expect(try Knnbatch.run(["run", "killed-one.json", "--quiet"], in: w.path).status == 0)
        #expect(try Knnbatch.run(["slurm", "killed.json", "--shards", "2"], in: w.path).status == 0)
        let scripts = w.file("out/killed.npy.slurm")
        let array = try cluster.command(["sbatch", "--parsable", "--hold", "--array=0-1", "shards.sbatch"], in: scripts)
        _ = try cluster.command(["sbatch", "--parsable", "--dependency=afterok:\(array)", "--kill-on-invalid-dep=yes", "merge.sbatch"], in: scripts)
        _ = try cluster.command(["scontrol", "release", "\(array)_0"])
        _ = try cluster.command(["scancel", "\(array)_1"])
        try cluster.waitUntilIdle()
        #expect(w.exists("out/killed.npy.part-0-of-2"))
        #expect(!w.exists("out/killed.npy"))
        // The merge never ran: Slurm cancelled it (no merge log), rather than it refusing.
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: scripts)) ?? []
        #expect(!logs.contains { $0.hasPrefix("merge-") }, "\(logs)")
        let merge = try Knnbatch.run(["merge", "killed.json"], in: w.path)
        #expect(merge.status == 74)
        #expect(merge.stderr.contains("killed.npy.part-1-of-2: missing: 1 of 2 parts have not been written (shards 1 of 2)"), "\(merge.stderr)")
        let resubmit = try Knnbatch.run(["slurm", "killed.json", "--shards", "2", "--resubmit"], in: w.path, environment: cluster.environment)
        #expect(resubmit.status == 0, "\(resubmit.stderr)")
        #expect(resubmit.stdout.contains("(shards 1 of 2)"), "\(resubmit.stdout)")
        try cluster.waitUntilIdle()
        #expect(w.read("out/killed.npy") != nil, "no merged output; logs: \(cluster.logs(scripts))")
        #expect(w.read("out/killed.npy") == w.read("out/killed-one.npy"))
    }
}

/// A cluster started by Tests/Slurm/cluster.sh in `folder`, stopped by its daemons' pids.
final class SlurmCluster {
    static let script = Knnbatch.packageRoot + "/Tests/Slurm/cluster.sh"

    static var usable: Bool {
        getuid() == 0 && ProcessInfo.processInfo.environment["KNNBATCH_SANITIZER"] == nil
            && ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let folder: String
    let environment: [String: String]

    init(folder: String) throws {
        self.folder = folder
        let started = try Self.shell([Self.script, "start", folder], environment: [:], in: Knnbatch.packageRoot)
        guard started.status == 0 else { throw Failure("the cluster did not start: \(started.stderr)") }
        environment = ["SLURM_CONF": folder + "/slurm.conf"]
    }

    func stop() { _ = try? Self.shell([Self.script, "stop", folder], environment: [:], in: Knnbatch.packageRoot) }

    /// Runs a Slurm command against this cluster; returns its stdout, trimmed.
    @discardableResult
    func command(_ arguments: [String], in directory: String = Knnbatch.packageRoot) throws -> String {
        let result = try Self.shell(arguments, environment: environment, in: directory)
        guard result.status == 0 else { throw Failure("\(arguments.joined(separator: " ")) failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits for every job to leave the queue (at most `seconds`).
    func waitUntilIdle(seconds: Double = 180) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try command(["squeue", "-h"]).isEmpty { return }
            usleep(300_000)
        }
        throw Failure("jobs still queued after \(Int(seconds)) s: \(try command(["squeue"]))")
    }

    /// The jobs' logs in a scripts folder, for a failure's message.
    func logs(_ scripts: String) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scripts)) ?? []
        return names.filter { $0.hasSuffix(".log") }.sorted().map { name in
            "\(name): " + ((try? String(contentsOfFile: scripts + "/" + name, encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs a command to completion with posix_spawn and waitpid: Foundation's Process waits
    /// forever on a script that starts daemons (their exit notices go astray), so it is not used here.
    static func shell(_ arguments: [String], environment: [String: String], in directory: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let capture = NSTemporaryDirectory() + "/knnbatch-slurm-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(capture + ".out"); unlink(capture + ".err") }
        let command = "cd \(quoted(directory)) && exec " + arguments.map(quoted).joined(separator: " ")
            + " </dev/null >\(quoted(capture + ".out")) 2>\(quoted(capture + ".err"))"
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (text: String) in strdup(text) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { (text: String) in strdup(text) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, argv, envp)
        guard spawned == 0 else { throw Failure("cannot start /bin/sh: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (exit, read(capture + ".out"), read(capture + ".err"))
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
