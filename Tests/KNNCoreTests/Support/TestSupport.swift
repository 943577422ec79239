import Testing
import Foundation
@testable import KNNCore

/// The library's seeded generator, so random tests are reproducible.
typealias SplitMix64 = SplitMix

/// A fresh folder under the system's temporary folder, removed when the value is released.
final class TemporaryFolder {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/knnbatch-test-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: Data(bytes))
        return target
    }

    @discardableResult
    func write(_ name: String, text: String) -> String { write(name, Array(text.utf8)) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    func contents(_ name: String) -> [UInt8] { Array(FileManager.default.contents(atPath: file(name)) ?? Data()) }

    /// Names of everything in the folder, hidden files included (to catch leftover temporaries).
    var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Builders for input files in the formats knnbatch reads.
enum Fixtures {
    static func randomVectors(_ rows: Int, _ dim: Int, seed: UInt64, range: ClosedRange<Float> = -1...1) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<rows).map { _ in (0..<dim).map { _ in Float.random(in: range, using: &rng) } }
    }

    /// Vectors on a small integer grid, so that many distances tie exactly.
    static func gridVectors(_ rows: Int, _ dim: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<rows).map { _ in (0..<dim).map { _ in Float(Int.random(in: -2...2, using: &rng)) } }
    }

    static func int32(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func float32(_ value: Float) -> [UInt8] { withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    static func float64(_ value: Double) -> [UInt8] { withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }

    static func fvecs(_ rows: [[Float]]) -> [UInt8] {
        rows.flatMap { row in int32(Int32(row.count)) + row.flatMap(float32) }
    }

    static func bvecs(_ rows: [[UInt8]]) -> [UInt8] {
        rows.flatMap { row in int32(Int32(row.count)) + row }
    }

    static func ivecs(_ rows: [[Int32]]) -> [UInt8] {
        rows.flatMap { row in int32(Int32(row.count)) + row.flatMap(int32) }
    }

    /// A .npy file as NumPy writes it: header padded so the data starts at a multiple of 64.
    static func npy(descr: String, shape: [Int], payload: [UInt8], version: UInt8 = 1, fortran: Bool = false) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let prefix = version == 1 ? 10 : 12
        dict += String(repeating: " ", count: (64 - (prefix + dict.utf8.count + 1) % 64) % 64) + "\n"
        var bytes = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let length = dict.utf8.count
        if version == 1 {
            bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        } else {
            bytes += int32(Int32(length))
        }
        return bytes + Array(dict.utf8) + payload
    }

    static func npyFloat32(_ rows: [[Float]], version: UInt8 = 1) -> [UInt8] {
        npy(descr: "<f4", shape: [rows.count, rows.first?.count ?? 0], payload: rows.flatMap { $0.flatMap(float32) }, version: version)
    }

    static func csv(_ rows: [[Float]], header: String? = nil) -> String {
        (header.map { [$0] } ?? []).joined() + (header == nil ? "" : "\n")
            + rows.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func wordVectors(_ rows: [[Float]], labels: [String]) -> String {
        zip(labels, rows).map { label, row in ([label] + row.map { "\($0)" }).joined(separator: " ") }.joined(separator: "\n") + "\n"
    }
}

extension VectorMatrix {
    init(_ rows: [[Float]]) {
        self.init(rows: rows.count, dim: rows.first?.count ?? 0, values: rows.flatMap { $0 })
    }
}

/// Runs `body` and returns the KNNError it throws, or nil.
func knnError(_ body: () throws -> Void) -> KNNError? {
    do { try body() } catch let error as KNNError { return error } catch { return .failure("unexpected \(error)") }
    return nil
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
