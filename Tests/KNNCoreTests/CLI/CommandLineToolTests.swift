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
    }

    @Test(arguments: [
        ([], "no command given"),
        (["frobnicate"], "unknown command 'frobnicate' (commands: run, build, validate, eval, help)"),
        (["run"], "'run' needs a job file: knnbatch run JOB.json"),
        (["run", "a.json", "b.json"], "'run' takes one job file, found a second: 'b.json'"),
        (["run", "a.json", "--threads"], "--threads needs a number"),
        (["run", "a.json", "--threads", "two"], "--threads must be a whole number from 0 (all cores) to 4096, found 'two'"),
        (["run", "a.json", "--fast"], "unknown option '--fast' for 'run'"),
        (["validate", "a.json", "--quiet"], "--quiet applies to 'run', 'build' and 'eval' only"),
        (["help", "nothing"], "no help for unknown command 'nothing'"),
    ])
    func badUsageIsExit64WithAMessage(arguments: [String], message: String) {
        let error = knnError { _ = try CommandLineTool.parse(arguments) }
        #expect(error == .usage(message))
        #expect(error?.exitCode == 64)
    }
}
