import Foundation
import Testing

/// Runs the built `knnbatch` executable, which SwiftPM places beside the test bundle.
enum Knnbatch {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let binary: String = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // On Linux the tests run from `<products>/<name>.xctest`, a file beside the executable.
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("knnbatch").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Runs to completion; the working directory is the package root unless given.
    /// `input` is written to the process's standard input (none by default).
    static func run(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:], input: [UInt8]? = nil) throws -> Result {
        let process = try start(arguments, in: directory, environment: environment, input: input)
        // Drain stderr on another thread: a child that fills one pipe while we block on the other
        // would otherwise never finish.
        let errBox = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errBox.data = process.stderr.fileHandleForReading.readDataToEndOfFile() }
        let out = process.stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let err = errBox.data
        process.process.waitUntilExit()
        return Result(status: process.process.terminationStatus,
                      stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    final class DataBox: @unchecked Sendable { var data = Data() }

    struct Running {
        var process: Process
        var stdout: Pipe
        var stderr: Pipe
    }

    /// `environment` is added to this process's.
    static func start(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:],
                      input: [UInt8]? = nil) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input))
            try stdin.fileHandleForWriting.close()
        }
        return Running(process: process, stdout: out, stderr: err)
    }
}

/// A test folder with job and data files written by the test.
final class Workspace {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/knnbatch-e2e-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let target = file(name)
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: target, contents: Data(bytes))
        return target
    }

    @discardableResult
    func write(_ name: String, text: String) -> String { write(name, Array(text.utf8)) }

    func read(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: file(name)).map(Array.init) }
    func text(_ name: String) -> String? { read(name).map { String(decoding: $0, as: UTF8.self) } }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    /// The blocks a run's journal (`name`, e.g. `.result.npy.knnbatch-journal`) vouches for: its
    /// lines less the header. Read with read(2): Foundation's file reading leaks a buffer when
    /// the file grows while it reads it.
    func journaledBlocks(_ name: String) -> Int {
        let fd = open(file(name), O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var lines = 0, buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            lines += buffer.prefix(count).count { $0 == 0x0A }
        }
        return max(0, lines - 1)
    }

    /// Every file below the folder, hidden ones included, relative to it.
    var allFiles: [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
    }

    /// A job spec with the given members over a default that searches `base.fvecs` for `queries.fvecs`.
    @discardableResult
    func job(_ overrides: [String: String] = [:], name: String = "job.json") -> String {
        var members: [(String, String)] = [
            ("version", "1"), ("dataset", #"{"path": "base.fvecs"}"#), ("queries", #"{"path": "queries.fvecs"}"#),
            ("k", "3"), ("metric", #""l2""#), ("index", #"{"type": "flat"}"#), ("output", #"{"path": "out/result.csv"}"#),
        ]
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = value } else { members.append((key, value)) }
        }
        let body = members.filter { $0.1 != "-" }.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n")
        return write(name, text: "{\n\(body)\n}\n")
    }
}

enum Bytes {
    static func int32(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func float32(_ value: Float) -> [UInt8] { withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    static func fvecs(_ rows: [[Float]]) -> [UInt8] { rows.flatMap { int32(Int32($0.count)) + $0.flatMap(float32) } }

    static func random(_ rows: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        return (0..<rows).map { _ in (0..<dim).map { _ in next() } }
    }
}

extension Trait where Self == ConditionTrait {
    /// For suites that check results, not concurrency: the thread-sanitizer pass of `.ci/run`
    /// skips them, since the concurrent paths they run (block search, builds on the workers, the
    /// write pipeline) are the ones the suites it keeps run too, and it is many times slower.
    static var skippedUnderThreadSanitizer: Self {
        .disabled(if: ProcessInfo.processInfo.environment["KNNBATCH_SANITIZER"] == "thread",
                  "checks results, not concurrency; the thread sanitizer runs the concurrent paths in the other suites")
    }
}
