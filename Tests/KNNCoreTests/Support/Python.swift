import Foundation

/// Runs Python for tests that compare with what its libraries write (zlib, zstandard, snappy).
enum Python {
    /// Whether python3 can import `module`; CI installs what the suites need, so there they run.
    static func has(_ module: String) -> Bool {
        if ProcessInfo.processInfo.environment["CI"] != nil { return true }
        return (try? run("import \(module); print('ok')", in: NSTemporaryDirectory())) == "ok"
    }

    /// Runs `script` in `directory`; returns its last stdout line, or the error text.
    static func run(_ script: String, in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0 ? output.split(separator: "\n").last.map(String.init) ?? "" : "python failed: \(error)"
    }
}
