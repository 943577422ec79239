import Testing
@testable import KNNCore

@Suite struct CommandLineToolTests {
    typealias Invocation = CommandLineTool.Invocation

    @Test func parsesCommandsAndOptions() throws {
        #expect(try CommandLineTool.parse(["run", "j.json"]) == Invocation(command: .run, jobPath: "j.json"))
        #expect(try CommandLineTool.parse(["run", "--threads", "3", "j.json", "--quiet"]) == Invocation(command: .run, jobPath: "j.json", threads: 3, quiet: true))
        #expect(try CommandLineTool.parse(["validate", "--threads=0", "j.json"]) == Invocation(command: .validate, jobPath: "j.json", threads: 0))
        #expect(try CommandLineTool.parse(["--help"]) == Invocation(command: .help(topic: nil)))
        #expect(try CommandLineTool.parse(["help", "run"]) == Invocation(command: .help(topic: "run")))
        #expect(try CommandLineTool.parse(["run", "--help"]) == Invocation(command: .help(topic: "run")))
        #expect(try CommandLineTool.parse(["--version"]) == Invocation(command: .version))
        var shard = Invocation(command: .run, jobPath: "j.json")
        shard.shard = Shard(index: 1, count: 4)
        #expect(try CommandLineTool.parse(["run", "j.json", "--shard", "1/4"]) == shard)
        var merge = Invocation(command: .merge, jobPath: "j.json")
        (merge.shards, merge.keepParts) = (4, true)
        #expect(try CommandLineTool.parse(["merge", "j.json", "--shards", "4", "--keep-parts"]) == merge)
        var slurm = Invocation(command: .slurm, jobPath: "j.json")
        (slurm.shards, slurm.partition, slurm.time, slurm.memory, slurm.cpus, slurm.submit) = (8, "gpu", "1:00:00", "16G", 4, true)
        #expect(try CommandLineTool.parse(["slurm", "j.json", "--shards", "8", "--partition", "gpu", "--time", "1:00:00", "--mem", "16G", "--cpus", "4", "--submit"]) == slurm)
    }

    @Test(arguments: [
        ([], "no command given"),
        (["frobnicate"], "unknown command 'frobnicate' (commands: run, build, validate, eval, merge, slurm, help)"),
        (["run"], "'run' needs a job file: knnbatch run JOB.json"),
        (["run", "a.json", "b.json"], "'run' takes one job file, found a second: 'b.json'"),
        (["run", "a.json", "--threads"], "--threads needs a number"),
        (["run", "a.json", "--threads", "two"], "--threads must be a whole number from 0 (all cores) to 4096, found 'two'"),
        (["run", "a.json", "--fast"], "unknown option '--fast' for 'run'"),
        (["validate", "a.json", "--quiet"], "--quiet applies to 'run', 'build', 'eval' and 'merge' only"),
        (["help", "nothing"], "no help for unknown command 'nothing'"),
        (["run", "a.json", "--shard", "1/4", "--shards", "4"], "give --shard I/N or --shards N, not both"),
        (["merge", "a.json", "--shard", "1/4"], "--shard applies to 'run' only"),
        (["run", "a.json", "--submit"], "--submit applies to 'slurm' only"),
        (["slurm", "a.json", "--shards", "0"], "--shards must be a whole number from 1 to 10000, found '0'"),
    ])
    func badUsageIsExit64WithAMessage(arguments: [String], message: String) {
        let error = knnError { _ = try CommandLineTool.parse(arguments) }
        #expect(error == .usage(message))
        #expect(error?.exitCode == 64)
    }
}
