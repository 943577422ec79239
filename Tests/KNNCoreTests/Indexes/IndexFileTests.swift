import Foundation
import Testing
@testable import KNNCore

/// Every index type writes itself to the one index-file layout and maps back to an index that
/// answers exactly as the one built; a file that is not what it claims is an error naming the
/// file and section, never a crash.
@Suite struct IndexFileTests {
    let folder = TemporaryFolder()

    static let specs: [(String, IndexSpec)] = {
        var int16 = HNSWParameters(connectivity: 8, expansionAdd: 40, expansionSearch: 30)
        int16.navigation = .int16
        var float32 = int16
        float32.navigation = .float32
        return [("flat", .flat), ("kdtree", .kdtree(TreeParameters(leafSize: 8))), ("balltree", .balltree(TreeParameters(leafSize: 8, eps: 0.5))),
                ("hnsw-int16", .hnsw(int16)), ("hnsw-float32", .hnsw(float32))]
    }()

    @Test(arguments: specs.map(\.0), [Metric.l2, .cosine, .ip])
    func aSavedIndexAnswersAsTheBuiltOne(name: String, metric: Metric) throws {
        let spec = try #require(Self.specs.first { $0.0 == name }).1
        if metric == .ip && (name == "kdtree" || name == "balltree") { return }
        // 72 dimensions: flat scores with int16 codes where the CPU has VNNI; with copies of rows,
        // so HNSW saves its groups of identical rows.
        var data = Fixtures.randomVectors(1500, 72, seed: 51)
        for i in stride(from: 0, to: 1500, by: 11) { data[i] = data[3] }
        let matrix = VectorMatrix(data), queries = VectorMatrix(Fixtures.randomVectors(40, 72, seed: 52))
        let built = try spec.build(data: matrix, metric: metric, threads: 2, file: "data")
        let path = folder.file("\(name)-\(metric).knnindex")
        try IndexFile.write(built, spec: spec, metric: metric, dim: 72, path: path)
        let (loaded, loadedSpec) = try IndexFile.load(path: path, data: matrix, metric: metric)
        #expect(loadedSpec == spec)
        #expect(type(of: loaded) == type(of: built))
        for selfJoin in [false, true] {
            let asked = selfJoin ? matrix : queries
            #expect(searchAll(loaded, queries: asked, k: 10, selfJoin: selfJoin) == searchAll(built, queries: asked, k: 10, selfJoin: selfJoin),
                    "\(name) \(metric) self-join \(selfJoin)")
        }
        // Saving the loaded index gives the same bytes.
        let again = folder.file("\(name)-\(metric)-again.knnindex")
        try IndexFile.write(loaded, spec: loadedSpec, metric: metric, dim: 72, path: again)
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: path))
    }

    @Test func aFileThatIsNotAnIndexOrNotThisDatasetsIsRefused() throws {
        let data = VectorMatrix(Fixtures.randomVectors(300, 8, seed: 53))
        let path = folder.file("kd.knnindex")
        try IndexFile.write(IndexSpec.kdtree().build(data: data, metric: .l2, threads: 1, file: "d"), spec: .kdtree(), metric: .l2, dim: 8, path: path)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        func message(_ body: () throws -> Void) -> String? { knnError(body).map { "\($0)" } }

        #expect(message { _ = try IndexFile.load(path: path, data: data, metric: .cosine) }?.contains("built for metric l2, the job asks for cosine") == true)
        let other = VectorMatrix(Fixtures.randomVectors(301, 8, seed: 54))
        #expect(message { _ = try IndexFile.load(path: path, data: other, metric: .l2) }?.contains("built for 300 × 8 vectors, the dataset has 301 × 8") == true)

        folder.write("text.knnindex", text: "hello")
        #expect(message { _ = try IndexFile.load(path: folder.file("text.knnindex"), data: data, metric: .l2) }?.contains("not a knnbatch index file") == true)
        folder.write("truncated.knnindex", Array(bytes.prefix(bytes.count - 100)))
        #expect(message { _ = try IndexFile.load(path: folder.file("truncated.knnindex"), data: data, metric: .l2) }?.contains("truncated or corrupt") == true)
        var newer = Array(bytes)
        newer[8] = 9
        folder.write("newer.knnindex", newer)
        #expect(message { _ = try IndexFile.load(path: folder.file("newer.knnindex"), data: data, metric: .l2) }?.contains("format version 9") == true)
    }

    /// Bytes flipped anywhere: refused with an error or, where the flip lands in vector values,
    /// loaded as an index that answers (the checksum that tells is the index-files issue's); never
    /// a crash or an out-of-range id.
    @Test(arguments: ["kdtree", "hnsw-int16", "flat"])
    func flippedBytesNeverCrash(name: String) throws {
        let spec = try #require(Self.specs.first { $0.0 == name }).1
        let data = VectorMatrix(Fixtures.randomVectors(400, 72, seed: 55)), queries = VectorMatrix(Fixtures.randomVectors(5, 72, seed: 56))
        let path = folder.file("\(name).knnindex")
        try IndexFile.write(spec.build(data: data, metric: .l2, threads: 1, file: "d"), spec: spec, metric: .l2, dim: 72, path: path)
        let bytes = try #require(FileManager.default.contents(atPath: path).map(Array.init))
        var rng = SplitMix64(seed: 57)
        for trial in 0..<150 {
            var corrupt = bytes
            let at = trial < 50 ? Int.random(in: 0..<4096, using: &rng) : trial < 100 ? bytes.count - 1 - Int.random(in: 0..<(64 * 20), using: &rng)
                : Int.random(in: 0..<bytes.count, using: &rng)
            corrupt[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            let target = folder.write("corrupt.knnindex", corrupt)
            guard let (index, _) = try? IndexFile.load(path: target, data: data, metric: .l2) else { continue }
            for row in searchAll(index, queries: queries, k: 5) { #expect(row.allSatisfy { (0..<400).contains($0.id) }, "trial \(trial)") }
        }
    }
}
