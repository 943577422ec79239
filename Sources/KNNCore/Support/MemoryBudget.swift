import Foundation

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
        if let available = ProcFile.kibibytes("MemAvailable", in: "/proc/meminfo") {
            limits.append(Limit(bytes: available, source: "memory available (MemAvailable in /proc/meminfo)"))
        }
        if let cgroup = cgroupLimit() { limits.append(cgroup) }
        var limit = rlimit()
        if getrlimit(RLIMIT_AS_CONSTANT, &limit) == 0 && limit.rlim_cur != rlim_t.max {
            let used = ProcFile.kibibytes("VmSize", in: "/proc/self/status") ?? 0
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

    /// The tightest cgroup limit: v2's `memory.max` or v1's `memory.limit_in_bytes`, less what
    /// the group holds other than reclaimable file cache. The group's folder is looked for both
    /// under its path in /proc/self/cgroup and at the mount point itself (inside a container the
    /// mount shows the container's own group).
    private static func cgroupLimit() -> Limit? {
        func number(_ path: String) -> Int? {
            ProcFile.line(startingWith: "", in: path).flatMap { Int($0.trimmingSpaces) }
        }
        let memberships = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8))?.split(separator: "\n") ?? []
        func groupPath(_ prefix: String) -> String? {
            memberships.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        var candidates: [(folder: String, limitFile: String, usageFile: String)] = []
        for folder in Set([groupPath("0::").map { "/sys/fs/cgroup" + $0 }, "/sys/fs/cgroup"].compactMap { $0 }) {
            candidates.append((folder, "memory.max", "memory.current"))
        }
        let v1 = memberships.first { $0.split(separator: ":").dropFirst().first?.split(separator: ",").contains("memory") == true }
            .map { String($0.split(separator: ":", maxSplits: 2).last ?? "") }
        for folder in Set([v1.map { "/sys/fs/cgroup/memory" + $0 }, "/sys/fs/cgroup/memory"].compactMap { $0 }) {
            candidates.append((folder, "memory.limit_in_bytes", "memory.usage_in_bytes"))
        }
        var tightest: Limit? = nil
        for candidate in candidates {
            // "max" (v2) or a huge number (v1) is no limit.
            guard let max = number(candidate.folder + "/" + candidate.limitFile), max < 1 << 60 else { continue }
            let used = number(candidate.folder + "/" + candidate.usageFile) ?? 0
            let stat = (try? String(contentsOfFile: candidate.folder + "/memory.stat", encoding: .utf8)) ?? ""
            let cacheLine = stat.split(separator: "\n").first { $0.hasPrefix("file ") || $0.hasPrefix("total_cache ") || $0.hasPrefix("cache ") }
            let cache = cacheLine.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? 0
            let limit = Limit(bytes: Swift.max(0, max - Swift.max(0, used - cache)), source: "the cgroup's \(candidate.limitFile) (\(candidate.folder))")
            if limit.bytes < tightest?.bytes ?? Int.max { tightest = limit }
        }
        return tightest
    }
}

#if canImport(Glibc)
private let RLIMIT_AS_CONSTANT = __rlimit_resource_t(RLIMIT_AS.rawValue)
#else
private let RLIMIT_AS_CONSTANT = RLIMIT_AS
#endif
