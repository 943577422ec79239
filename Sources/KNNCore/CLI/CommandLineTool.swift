/// The `knnbatch` command: parses arguments, runs a command, and turns every failure into one
/// `error:` line on stderr and its exit status. The executable only calls `main`.
public enum CommandLineTool {
    struct Invocation: Equatable {
        enum Command: Equatable { case run, build, validate, eval, help(topic: String?), version }
        var command: Command
        var jobPath: String?
        var threads: Int?
        var quiet = false
        var restart = false
        /// eval: `--values` and `--repeats`.
        var values: [Int]?
        var repeats: Int?
    }

    public static func main(_ arguments: [String]) -> Int32 {
        // No command: the usage, as an error (a cron line that lost its arguments fails).
        guard arguments.count > 1 else {
            printError(Help.overview)
            return KNNError.usage("").exitCode
        }
        do {
            let invocation = try parse(Array(arguments.dropFirst()))
            let status = try execute(invocation)
            TemporaryFiles.finishCreatedFolders(keep: true)
            return status
        } catch {
            // Folders created for the outputs of a run that failed go too, when empty.
            TemporaryFiles.finishCreatedFolders(keep: false)
            if case .usage = error {
                printError("error: \(error) (see knnbatch --help)")
            } else {
                printError("error: \(error)")
            }
            return error.exitCode
        }
    }

    static func parse(_ arguments: [String]) throws(KNNError) -> Invocation {
        guard let first = arguments.first else { throw KNNError.usage("no command given") }
        var rest = arguments.dropFirst()
        let command: Invocation.Command
        switch first {
        case "run": command = .run
        case "build": command = .build
        case "validate": command = .validate
        case "eval": command = .eval
        case "help", "-h", "--help":
            guard rest.count <= 1 else { throw KNNError.usage("help takes at most one command name") }
            if let topic = rest.first, !["run", "build", "validate", "eval", "job"].contains(topic) {
                throw KNNError.usage("no help for unknown command '\(topic)'")
            }
            return Invocation(command: .help(topic: rest.first))
        case "--version", "version":
            guard rest.isEmpty else { throw KNNError.usage("--version takes no arguments") }
            return Invocation(command: .version)
        default:
            throw KNNError.usage("unknown command '\(first)' (commands: run, build, validate, eval, help)")
        }
        var invocation = Invocation(command: command)
        while let argument = rest.popFirst() {
            switch argument {
            case "-h", "--help":
                return Invocation(command: .help(topic: first))
            case "--quiet", "-q":
                guard command == .run || command == .build || command == .eval else {
                    throw KNNError.usage("--quiet applies to 'run', 'build' and 'eval' only")
                }
                invocation.quiet = true
            case "--values", "--repeats":
                guard command == .eval else { throw KNNError.usage("\(argument) applies to 'eval' only") }
                guard let value = rest.popFirst() else { throw KNNError.usage("\(argument) needs a value") }
                if argument == "--repeats" {
                    guard let repeats = Int(value), (1...1000).contains(repeats) else {
                        throw KNNError.usage("--repeats must be a whole number from 1 to 1000, found '\(value)'")
                    }
                    invocation.repeats = repeats
                } else {
                    let values = value.split(separator: ",").map { Int($0.trimmingSpaces) }
                    guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                        throw KNNError.usage("--values must be whole numbers from 1 separated by commas, found '\(value)'")
                    }
                    invocation.values = values.map { $0! }
                }
            case "--restart":
                guard command == .run else { throw KNNError.usage("--restart applies to 'run' only") }
                invocation.restart = true
            case "--threads":
                guard let value = rest.popFirst() else { throw KNNError.usage("--threads needs a number") }
                invocation.threads = try threads(value)
            case _ where argument.hasPrefix("--threads="):
                invocation.threads = try threads(String(argument.dropFirst("--threads=".count)))
            case _ where argument.hasPrefix("-") && argument != "-":
                throw KNNError.usage("unknown option '\(argument)' for '\(first)'")
            default:
                guard invocation.jobPath == nil else { throw KNNError.usage("'\(first)' takes one job file, found a second: '\(argument)'") }
                invocation.jobPath = argument
            }
        }
        guard invocation.jobPath != nil else { throw KNNError.usage("'\(first)' needs a job file: knnbatch \(first) JOB.json") }
        return invocation
    }

    private static func threads(_ text: String) throws(KNNError) -> Int {
        guard let value = Int(text), (0...4096).contains(value) else {
            throw KNNError.usage("--threads must be a whole number from 0 (all cores) to 4096, found '\(text)'")
        }
        return value
    }

    static func execute(_ invocation: Invocation) throws(KNNError) -> Int32 {
        if [.run, .build, .validate, .eval].contains(invocation.command) { try KernelVariant.checkEnvironment() }
        switch invocation.command {
        case .version:
            print("knnbatch \(Version.current)")
        case .help(let topic):
            print(topic == "run" ? Help.run : topic == "build" ? Help.build : topic == "validate" ? Help.validate
                  : topic == "eval" ? Help.eval : topic == "job" ? Help.job : Help.overview)
        case .validate:
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let options = JobRunner.Options(threads: invocation.threads)
            let plan = try JobPlan.make(spec, threads: JobRunner.threadCount(spec: spec, options: options))
            print(plan.summary)
            try plan.checkMemory()
            print("ok: the job is valid")
        case .build:
            TemporaryFiles.installSignalHandlers()
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let line = try JobRunner.build(spec, options: JobRunner.Options(threads: invocation.threads, quiet: invocation.quiet))
            if !invocation.quiet { printError(line) }
        case .eval:
            TemporaryFiles.installSignalHandlers()
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let line = try Evaluation.run(spec, options: Evaluation.Options(threads: invocation.threads, quiet: invocation.quiet,
                                                                            values: invocation.values, repeats: invocation.repeats ?? 3))
            if !invocation.quiet { printError(line) }
        case .run:
            TemporaryFiles.installSignalHandlers()
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let outcome = try JobRunner.run(spec, options: JobRunner.Options(threads: invocation.threads, quiet: invocation.quiet, restart: invocation.restart))
            if !invocation.quiet {
                var line = "wrote the \(spec.k) nearest neighbours of \(outcome.queryCount) queries to \(spec.output.path) in \(Format.duration(outcome.seconds))"
                if case .object(let members) = outcome.report, case .number(_, let recall)? = members.first(where: { $0.key == "recall_at_k" })?.value {
                    line += ", recall@\(spec.k) \(recall)"
                }
                printError(line)
                printError("report: \(spec.output.reportPath)")
            }
            if outcome.belowMinRecall, case .object(let members) = outcome.report,
               case .number(_, let recall)? = members.first(where: { $0.key == "recall_at_k" })?.value {
                printError("error: recall@\(spec.k) \(recall) is below min_recall \(spec.minRecall ?? 0); the output was written (exit \(JobRunner.belowMinRecallStatus))")
                return JobRunner.belowMinRecallStatus
            }
        }
        return 0
    }
}
