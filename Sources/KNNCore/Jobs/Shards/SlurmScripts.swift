import Foundation

/// `knnbatch slurm JOB --shards N`: the sbatch scripts that run a job as a Slurm array of N
/// shards and then merge it, in a folder beside the output (`<output>.slurm/`):
///
///     build.sbatch   with `index.path` and query shards: builds and saves the index once, so
///                    that every shard maps it instead of building its own
///     shards.sbatch  one array task per shard: `knnbatch run JOB --shard $SLURM_ARRAY_TASK_ID/N`
///     merge.sbatch   `knnbatch merge JOB --shards N`
///     submit.sh      submits them chained by `afterok`; `submit.sh 1,3` submits shards 1 and 3
///                    again (no build) and a merge waiting for them
///
/// The merge runs only when every task succeeded (`afterok`); if one fails, Slurm cancels it
/// (`--kill-on-invalid-dep=yes`), and `knnbatch slurm JOB --shards N --resubmit` submits the
/// missing shards alone with a new merge. Each part is renamed into place when complete, so a
/// requeued or resubmitted task never leaves half a part.
public enum SlurmScripts {
    public struct Options: Sendable {
        public var shards: Int
        public var partition: String?
        public var time: String?
        public var memory: String?
        public var cpus: Int
        public var submit: Bool
        public var resubmit: Bool
        public init(shards: Int, partition: String? = nil, time: String? = nil, memory: String? = nil, cpus: Int = 1, submit: Bool = false, resubmit: Bool = false) {
            (self.shards, self.partition, self.time, self.memory, self.cpus, self.submit, self.resubmit) = (shards, partition, time, memory, cpus, submit, resubmit)
        }
    }

    /// Writes the scripts; submits them with `submit` (all shards) or `resubmit` (the shards
    /// whose part is missing or unfit). Returns lines for the user.
    public static func run(_ spec: JobSpec, options: Options) throws(KNNError) -> [String] {
        guard spec.jobPath != JobSpec.standardInputName else {
            throw KNNError.usage("slurm needs the job in a file that the cluster's tasks can read, not standard input")
        }
        try ShardRunner.checkShardable(spec)
        try check(options)
        let folder = spec.output.path + ".slurm"
        // The folder goes into #SBATCH --output=, which sbatch splits at spaces and expands at %.
        let absolute = Paths.absolute(folder)
        guard absolute.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/-_.+,:@=".contains($0)) }) else {
            throw KNNError.spec(file: spec.jobPath, field: "output.path",
                                message: "the scripts' folder \(absolute) has characters an #SBATCH line cannot carry (spaces, %, quotes, …): choose an output path without them")
        }
        try AtomicOutputFile.makeFolders(folder, for: folder + "/submit.sh")
        let withBuild = spec.index.file != nil && (spec.shardBy ?? .queries) == .queries
        let scripts = make(spec, options: options, folder: absolute, executable: executablePath(), withBuild: withBuild)
        for (name, text) in scripts {
            let file = try AtomicOutputFile(path: folder + "/" + name)
            try file.write(Array(text.utf8))
            try file.finish()
            try file.publish()
            chmod(folder + "/" + name, 0o755)
        }
        var lines = ["wrote \(scripts.map(\.name).joined(separator: ", ")) in \(folder)/"]
        guard options.submit || options.resubmit else {
            lines.append("submit with: sh \(folder)/submit.sh")
            return lines
        }
        var arguments = [folder + "/submit.sh"]
        if options.resubmit {
            let missing = (0..<options.shards).filter { !partIsFit(spec, shard: Shard(index: $0, count: options.shards)) }
            guard !missing.isEmpty else {
                lines.append("every part of \(options.shards) is present and fits the job: nothing to resubmit (run knnbatch merge)")
                return lines
            }
            arguments.append(missing.map(String.init).joined(separator: ","))
        }
        let submitted = try runSubmit(arguments)
        lines.append(submitted)
        return lines
    }

    static func check(_ options: Options) throws(KNNError) {
        guard (1...Shard.maximumCount).contains(options.shards) else { throw KNNError.usage("--shards must be from 1 to \(Shard.maximumCount), found \(options.shards)") }
        guard (1...4096).contains(options.cpus) else { throw KNNError.usage("--cpus must be from 1 to 4096, found \(options.cpus)") }
        // Values go into the scripts' #SBATCH lines: nothing that could end a line or start a shell word.
        func plain(_ value: String?, _ name: String, _ example: String) throws(KNNError) {
            guard let value else { return }
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:,+")
            guard !value.isEmpty, value.allSatisfy({ allowed.contains($0) }) else {
                throw KNNError.usage("\(name) takes a Slurm value like \(example), found '\(value)'")
            }
        }
        try plain(options.partition, "--partition", "batch")
        try plain(options.time, "--time", "2:00:00 or 1-12:00:00")
        try plain(options.memory, "--mem", "16G")
    }

    /// The scripts' names and text.
    static func make(_ spec: JobSpec, options: Options, folder: String, executable: String, withBuild: Bool) -> [(name: String, text: String)] {
        let job = shellQuoted(Paths.absolute(spec.jobPath)), knnbatch = shellQuoted(executable)
        let name = "knnbatch-" + Paths.fileName(of: spec.jobPath).split(separator: ".").first.map(String.init)!
        func header(_ step: String, log: String) -> String {
            var lines = ["#!/bin/bash", "#SBATCH --job-name=\(shellWord(name))-\(step)", "#SBATCH --cpus-per-task=\(options.cpus)",
                         "#SBATCH --output=\(folder)/\(log)"]
            if let partition = options.partition { lines.append("#SBATCH --partition=\(partition)") }
            if let time = options.time { lines.append("#SBATCH --time=\(time)") }
            if let memory = options.memory { lines.append("#SBATCH --mem=\(memory)") }
            return (lines + ["set -euo pipefail", "cd \(shellQuoted(FileManager.default.currentDirectoryPath))", ""]).joined(separator: "\n")
        }
        let n = options.shards
        var scripts: [(name: String, text: String)] = []
        if withBuild {
            scripts.append(("build.sbatch", header("build", log: "build-%j.log")
                + "# The index once, saved at index.path; the shards map it.\nexec \(knnbatch) build \(job) --threads \"${SLURM_CPUS_PER_TASK:-\(options.cpus)}\"\n"))
        }
        scripts.append(("shards.sbatch", header("shard", log: "shard-%a-%A.log")
            + "# One array task per shard, numbered from 0: submit with --array=0-\(n - 1) (submit.sh does).\n"
            + "# The shard count is written here, so a task resubmitted alone still knows it.\n"
            + "exec \(knnbatch) run \(job) --shard \"${SLURM_ARRAY_TASK_ID}/\(n)\" --threads \"${SLURM_CPUS_PER_TASK:-\(options.cpus)}\"\n"))
        scripts.append(("merge.sbatch", header("merge", log: "merge-%j.log")
            + "exec \(knnbatch) merge \(job) --shards \(n)\n"))
        // A resubmission builds again only when the saved index is missing (its first build failed).
        let build = withBuild ? """
            if [ -z "$array" ] || [ ! -e \(shellQuoted(Paths.absolute(spec.index.file!.path))) ]; then
              build=$(sbatch --parsable build.sbatch)
              dependency="--dependency=afterok:${build%%;*} --kill-on-invalid-dep=yes"
              echo "submitted build job ${build%%;*}"
            fi

            """ : ""
        scripts.append(("submit.sh", """
            #!/bin/sh
            # Submits the job as \(n) shards and a merge that runs once all succeeded:
            #   sh submit.sh          every shard\(withBuild ? " (after building the index)" : "")
            #   sh submit.sh 1,3      shards 1 and 3 again, and a new merge
            # If a job fails, those waiting on it are cancelled (--kill-on-invalid-dep=yes).
            set -eu
            cd "$(dirname "$0")"
            array=${1:-}
            dependency=
            \(build)shards=$(sbatch --parsable --array="${array:-0-\(n - 1)}" $dependency shards.sbatch)
            shards=${shards%%;*}
            merge=$(sbatch --parsable --dependency=afterok:$shards --kill-on-invalid-dep=yes merge.sbatch)
            echo "submitted array job $shards (shards ${array:-0-\(n - 1)} of \(n)) and merge job ${merge%%;*} (after every shard succeeds)"

            """))
        return scripts
    }

    /// Whether shard `shard`'s part is present, complete and this job's.
    static func partIsFit(_ spec: JobSpec, shard: Shard) -> Bool {
        guard let part = try? ShardPartReader(path: ShardPart.path(output: spec.output.path, shard: shard)) else { return false }
        return part.header.shard == shard && part.header.job == ShardRunner.identity(spec, shardBy: spec.shardBy ?? .queries, count: shard.count)
    }

    static func runSubmit(_ arguments: [String]) throws(KNNError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw KNNError.failure("cannot run /bin/sh \(arguments[0]): \(error)") }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = errors.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw KNNError.failure("submitting to Slurm failed (\(arguments.joined(separator: " "))): \(reason)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// This executable's absolute path, for the scripts to run the same knnbatch.
    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 { return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return Paths.absolute(CommandLine.arguments.first ?? "knnbatch")
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// A job name: letters, digits, `-`, `_` and `.` only.
    static func shellWord(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }
}
