import Foundation
import Testing

/// README's install commands, run as written on a copy of the package: a static release build
/// installed under a prefix, which then runs the quickstart job with no toolchain in sight (an
/// empty environment, another working folder) and writes what the README shows. A release build
/// takes minutes, so this runs where asked: in CI (`.ci/run` sets KNNBATCH_TEST_INSTALL), not
/// under the sanitizers.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["KNNBATCH_TEST_INSTALL"] != nil
                    && ProcessInfo.processInfo.environment["KNNBATCH_SANITIZER"] == nil,
                "a static release build takes minutes; set KNNBATCH_TEST_INSTALL=1 to run it"))
struct InstallTests {
    @Test func theReadmeInstallWorksWithoutTheToolchain() throws {
        let readme = try String(contentsOfFile: Knnbatch.packageRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "## Install"))
        let start = try #require(readme[section.upperBound...].range(of: "```sh\n"))
        let end = try #require(readme[start.upperBound...].range(of: "```"))
        let commands = String(readme[start.upperBound..<end.lowerBound])
        #expect(commands.contains("--static-swift-stdlib") && commands.contains("PREFIX"))

        let w = Workspace()
        let copy = w.path + "/knnbatch"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for item in ["Package.swift", "Sources", "Tests", "jobs", "data"] {
            try FileManager.default.copyItem(atPath: Knnbatch.packageRoot + "/" + item, toPath: copy + "/" + item)
        }
        let prefix = w.path + "/prefix"
        let install = try shell(commands, in: copy, environment: ["PREFIX": prefix])
        try #require(install.status == 0, "\(install.output)")

        let binary = prefix + "/bin/knnbatch"
        let libraries = try shell("ldd \(binary)", in: w.path).output
        #expect(!libraries.contains("swift") && !libraries.contains("Foundation") && !libraries.contains("not found"), "\(libraries)")
        // No PATH to the toolchain, no LD_LIBRARY_PATH, run from elsewhere.
        let run = try shell("\(binary) run \(copy)/jobs/similar-words.json --quiet", in: w.path, environment: [:], clean: true)
        #expect(run.status == 0, "\(run.output)")
        let written = try String(contentsOfFile: copy + "/out/similar-words.csv", encoding: .utf8)
        #expect(written.contains("0,2,1755,0.17638206,king,prince"), "\(written.prefix(300))")
    }

    private func shell(_ script: String, in directory: String, environment: [String: String] = [:], clean: Bool = false) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = clean ? ["PATH": "/usr/bin:/bin"] : ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
