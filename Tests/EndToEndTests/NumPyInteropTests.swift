import Foundation
import Testing

/// Files written by NumPy itself are read, and our .npy output is read back by NumPy and checked
/// against NumPy's own brute force. `.ci/run` installs NumPy; elsewhere the suite runs when it can.
@Suite(.enabled(if: NumPy.available, "needs python3 with numpy (pip install numpy)"))
struct NumPyInteropTests {
    @Test(arguments: ["l2", "sqeuclidean", "cosine", "ip"])
    func numpyFilesInNumpyOutOutMatchesNumpyBruteForce(metric: String) throws {
        let w = Workspace()
        let make = try NumPy.run("""
        import numpy as np
        rng = np.random.default_rng(42)
        np.save('base.npy', rng.normal(size=(2000, 24)))                      # float64, format 1.0
        q = rng.normal(size=(300, 24)).astype(np.float32)
        with open('queries.npy', 'wb') as f:
            np.lib.format.write_array(f, q, version=(2, 0))                   # float32, format 2.0
        print('ok')
        """, in: w.path)
        #expect(make == "ok")
        w.job(["dataset": #"{"path": "base.npy"}"#, "queries": #"{"path": "queries.npy"}"#, "k": "10",
               "metric": "\"\(metric)\"", "output": #"{"path": "out.npy"}"#])
        let run = try Knnbatch.run(["run", "job.json", "--quiet"], in: w.path)
        #expect(run.status == 0, "\(run.stderr)")
        let check = try NumPy.run("""
        import numpy as np
        r = np.load('out.npy')
        assert r.dtype.names == ('id', 'distance'), r.dtype
        assert r['id'].dtype == np.int64 and r['distance'].dtype == np.float32, r.dtype
        assert r.shape == (300, 10), r.shape
        b = np.load('base.npy').astype(np.float32).astype(np.float64)
        q = np.load('queries.npy').astype(np.float64)
        metric = '\(metric)'
        if metric in ('l2', 'sqeuclidean'):
            d = ((q[:, None, :] - b[None, :, :]) ** 2).sum(-1)
            if metric == 'l2': d = np.sqrt(d)
        elif metric == 'cosine':
            d = 1 - (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T
        else:
            d = -(q @ b.T)
        order = np.lexsort((np.broadcast_to(np.arange(b.shape[0]), d.shape), d), axis=1)[:, :10]
        expected = np.take_along_axis(d, order, axis=1)
        if metric == 'ip': expected = -expected
        assert np.abs(r['distance'] - expected).max() < 1e-4, np.abs(r['distance'] - expected).max()
        assert (r['id'] == order).mean() > 0.999, (r['id'] == order).mean()
        print('ok')
        """, in: w.path)
        #expect(check == "ok")
    }
}

enum NumPy {
    static let available: Bool = {
        if ProcessInfo.processInfo.environment["CI"] != nil { return true }  // CI must run these
        return (try? run("import numpy; print('ok')", in: NSTemporaryDirectory())) == "ok"
    }()

    /// Runs a Python script; returns its last stdout line, or the error text.
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
