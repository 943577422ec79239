import Foundation
import Testing

/// After any interruption the output path holds the previous complete file (or nothing).
@Suite struct InterruptionTests {
    /// A self-join big enough to take seconds, so the process can be killed mid-search.
    func slowJob(_ w: Workspace) {
        w.write("base.fvecs", Bytes.fvecs(Bytes.random(40_000, 64, seed: 9)))
        w.job(["queries": #""self""#, "output": #"{"path": "result.npy"}"#, "planner": #"{"block_queries": 64}"#])
        w.write("result.npy", text: "previous complete result")
    }

    func waitForTemporary(_ w: Workspace) -> Bool {
        for _ in 0..<200 {
            if w.allFiles.contains(where: { $0.hasSuffix(".knnbatch-tmp") }) { return true }
            usleep(20_000)
        }
        return false
    }

    @Test(arguments: [SIGKILL, SIGTERM, SIGINT])
    func interruptedRunKeepsThePreviousOutput(signal: Int32) throws {
        let w = Workspace()
        slowJob(w)
        let running = try Knnbatch.start(["run", "job.json", "--quiet"], in: w.path)
        #expect(waitForTemporary(w))
        usleep(300_000)
        kill(running.process.processIdentifier, signal)
        running.process.waitUntilExit()
        #expect(running.process.terminationReason == (signal == SIGKILL ? .uncaughtSignal : .exit))
        #expect(w.text("result.npy") == "previous complete result")
        #expect(!w.exists("result.npy.report.json"))
        if signal != SIGKILL {
            // Caught signals remove the temporary files; only kill -9 can leave one behind.
            #expect(running.process.terminationStatus == 128 + signal)
            let stderr = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(stderr.hasPrefix("error: stopped by SIG"), "\(stderr)")
            #expect(!w.allFiles.contains { $0.hasSuffix(".knnbatch-tmp") }, "\(w.allFiles)")
        }
    }

    /// A mapped input truncated while it is read raises SIGBUS: the error names the file.
    @Test func anInputThatShrinksIsNamed() throws {
        let w = Workspace()
        slowJob(w)
        let running = try Knnbatch.start(["run", "job.json", "--quiet"], in: w.path)
        #expect(waitForTemporary(w))
        usleep(300_000)
        #expect(truncate(w.file("base.fvecs"), 4096) == 0)
        running.process.waitUntilExit()
        let stderr = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(running.process.terminationStatus == 74)
        #expect(stderr.contains("base.fvecs: an input file shrank or vanished"), "\(stderr)")
        #expect(w.text("result.npy") == "previous complete result")
    }

    /// One run per output: a second run on the same output fails at once (exit 75, naming the
    /// first run's process); the first finishes and writes its output.
    @Test func aSecondRunOnTheSameOutputIsRefused() throws {
        let w = Workspace()
        slowJob(w)
        let first = try Knnbatch.start(["run", "job.json", "--quiet"], in: w.path)
        #expect(waitForTemporary(w))
        let second = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(second.status == 75 && second.stderrLines.count == 1, "\(second.stderr)")
        #expect(second.stderr.contains("result.npy: another knnbatch run (process \(first.process.processIdentifier)) is writing this output"))
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus == 0)
        #expect(w.text("result.npy") != "previous complete result" && w.exists("result.npy.report.json"))
        // Afterwards the output is free again.
        #expect(try Knnbatch.run(["run", "job.json", "--quiet", "--threads", "1"], in: w.path).status == 0)
    }

    /// Runs killed with SIGKILL at moments spread over the search (once each has added 1, 4, 15, …
    /// blocks to the journal, so the test does not depend on how fast this machine is), each followed by a
    /// run of the same job, end in the output an uninterrupted run writes, byte for byte; each
    /// rerun resumes from at least the blocks the journal held when the run before was killed.
    @Test func killedRunsResumeToTheSameBytes() throws {
        let w = Workspace()
        slowJob(w)
        w.job(["queries": #""self""#, "output": #"{"path": "whole.npy"}"#, "planner": #"{"block_queries": 64}"#], name: "whole.json")
        #expect(try Knnbatch.run(["run", "whole.json", "--quiet"], in: w.path).status == 0)
        let whole = try #require(w.read("whole.npy"))
        func journaled() -> Int { w.journaledBlocks(".result.npy.knnbatch-journal") }
        var held: [Int] = [], resumed: [Int] = []
        for step in [1, 4, 15, 40, 90, 150] {
            // Killed once this run has added `step` blocks to what the run before left.
            let target = (held.last ?? 0) + step
            let running = try Knnbatch.start(["run", "job.json"], in: w.path)
            // (Process.isRunning can still be false just after the start: ask the kernel instead.)
            let pid = running.process.processIdentifier
            var waits = 0
            while journaled() < target && kill(pid, 0) == 0 && waits < 6000 {
                usleep(2_000)
                waits += 1
            }
            kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            let stderr = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let note = stderr.split(separator: "\n").first { $0.hasPrefix("note: resumed") }
            resumed.append(note.flatMap { $0.split(separator: " ").compactMap { Int($0) }.first } ?? 0)
            held.append(max(0, journaled()))
        }
        let last = try Knnbatch.run(["run", "job.json"], in: w.path)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(w.read("result.npy") == whole)
        // Run i + 1 starts where run i's journal stopped (run 0 starts from nothing).
        #expect(zip(held, resumed.dropFirst()).allSatisfy { $1 >= $0 } && held.contains { $0 > 0 }, "held \(held), resumed \(resumed)")
        #expect(!w.allFiles.contains { $0.contains("knnbatch-partial") || $0.contains("knnbatch-journal") }, "\(w.allFiles)")
        // --restart starts over and writes the same.
        #expect(try Knnbatch.run(["run", "job.json", "--restart", "--quiet"], in: w.path).status == 0)
        #expect(w.read("result.npy") == whole)
    }

    /// A kill -9 leaves the report's temporary file; the next run of the same output removes it
    /// once its writer is gone, and leaves a live process's alone.
    @Test func staleTemporariesOfTheSameOutputAreRemoved() throws {
        let w = Workspace()
        BadInputTests.standardInputs(w)
        w.job(["output": #"{"path": "out/result.csv"}"#])
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = "out/.result.csv.report.json.\(gone.processIdentifier).knnbatch-tmp"
        let live = "out/.result.csv.report.json.\(getpid()).knnbatch-tmp"
        w.write(stale, text: "left by a killed run")
        w.write(live, text: "being written")
        #expect(try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path).status == 0)
        #expect(!w.exists(stale) && w.exists(live), "\(w.allFiles)")
    }
}
