import Testing
@testable import KNNCore

@Suite struct MemoryBudgetTests {
    let folder = TemporaryFolder()

    /// /proc/self/status puts a tab before the value, /proc/meminfo spaces; a tab once made the
    /// report's peak fall back to getrusage, which reports the parent's peak after exec.
    @Test func procFieldsAreReadWithTabsOrSpaces() {
        folder.write("status", text: "Name:\tknnbatch\nVmHWM:\t   26312 kB\nVmSize:\t  123 kB\n")
        folder.write("meminfo", text: "MemTotal:       24000000 kB\nMemAvailable:   23145000 kB\n")
        #expect(ProcFile.kibibytes("VmHWM", in: folder.file("status")) == 26312 * 1024)
        #expect(ProcFile.kibibytes("MemAvailable", in: folder.file("meminfo")) == 23_145_000 * 1024)
        #expect(ProcFile.kibibytes("VmRSS", in: folder.file("status")) == nil)
        // This process's own peak is its own, and plausible.
        #expect(peakMemoryBytes() > 1 << 20)
    }

    @Test func theTightestLimitIsNamed() {
        let budget = MemoryBudget(limits: [.init(bytes: 8 << 30, source: "memory available"), .init(bytes: 1 << 30, source: "max_memory in the job"),
                                           .init(bytes: 3 << 30, source: "address space left under ulimit -v (RLIMIT_AS)")])
        #expect(budget.tightest?.source == "max_memory in the job")
        #expect(throws: Never.self) { try budget.check(expected: 1 << 29, mapped: 1 << 30, file: "j.json", what: "x") == () }
        guard case .memory(let file, let message)? = knnError({ try budget.check(expected: 2 << 30, file: "j.json", what: "the job") }) else {
            Issue.record("no memory error"); return
        }
        #expect(file == "j.json" && message.hasPrefix("the job needs about 2.0 GiB of memory, more than the 1.0 GiB of max_memory in the job"))
        // Mapped inputs count only against the address space.
        let addressOnly = MemoryBudget(limits: [.init(bytes: 3 << 30, source: "address space left under ulimit -v (RLIMIT_AS)")])
        #expect(knnError { try addressOnly.check(expected: 1 << 30, mapped: 4 << 30, file: "j.json", what: "the job") }?.exitCode == 75)
        #expect(knnError { try addressOnly.check(expected: 1 << 30, mapped: 1 << 30, file: "j.json", what: "the job") } == nil)
    }

    @Test func theCurrentBudgetHasTheAvailableMemoryAndTheJobsLimit() {
        let budget = MemoryBudget.current(maxMemory: 12345)
        #expect(budget.limits.contains { $0.source == "max_memory in the job" && $0.bytes == 12345 })
        #expect(budget.limits.contains { $0.source.contains("MemAvailable") && $0.bytes > 0 })
    }
}
