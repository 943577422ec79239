/// How much memory a job may use here, from every limit that can stop it: the memory the kernel
/// reports available, the cgroup's limit (containers, Slurm, systemd), the address-space limit
/// (`ulimit -v`) and the job's own `max_memory`. A job whose estimate exceeds one of them fails
/// with a message naming it before it loads or builds anything large, instead of being killed
/// or aborted halfway.
struct MemoryBudget: Equatable {
    struct Limit: Equatable {
        var bytes: Int
        /// Where the figure comes from, for the message.
        var source: String
    }

    var limits: [Limit]

    /// The limits in force for this process now; `maxMemory` is the job's.
    static func current(maxMemory: Int?) -> MemoryBudget {
        var limits: [Limit] = []
        if let maxMemory { limits.append(Limit(bytes: maxMemory, source: "max_memory in the job")) }
        if let available = kibibytes(ProcFile.line(startingWith: "MemAvailable:", in: "/proc/meminfo")) {
            limits.append(Limit(bytes: available, source: "memory available (MemAvailable in /proc/meminfo)"))
        }
        if let cgroup = cgroupLimit() { limits.append(cgroup) }
        var limit = rlimit()
        if getrlimit(RLIMIT_AS_CONSTANT, &limit) == 0 && limit.rlim_cur != rlim_t.max {
            let used = kibibytes(ProcFile.line(startingWith: "VmSize:", in: "/proc/self/status")) ?? 0
            limits.append(Limit(bytes: max(0, Int(clamping: limit.rlim_cur) - used), source: "address space left under ulimit -v (RLIMIT_AS)"))
        }
        return MemoryBudget(limits: limits)
    }

    /// The tightest limit, if any.
    var tightest: Limit? { limits.min { $0.bytes < $1.bytes } }

    /// Fails when `expected` bytes (resident, plus `mapped` bytes of address space for the
    /// memory-mapped inputs, which only the address-space limit counts) exceed a limit.
    func check(expected: Int, mapped: Int = 0, file: String, what: String) throws(KNNError) {
        for limit in limits {
            let needed = limit.source.contains("RLIMIT_AS") ? expected + mapped : expected
            guard needed > limit.bytes else { continue }
            throw KNNError.memory(file: file, message: "\(what) needs about \(Format.bytes(needed)) of memory, more than the \(Format.bytes(limit.bytes)) of \(limit.source); "
                                  + "use a smaller dataset or block (planner.block_queries), fewer threads, or a machine with more memory")
        }
    }

    /// "123 kB" as /proc writes it, in bytes.
    private static func kibibytes(_ text: Substring?) -> Int? {
        guard let text, let number = text.split(separator: " ").first.flatMap({ Int($0) }) else { return nil }
        return number * 1024
    }

    /// cgroup v2: `memory.max` of this process's group, less what the group holds other than
    /// reclaimable file cache; cgroup v1: `memory.limit_in_bytes` likewise.
    private static func cgroupLimit() -> Limit? {
        func number(_ path: String) -> Int? {
            ProcFile.line(startingWith: "", in: path).flatMap { Int($0.trimmingSpaces) }
        }
        if let line = ProcFile.line(startingWith: "0::", in: "/proc/self/cgroup") {
            let folder = "/sys/fs/cgroup" + line.trimmingSpaces
            guard let max = number(folder + "/memory.max") else { return nil }  // "max": no limit
            let used = number(folder + "/memory.current") ?? 0
            let cache = ProcFile.line(startingWith: "file ", in: folder + "/memory.stat").flatMap { Int($0.trimmingSpaces) } ?? 0
            return Limit(bytes: Swift.max(0, max - Swift.max(0, used - cache)), source: "the cgroup's memory.max (\(folder))")
        }
        let v1 = "/sys/fs/cgroup/memory"
        guard let max = number(v1 + "/memory.limit_in_bytes"), max < 1 << 60 else { return nil }
        let used = number(v1 + "/memory.usage_in_bytes") ?? 0
        return Limit(bytes: Swift.max(0, max - used), source: "the cgroup's memory.limit_in_bytes")
    }
}

#if canImport(Glibc)
private let RLIMIT_AS_CONSTANT = __rlimit_resource_t(RLIMIT_AS.rawValue)
#else
private let RLIMIT_AS_CONSTANT = RLIMIT_AS
#endif
