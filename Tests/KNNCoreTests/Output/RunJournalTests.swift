import Foundation
import Testing
@testable import KNNCore

@Suite struct RunJournalTests {
    let folder = TemporaryFolder()

    func block(_ n: Int, bytes: Int) -> RunJournal.Block {
        RunJournal.Block(number: n, outputBytes: bytes, hits: n, shortQueries: 0, churnCompared: 0, churnChanged: 0, churnOverlap: 0.5)
    }

    @Test func finishedBlocksAreReadBackForTheSameIdentityOnly() throws {
        let output = folder.file("out.npy")
        do {
            let journal = try RunJournal(output: output, identity: "abc", restart: false)
            #expect(journal.finished.isEmpty)
            try journal.record(block(0, bytes: 100))
            try journal.record(block(1, bytes: 200))
        }
        #expect(try RunJournal(output: output, identity: "abc", restart: false).finished == [block(0, bytes: 100), block(1, bytes: 200)])
        #expect(try RunJournal(output: output, identity: "abc", restart: true).finished.isEmpty)
        // The restart above emptied the journal; another identity never reads one either.
        let again = try RunJournal(output: output, identity: "abc", restart: false)
        try again.record(block(0, bytes: 100))
        #expect(try RunJournal(output: output, identity: "other", restart: false).finished.isEmpty)
    }

    /// A torn last line, a damaged digit, or bytes that do not grow end what is trusted.
    @Test func damagedLinesEndWhatIsTrusted() throws {
        let output = folder.file("out.csv")
        do {
            let journal = try RunJournal(output: output, identity: "id", restart: false)
            for n in 0..<4 { try journal.record(block(n, bytes: 100 * (n + 1))) }
        }
        let path = folder.file(".out.csv.knnbatch-journal")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func reread(_ lines: [String]) throws -> Int {
            try lines.joined(separator: "\n").write(toFile: path, atomically: false, encoding: .utf8)
            return try RunJournal(output: output, identity: "id", restart: false).finished.count
        }
        #expect(try reread(lines) == 4)
        var torn = lines
        torn[4] = String(torn[4].prefix(5)); torn.removeLast()
        #expect(try reread(torn) == 3)
        var damaged = lines
        damaged[2] = damaged[2].replacingOccurrences(of: "200", with: "209")
        #expect(try reread(damaged) == 1)
    }

    @Test func theSameFileUnchangedIsNotHashedAndAChangedOneIs() throws {
        let path = folder.write("data.bin", Array("0123456789".utf8))
        let recorded = try DatasetIdentity(path: path, threads: 1).fingerprint()
        #expect(try DatasetIdentity(path: path, threads: 1).matches(recorded))
        // Same size, other bytes, modification time set back: the change time and the hash tell.
        let before = try FileStatus(path: path)
        folder.write("data.bin", Array("0123456780".utf8))
        var times = [timespec(tv_sec: before.modified / 1_000_000_000, tv_nsec: before.modified % 1_000_000_000),
                     timespec(tv_sec: before.modified / 1_000_000_000, tv_nsec: before.modified % 1_000_000_000)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        #expect(try FileStatus(path: path).modified == before.modified)
        #expect(try !DatasetIdentity(path: path, threads: 1).matches(recorded))
    }
}
