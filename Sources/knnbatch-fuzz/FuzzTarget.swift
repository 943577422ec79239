import Foundation
import KNNCore

/// Fuzz targets for every parser of user input: the job spec and each vector format. Built
/// with `-sanitize=fuzzer -DFUZZING` (Tests/Fuzz/run.sh), libFuzzer drives `fuzzOne` with the
/// target named by `KNNBATCH_FUZZ_TARGET`; built normally, `knnbatch-fuzz TARGET FILE...`
/// replays inputs (a corpus, or a crash found earlier) through the same function.
///
/// A parser may reject an input with a `KNNError`; anything else — a crash, a trap, a
/// sanitizer report — is a bug.
enum FuzzTarget: String, CaseIterable {
    case job, npy, npz, fvecs, bvecs, ivecs, csv, text, parquet

    /// Vector formats are read from a file, as a job reads them; one scratch file per process.
    static let scratchPath: String = {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return folder + "/knnbatch-fuzz-\(getpid())"
    }()

    func run(_ bytes: UnsafeRawBufferPointer) {
        if self == .job {
            _ = try? JobSpec.parse(Array(bytes), jobPath: "fuzz.json")
            return
        }
        let fd = open(Self.scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { fatalError("cannot write \(Self.scratchPath)") }
        if let base = bytes.baseAddress { _ = write(fd, base, bytes.count) }
        close(fd)
        let format = VectorFormat(rawValue: rawValue)!
        // A Parquet footer may claim any number of rows (dictionary and run-length pages make a
        // few bytes stand for millions of values); a run checks that against memory first.
        if format == .parquet, let info = try? VectorLoader.probe(VectorSource(path: Self.scratchPath, format: format)),
           info.rows * info.dim > 1 << 22 { return }
        if let loaded = try? VectorLoader.load(VectorSource(path: Self.scratchPath, format: format)) {
            // Touch every value, as the checks that follow a load do.
            var sum: Float = 0
            for row in 0..<loaded.matrix.rows { for j in 0..<loaded.matrix.dim { sum += loaded.matrix.row(row)[j] } }
            _ = sum
        }
    }

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["KNNBATCH_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set KNNBATCH_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzTarget.selected.run(UnsafeRawBufferPointer(start: data, count: count))
    return 0
}

#if FUZZING
/// libFuzzer's driver, called from our own entry point (the package's executables name their
/// own `main`, so libFuzzer's is not linked).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@main struct Fuzz {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOne))
    }
}
#else
/// Replays files through a target: `knnbatch-fuzz TARGET FILE...`.
@main struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: knnbatch-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...\n".utf8))
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            data.withUnsafeBytes { target.run($0) }
        }
        unlink(FuzzTarget.scratchPath)
        print("replayed \(arguments.count - 1) input(s) through \(name)")
    }
}
#endif
