import Foundation
import Testing
@testable import KNNCore

/// Every index type writes itself to the one index-file layout and maps back to an index that
/// answers exactly as the one built; a file that is not what it claims is an error naming the
/// file and section, never a crash.
@Suite(.skippedUnderThreadSanitizer) struct IndexFileTests {
    let folder = TemporaryFolder()

    /// The file standing for the dataset: its fingerprint is what an index records.
    var datasetFile: String {
        if !folder.exists("dataset.bin") { folder.write("dataset.bin", Array("the dataset's bytes".utf8)) }
        return folder.file("dataset.bin")
    }

    func save(_ index: any VectorIndex, _ spec: IndexSpec, _ metric: Metric, dim: Int, path: String) throws {
        try IndexFile.write(index, parameters: spec.parameters, metric: metric, dim: dim, dataset: DatasetIdentity(path: datasetFile, threads: 1).fingerprint(), path: path)
    }

    func load(_ path: String, _ spec: IndexSpec, _ data: VectorMatrix, _ metric: Metric, dataset: String? = nil) throws -> any VectorIndex {
        try IndexFile.load(path: path, parameters: spec.parameters, data: data, metric: metric, dataset: DatasetIdentity(path: dataset ?? datasetFile, threads: 1))
    }

    static let specs: [(String, IndexSpec)] = {
        var int16 = HNSWParameters(connectivity: 8, expansionAdd: 40, expansionSearch: 30)
        int16.navigation = .int16
        var float32 = int16
        float32.navigation = .float32
        return [("flat", .flat), ("kdtree", .kdtree(TreeParameters(leafSize: 8))), ("balltree", .balltree(TreeParameters(leafSize: 8, eps: 0.5))),
                ("hnsw-int16", .hnsw(int16)), ("hnsw-float32", .hnsw(float32)),
                ("forest", IndexSpec(ForestParameters(trees: 4, leafSize: 16))), ("lsh", IndexSpec(LSHParameters(tables: 4, probes: 8))),
                ("lsh-hamming", IndexSpec(LSHParameters(tables: 2, bits: 40, search: .hamming, rerank: 3))),
                ("ivf", IndexSpec(IVFParameters(lists: 12, probe: 3))),
                ("ivfpq", IndexSpec(IVFPQParameters(coarse: IVFParameters(lists: 12, probe: 3), subspaces: 18))),
                ("ivfpq8", IndexSpec(IVFPQParameters(coarse: IVFParameters(lists: 12, probe: 3), subspaces: 9, bits: 8))),
                ("ivfpq-vectors", IndexSpec(IVFPQParameters(coarse: IVFParameters(lists: 12, probe: 3), subspaces: 36, residual: false)))]
    }()

    @Test(arguments: specs.map(\.0), [Metric.l2, .cosine, .ip])
    func aSavedIndexAnswersAsTheBuiltOne(name: String, metric: Metric) throws {
        let spec = try #require(Self.specs.first { $0.0 == name }).1
        if metric == .ip && (name == "kdtree" || name == "balltree") { return }
        // The other ivfpq codes share the files' code path; one metric each keeps the suite's time down.
        if (name == "ivfpq8" && metric != .l2) || (name == "ivfpq-vectors" && metric != .cosine) { return }
        if name == "lsh-hamming" && metric == .l2 { return }
        // 72 dimensions: flat scores with int16 codes where the CPU has VNNI; with copies of rows,
        // so HNSW saves its groups of identical rows.
        var data = Fixtures.randomVectors(1500, 72, seed: 51)
        for i in stride(from: 0, to: 1500, by: 11) { data[i] = data[3] }
        let matrix = VectorMatrix(data), queries = VectorMatrix(Fixtures.randomVectors(40, 72, seed: 52))
        let built = try spec.build(data: matrix, metric: metric, threads: 2, file: "data")
        let path = folder.file("\(name)-\(metric).knnindex")
        try save(built, spec, metric, dim: 72, path: path)
        let loaded = try load(path, spec, matrix, metric)
        #expect(type(of: loaded) == type(of: built))
        for selfJoin in [false, true] {
            let asked = selfJoin ? matrix : queries
            #expect(searchAll(loaded, queries: asked, k: 10, selfJoin: selfJoin) == searchAll(built, queries: asked, k: 10, selfJoin: selfJoin),
                    "\(name) \(metric) self-join \(selfJoin)")
        }
        // Saving the loaded index gives the same bytes.
        let again = folder.file("\(name)-\(metric)-again.knnindex")
        try save(loaded, spec, metric, dim: 72, path: again)
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: path))
    }

    /// One lsh file serves both search modes when the jobs set the same bits; under the modes'
    /// different defaults the loader names bits instead of failing on a section.
    @Test func anLSHFileServesBothSearchModesWithTheSameBits() throws {
        let data = VectorMatrix(Fixtures.randomVectors(500, 8, seed: 58)), queries = VectorMatrix(Fixtures.randomVectors(20, 8, seed: 59))
        func message(_ body: () throws -> Void) -> String? { knnError(body).map { "\($0)" } }
        let buckets = IndexSpec(LSHParameters(tables: 4)), defaults = folder.file("lsh-defaults.knnindex")
        try save(buckets.build(data: data, metric: .cosine, threads: 1, file: "d"), buckets, .cosine, dim: 8, path: defaults)
        let hamming = IndexSpec(LSHParameters(tables: 4, search: .hamming))
        #expect(message { _ = try load(defaults, hamming, data, .cosine) }?.contains(
            #"built with bits 5, the job resolves bits to 64 (the default under "search": "hamming"); jobs that share one file across search modes must set the same "bits""#) == true)
        let shared = IndexSpec(LSHParameters(tables: 4, bits: 20)), path = folder.file("lsh-20.knnindex")
        try save(shared.build(data: data, metric: .cosine, threads: 1, file: "d"), shared, .cosine, dim: 8, path: path)
        let ranked = IndexSpec(LSHParameters(tables: 4, bits: 20, search: .hamming, rerank: 3))
        let loaded = try load(path, ranked, data, .cosine)
        #expect(searchAll(loaded, queries: queries, k: 5) == searchAll(try ranked.build(data: data, metric: .cosine, threads: 1, file: "d"), queries: queries, k: 5))
    }

    @Test func aFileThatIsNotAnIndexOrNotThisJobsIsRefused() throws {
        let data = VectorMatrix(Fixtures.randomVectors(300, 8, seed: 53))
        let path = folder.file("kd.knnindex")
        try save(IndexSpec.kdtree().build(data: data, metric: .l2, threads: 1, file: "d"), .kdtree(), .l2, dim: 8, path: path)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        func message(_ body: () throws -> Void) -> String? { knnError(body).map { "\($0)" } }

        // Search parameters may differ; build parameters, the type, metric, shape and dataset may not.
        #expect(try searchAll(load(path, .kdtree(TreeParameters(eps: 2)), data, .l2), queries: data, k: 3).count == 300)
        #expect(message { _ = try load(path, .kdtree(TreeParameters(leafSize: 5)), data, .l2) }?.contains("built with leaf_size 32, the job asks for 5") == true)
        #expect(message { _ = try load(path, .balltree(), data, .l2) }?.contains("holds a kdtree index, the job asks for balltree") == true)
        #expect(message { _ = try load(path, .kdtree(), data, .cosine) }?.contains("built for metric l2, the job asks for cosine") == true)
        let other = VectorMatrix(Fixtures.randomVectors(301, 8, seed: 54))
        #expect(message { _ = try load(path, .kdtree(), other, .l2) }?.contains("built for 300 × 8 vectors, the dataset has 301 × 8") == true)
        // Another file of the same size, other bytes: another dataset. A copy (same bytes, another
        // modification time) is the same dataset.
        let changed = folder.write("changed.bin", Array("the dataset's bites".utf8))
        #expect(message { _ = try load(path, .kdtree(), data, .l2, dataset: changed) }?.contains("built from another version of the dataset") == true)
        let copy = folder.write("copy.bin", Array("the dataset's bytes".utf8))
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, copy, &times, 0) == 0)
        #expect(throws: Never.self) { _ = try load(path, .kdtree(), data, .l2, dataset: copy) }

        folder.write("text.knnindex", text: "hello")
        #expect(message { _ = try load(folder.file("text.knnindex"), .kdtree(), data, .l2) }?.contains("not a knnbatch index file") == true)
        folder.write("truncated.knnindex", Array(bytes.prefix(bytes.count - 100)))
        #expect(message { _ = try load(folder.file("truncated.knnindex"), .kdtree(), data, .l2) }?.contains("truncated or corrupt") == true)
        var newer = Array(bytes)
        newer[8] = 9
        folder.write("newer.knnindex", newer)
        #expect(message { _ = try load(folder.file("newer.knnindex"), .kdtree(), data, .l2) }?.contains("format version 9") == true)
    }

    /// A forest file whose checksums hold but whose arrays the builder would not make is refused,
    /// naming the section: normals not of unit length (as an earlier release saved them: the
    /// job's default reuse rebuilds it), a leaf of more rows than leaf_size, rows that do not
    /// hold every vector once or hold one out of range, and a file whose leaves are in
    /// `forest.items` (an earlier release's: vector ids over rows in id order, rebuilt). The
    /// forest as built loads, and so does one laid out with its rows in id order: both answer as
    /// built.
    @Test(arguments: [Metric.l2, .cosine])
    func aForestFileHoldsWhatTheBuilderMakes(metric: Metric) throws {
        let data = VectorMatrix(Fixtures.randomVectors(600, 24, seed: 58))
        let built = Forest(data: data, metric: metric, parameters: ForestParameters(trees: 3, leafSize: 32), threads: 1)
        func crafted(_ parameters: ForestParameters, planes: FloatBuffer, ids: AlignedBuffer<Int32>? = nil) -> Forest {
            Forest(metric: metric, parameters: parameters, data: data, points: built.points, planes: planes, children: built.children,
                   leafStarts: built.leafStarts, items: built.items, roots: built.roots, ids: ids ?? built.ids, rows: built.rows)
        }
        func loadError(_ forest: Forest, _ parameters: ForestParameters) throws -> String? {
            let path = folder.file("crafted.knnindex")
            try save(forest, IndexSpec(parameters), metric, dim: 24, path: path)
            return knnError { _ = try load(path, IndexSpec(parameters), data, metric) }.map { "\($0)" }
        }
        #expect(try loadError(built, built.parameters) == nil)
        let doubled = FloatBuffer(count: built.planes.count)
        for i in 0..<built.planes.count { doubled.pointer[i] = built.planes.pointer[i] * 2 }
        let planes = try #require(try loadError(crafted(built.parameters, planes: doubled), built.parameters))
        #expect(planes.contains("forest.planes") && planes.contains("not 1"), "\(planes)")
        // The same arrays claimed to have leaves of 8: the builder's hold up to 32.
        let smaller = ForestParameters(trees: 3, leafSize: 8)
        let leaves = try #require(try loadError(crafted(smaller, planes: built.planes), smaller))
        #expect(leaves.contains("forest.leaf_starts") && leaves.contains("more than leaf_size 8"), "\(leaves)")
        let twice = AlignedBuffer<Int32>(count: 600)
        twice.pointer.update(from: built.ids.pointer, count: 600)
        twice.pointer[7] = twice.pointer[3]
        let ids = try #require(try loadError(crafted(built.parameters, planes: built.planes, ids: twice), built.parameters))
        #expect(ids.contains("forest.ids") && ids.contains("row 7"), "\(ids)")
        for bad: Int32 in [600, -1] {
            let outside = AlignedBuffer<Int32>(count: 600)
            outside.pointer.update(from: built.ids.pointer, count: 600)
            outside.pointer[11] = bad
            let message = try #require(try loadError(crafted(built.parameters, planes: built.planes, ids: outside), built.parameters))
            #expect(message.contains("forest.ids") && message.contains("row 11 holds vector \(bad)"), "\(message)")
        }

        let queries = VectorMatrix(Fixtures.randomVectors(30, 24, seed: 60)), spec = IndexSpec(built.parameters), path = folder.file("forest.knnindex")
        let expected = searchAll(built, queries: queries, k: 5)
        for forest in [built, ForestTests.inIDOrder(built)] {
            try save(forest, spec, metric, dim: 24, path: path)
            #expect(searchAll(try load(path, spec, data, metric), queries: queries, k: 5) == expected)
        }
        // An earlier release named the leaves `forest.items` and saved no `forest.ids`.
        try save(ForestTests.inIDOrder(built), spec, metric, dim: 24, path: path)
        try renameSections(path, ["forest.leaf_rows": "forest.items", "forest.ids": "forest.unused"])
        #expect(try IndexFileReader(path: path).has("forest.items"))
        let earlier = try #require(knnError { _ = try load(path, spec, data, metric) }.map { "\($0)" })
        #expect(earlier.contains("forest.leaf_rows") && earlier.contains("earlier release"), "\(earlier)")
    }

    /// Renames sections of the index file at `path` in its table, and makes the table's checksum
    /// good again: a file as another release would have named its sections.
    func renameSections(_ path: String, _ names: [String: String]) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let size = bytes.count
        let tableOffset = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: size - 16, as: UInt64.self) })
        let count = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: size - 8, as: UInt32.self) })
        for i in 0..<count {
            let at = tableOffset + i * IndexFile.entryBytes
            let name = String(decoding: bytes[at..<(at + IndexFile.nameBytes)].prefix { $0 != 0 }, as: UTF8.self)
            guard let renamed = names[name] else { continue }
            let utf8 = Array(renamed.utf8)
            bytes.replaceSubrange(at..<(at + IndexFile.nameBytes), with: utf8 + [UInt8](repeating: 0, count: IndexFile.nameBytes - utf8.count))
        }
        let covered = Array(bytes[0..<IndexFile.alignment]) + Array(bytes[tableOffset..<(size - 24)])
        let checksum = covered.withUnsafeBytes { ContentHash.of($0) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange((size - 24)..<(size - 16), with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A forest whose walk uses plane codes saves them, and a run maps them back instead of
    /// coding the planes again: the same codes and scales as the forest built. A file without
    /// them (saved where the walk uses float margins) has them derived, the same again; a
    /// saved scale that is not a finite non-negative number is refused, naming its section.
    @Test(arguments: [Metric.cosine, .ip])
    func aForestMapsItsSavedPlaneCodes(metric: Metric) throws {
        let data = VectorMatrix(Fixtures.randomVectors(700, 48, seed: 59))
        let built = Forest(data: data, metric: metric, parameters: ForestParameters(trees: 3, leafSize: 16), threads: 1)
        guard let codes = built.planeCodes else { return }  // this CPU walks on float margins
        let spec = IndexSpec(built.parameters), path = folder.file("codes.knnindex")
        func loaded(_ forest: Forest) throws -> PlaneCodes {
            try save(forest, spec, metric, dim: 48, path: path)
            return try #require((try load(path, spec, data, metric) as? Forest)?.planeCodes)
        }
        func same(_ a: PlaneCodes, _ b: PlaneCodes) -> Bool { Array(a.codes.buffer) == Array(b.codes.buffer) && Array(a.scales.buffer) == Array(b.scales.buffer) }
        let mapped = try loaded(built)
        #expect(same(mapped, codes))
        #expect(try IndexFileReader(path: path).has("forest.plane_codes_int8"))
        func variant(_ planeCodes: PlaneCodes?) -> Forest {
            Forest(metric: metric, parameters: built.parameters, data: data, points: built.points, planes: built.planes, children: built.children,
                   leafStarts: built.leafStarts, items: built.items, roots: built.roots, ids: built.ids, planeCodes: .some(planeCodes))
        }
        #expect(same(try loaded(variant(nil)), codes))
        #expect(try !IndexFileReader(path: path).has("forest.plane_codes_int8"))
        // Mapped, not derived: codes the planes would not give come back as saved.
        let bytes = AlignedBuffer<Int8>(count: codes.codes.count)
        bytes.pointer.update(from: codes.codes.pointer, count: codes.codes.count)
        bytes.pointer.update(repeating: 7, count: codes.rowBytes)
        let altered = PlaneCodes(rowWords: codes.rowWords, codes: bytes, scales: codes.scales)
        #expect(same(try loaded(variant(altered)), altered) && !same(altered, codes))
        let scales = FloatBuffer(count: codes.scales.count)
        scales.pointer.update(from: codes.scales.pointer, count: codes.scales.count)
        scales.pointer[1] = -scales.pointer[1]
        try save(variant(PlaneCodes(rowWords: codes.rowWords, codes: codes.codes, scales: scales)), spec, metric, dim: 48, path: path)
        let message = try #require(knnError { _ = try load(path, spec, data, metric) }.map { "\($0)" })
        #expect(message.contains("forest.plane_scales_int8") && message.contains("plane 1"), "\(message)")
    }

    /// 200 files with one bit flipped anywhere (the header, the table, the sections): every one
    /// is refused with an error naming the file, thanks to the checksums; none crashes.
    @Test(arguments: ["kdtree", "hnsw-int16", "flat", "forest", "lsh", "ivf", "ivfpq", "ivfpq8", "ivfpq-vectors"])
    func everyFlippedBitIsRefused(name: String) throws {
        let spec = try #require(Self.specs.first { $0.0 == name }).1
        let data = VectorMatrix(Fixtures.randomVectors(400, 72, seed: 55))
        let path = folder.file("\(name).knnindex")
        try save(spec.build(data: data, metric: .l2, threads: 1, file: "d"), spec, .l2, dim: 72, path: path)
        let bytes = try #require(FileManager.default.contents(atPath: path).map(Array.init))
        var rng = SplitMix64(seed: 57)
        for trial in 0..<200 {
            var corrupt = bytes
            let at = trial < 50 ? Int.random(in: 0..<4096, using: &rng) : trial < 100 ? bytes.count - 1 - Int.random(in: 0..<(64 * 20), using: &rng)
                : Int.random(in: 0..<bytes.count, using: &rng)
            corrupt[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            let target = folder.write("corrupt.knnindex", corrupt)
            let error = knnError { _ = try load(target, spec, data, .l2) }
            // A flip in the zero padding between sections changes nothing that is read.
            if error == nil {
                let padding = Self.isPadding(at, in: bytes)
                #expect(padding, "trial \(trial): byte \(at) flipped and the file was used")
            }
            if case .data(let file, _, _)? = error { #expect(file == target) }
        }
    }

    /// Whether `offset` lies in the zeros between sections (read from the table), which no
    /// checksum covers and nothing reads.
    static func isPadding(_ offset: Int, in bytes: [UInt8]) -> Bool {
        let size = bytes.count
        let table = bytes[(size - 16)..<(size - 8)].withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let count = bytes[(size - 8)..<(size - 4)].withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        guard offset >= 4096 && offset < table else { return false }
        for i in 0..<count {
            let entry = table + i * 64 + 40
            let (start, length) = bytes[entry..<(entry + 16)].withUnsafeBytes {
                (Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))), Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))))
            }
            if (start..<(start + length)).contains(offset) { return false }
        }
        return true
    }
}
