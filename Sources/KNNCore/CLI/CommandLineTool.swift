import Foundation

/// The `knnbatch` command: parses arguments, runs a command, and turns every failure into one
/// `error:` line on stderr and its exit status. The executable only calls `main`.
public enum CommandLineTool {
    struct Invocation: Equatable {
        enum Command: Equatable { case run, build, validate, eval, merge, slurm, help(topic: String?), version }
        var command: Command
        var jobPath: String?
        var threads: Int?
        var quiet = false
        var restart = false
        /// eval: `--values` and `--repeats`.
        var values: [Int]?
        var repeats: Int?
        /// run: `--shard I/N`; run, merge and slurm: `--shards N`.
        var shard: Shard?
        var shards: Int?
        /// merge: `--keep-parts`.
        var keepParts = false
        /// slurm: the sbatch settings, and whether to submit.
        var partition: String?
        var time: String?
        var memory: String?
        var cpus: Int?
        var submit = false
        var resubmit = false
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
        case "merge": command = .merge
        case "slurm": command = .slurm
        case "help", "-h", "--help":
            guard rest.count <= 1 else { throw KNNError.usage("help takes at most one command name") }
            if let topic = rest.first, !["run", "build", "validate", "eval", "merge", "slurm", "job"].contains(topic) {
                throw KNNError.usage("no help for unknown command '\(topic)'")
            }
            return Invocation(command: .help(topic: rest.first))
        case "--version", "version":
            guard rest.isEmpty else { throw KNNError.usage("--version takes no arguments") }
            return Invocation(command: .version)
        default:
            throw KNNError.usage("unknown command '\(first)' (commands: run, build, validate, eval, merge, slurm, help)")
        }
        var invocation = Invocation(command: command)
        while let argument = rest.popFirst() {
            switch argument {
            case "-h", "--help":
                return Invocation(command: .help(topic: first))
            case "--quiet", "-q":
                guard [.run, .build, .eval, .merge].contains(command) else {
                    throw KNNError.usage("--quiet applies to 'run', 'build', 'eval' and 'merge' only")
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
            case "--shard":
                guard command == .run else { throw KNNError.usage("--shard applies to 'run' only") }
                guard let value = rest.popFirst() else { throw KNNError.usage("--shard needs I/N") }
                invocation.shard = try Shard.parse(value)
            case "--shards":
                guard [.run, .merge, .slurm].contains(command) else { throw KNNError.usage("--shards applies to 'run', 'merge' and 'slurm' only") }
                guard let value = rest.popFirst() else { throw KNNError.usage("--shards needs a number") }
                guard let count = Int(value), (1...Shard.maximumCount).contains(count) else {
                    throw KNNError.usage("--shards must be a whole number from 1 to \(Shard.maximumCount), found '\(value)'")
                }
                invocation.shards = count
            case "--keep-parts":
                guard command == .merge else { throw KNNError.usage("--keep-parts applies to 'merge' only") }
                invocation.keepParts = true
            case "--partition", "--time", "--mem", "--cpus":
                guard command == .slurm else { throw KNNError.usage("\(argument) applies to 'slurm' only") }
                guard let value = rest.popFirst() else { throw KNNError.usage("\(argument) needs a value") }
                switch argument {
                case "--partition": invocation.partition = value
                case "--time": invocation.time = value
                case "--mem": invocation.memory = value
                default:
                    guard let cpus = Int(value), (1...4096).contains(cpus) else { throw KNNError.usage("--cpus must be a whole number from 1 to 4096, found '\(value)'") }
                    invocation.cpus = cpus
                }
            case "--submit", "--resubmit":
                guard command == .slurm else { throw KNNError.usage("\(argument) applies to 'slurm' only") }
                if argument == "--submit" { invocation.submit = true } else { invocation.resubmit = true }
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
        if command == .slurm && invocation.shards == nil { throw KNNError.usage("'slurm' needs the shard count: knnbatch slurm JOB.json --shards N") }
        if invocation.shard != nil && invocation.shards != nil { throw KNNError.usage("give --shard I/N or --shards N, not both") }
        if invocation.submit && invocation.resubmit { throw KNNError.usage("give --submit or --resubmit, not both") }
        if command == .slurm && invocation.threads != nil { throw KNNError.usage("'slurm' takes --cpus C (each task runs C threads), not --threads") }
        return invocation
    }

    private static func threads(_ text: String) throws(KNNError) -> Int {
        guard let value = Int(text), (0...4096).contains(value) else {
            throw KNNError.usage("--threads must be a whole number from 0 (all cores) to 4096, found '\(text)'")
        }
        return value
    }

    static func execute(_ invocation: Invocation) throws(KNNError) -> Int32 {
        if [.run, .build, .validate, .eval, .merge].contains(invocation.command) { try KernelVariant.checkEnvironment() }
        switch invocation.command {
        case .version:
            print("knnbatch \(Version.current)")
        case .help(let topic):
            print(topic == "run" ? Help.run : topic == "build" ? Help.build : topic == "validate" ? Help.validate
                  : topic == "eval" ? Help.eval : topic == "merge" ? Help.merge : topic == "slurm" ? Help.slurm : topic == "job" ? Help.job : Help.overview)
        case .merge:
            TemporaryFiles.installSignalHandlers()
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let outcome = try ShardMerge.run(spec, options: ShardMerge.Options(threads: invocation.threads, quiet: invocation.quiet,
                                                                              shards: invocation.shards, keepParts: invocation.keepParts))
            return finishRun(spec, outcome: outcome, quiet: invocation.quiet)
        case .slurm:
            let spec = try JobSpec.load(path: invocation.jobPath!)
            let lines = try SlurmScripts.run(spec, options: SlurmScripts.Options(shards: invocation.shards!, partition: invocation.partition, time: invocation.time,
                                                                                memory: invocation.memory, cpus: invocation.cpus ?? 1,
                                                                                submit: invocation.submit, resubmit: invocation.resubmit))
            for line in lines { print(line) }
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
            let options = JobRunner.Options(threads: invocation.threads, quiet: invocation.quiet, restart: invocation.restart)
            // A shard from --shard, or from an array task's environment when the job or --shards asks for shards.
            var shard = invocation.shard
            if shard == nil && (spec.shardBy != nil || invocation.shards != nil),
               let found = try Shard.fromEnvironment(ProcessInfo.processInfo.environment, count: invocation.shards) {
                shard = found.shard
                if !invocation.quiet { printError("note: shard \(found.shard) (from \(found.source))") }
            } else if shard == nil && invocation.shards != nil {
                throw KNNError.usage("--shards N selects the shard from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, and neither is set: pass --shard I/N")
            }
            if let shard {
                let outcome = try ShardRunner.run(spec, shard: shard, options: options)
                if !invocation.quiet {
                    printError("wrote shard \(shard) (\(outcome.queryCount) queries) to \(ShardPart.path(output: spec.output.path, shard: shard)) in \(Format.duration(outcome.seconds))")
                }
                return 0
            }
            let outcome = try JobRunner.run(spec, options: options)
            return finishRun(spec, outcome: outcome, quiet: invocation.quiet)
        }
        return 0
    }

    /// The summary of a run or a merge on stderr; exit 3 when recall missed `min_recall`.
    static func finishRun(_ spec: JobSpec, outcome: JobRunner.Outcome, quiet: Bool) -> Int32 {
        var recall: JSONValue? = nil
        if case .object(let members) = outcome.report { recall = members.first(where: { $0.key == "recall_at_k" })?.value }
        if !quiet {
            var line = "wrote the \(spec.k) nearest neighbours of \(outcome.queryCount) queries to \(spec.output.path) in \(Format.duration(outcome.seconds))"
            if case .number(_, let text)? = recall { line += ", recall@\(spec.k) \(text)" }
            printError(line)
            printError("report: \(spec.output.reportPath)")
        }
        if outcome.belowMinRecall, case .number(_, let text)? = recall {
            printError("error: recall@\(spec.k) \(text) is below min_recall \(spec.minRecall ?? 0); the output was written (exit \(JobRunner.belowMinRecallStatus))")
            return JobRunner.belowMinRecallStatus
        }
        return 0
    }
}
