import Foundation
import Synchronization
import Testing
@testable import KNNCore

/// A long phase says it is alive (with its elapsed time; in a log, with a timestamp) and how
/// long it took; a short one says nothing. The waits poll for the timer's line, so the test does
/// not depend on this machine's speed.
struct PhaseProgressTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    private func waitForLine(_ lines: Lines) {
        for _ in 0..<2000 where lines.all.isEmpty { usleep(5_000) }
    }

    @Test func aLongPhaseInALogIsTimestampedAndTimed() throws {
        let lines = Lines()
        let phase = PhaseProgress("building the hnsw index", mode: .log, firstReport: 0, logInterval: 3600, write: lines.add)
        waitForLine(lines)
        phase.finish("built the hnsw index")
        phase.finish("built it twice")  // a second finish says nothing
        let all = lines.all
        try #require(all.count == 2, "\(all)")
        let stamp = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /#
        #expect(all[0].contains(stamp) && all[0].contains("building the hnsw index: ") && all[0].hasSuffix(" so far\n"), "\(all[0])")
        #expect(all[1].contains(stamp) && all[1].contains("built the hnsw index in ") && all[1].hasSuffix("s\n"), "\(all[1])")
    }

    @Test func onATerminalTheLineIsRedrawnThenReplaced() throws {
        let lines = Lines()
        let phase = PhaseProgress("loading the inputs", mode: .terminal, firstReport: 0, write: lines.add)
        waitForLine(lines)
        phase.finish(nil)  // failed: the live line is cleared, nothing claimed
        let all = lines.all
        #expect(all.first?.hasPrefix("\r\u{1B}[Kloading the inputs: ") == true && all.last == "\r\u{1B}[K", "\(all)")
    }

    @Test func aShortOrQuietPhaseSaysNothing() {
        let lines = Lines()
        PhaseProgress("loading the inputs", mode: .log, firstReport: 3600, write: lines.add).finish("loaded the inputs")
        PhaseProgress("loading the inputs", mode: .quiet, firstReport: 0, write: lines.add).finish("loaded the inputs")
        usleep(50_000)
        #expect(lines.all.isEmpty)
    }

    /// A phase whose work starts a count shows the fraction done and the time left.
    @Test func aCountedPhaseShowsTheFractionDone() {
        let lines = Lines()
        let phase = PhaseProgress("building the hnsw index", mode: .log, firstReport: 0, logInterval: 0.01, write: lines.add)
        phase.work.start(total: 10, unit: "vectors")
        phase.work.advance(by: 5)
        for _ in 0..<2000 where !lines.all.contains(where: { $0.contains("50% (5 of 10 vectors), ") }) { usleep(5_000) }
        phase.finish("built the hnsw index")
        #expect(lines.all.contains { $0.contains("building the hnsw index: 50% (5 of 10 vectors), ") && $0.contains(" left, ") && $0.hasSuffix(" so far\n") }, "\(lines.all)")
    }

    /// The HNSW build counts its vectors in the phase it runs in.
    @Test func theHNSWBuildCountsItsVectors() {
        let work = PhaseWork()
        #expect(work.describe(elapsed: 1) == nil)
        PhaseWork.$current.withValue(work) {
            _ = HNSWIndex(data: VectorMatrix(Fixtures.randomVectors(500, 8, seed: 3)), metric: .l2, parameters: HNSWParameters(), threads: 2)
        }
        #expect(work.describe(elapsed: 1) == "100% (500 of 500 vectors)")
    }
}
