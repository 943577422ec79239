import Testing
@testable import KNNCore

@Suite struct BinaryFormatTests {
    let folder = TemporaryFolder()
    let rows: [[Float]] = [[1, 2, 3], [4, 5, 6.5], [-7, 8e-3, 9]]

    func load(_ name: String, _ format: VectorFormat) throws -> LoadedVectors {
        try VectorLoader.load(VectorSource(path: folder.file(name), format: format))
    }

    func expectDataError(_ name: String, _ format: VectorFormat, containing text: String, location: String? = nil) {
        let error = knnError { _ = try load(name, format) }
        guard case .data(let file, let where_, let message)? = error else {
            Issue.record("expected a data error, got \(String(describing: error))")
            return
        }
        #expect(file == folder.file(name))
        #expect(message.contains(text), "\(message)")
        if let location { #expect(where_ == location) }
    }

    @Test func fvecsIsMappedInPlaceWithRowHeadersSkipped() throws {
        folder.write("a.fvecs", Fixtures.fvecs(rows))
        let loaded = try load("a.fvecs", .fvecs)
        #expect(loaded.matrix.toArrays() == rows)
        #expect(loaded.info.memoryMapped)
        #expect(loaded.matrix.stride == 4)
        #expect(loaded.info.rows == 3 && loaded.info.dim == 3 && loaded.info.element == .float32)
    }

    @Test func bvecsAndIvecsAreConvertedToFloat() throws {
        folder.write("a.bvecs", Fixtures.bvecs([[0, 255], [7, 1]]))
        folder.write("a.ivecs", Fixtures.ivecs([[-3, 100000], [5, 6]]))
        #expect(try load("a.bvecs", .bvecs).matrix.toArrays() == [[0, 255], [7, 1]])
        #expect(try load("a.ivecs", .ivecs).matrix.toArrays() == [[-3, 100000], [5, 6]])
        #expect(try !load("a.bvecs", .bvecs).info.memoryMapped)
    }

    @Test func truncatedFvecsNamesTheProblem() {
        folder.write("t.fvecs", Array(Fixtures.fvecs(rows).dropLast(2)))
        expectDataError("t.fvecs", .fvecs, containing: "not a whole number of 16-byte rows")
    }

    @Test func corruptRowHeaderNamesTheVector() {
        var bytes = Fixtures.fvecs(rows)
        bytes.replaceSubrange(32..<36, with: Fixtures.int32(99))
        folder.write("c.fvecs", bytes)
        expectDataError("c.fvecs", .fvecs, containing: "dimension header is 99", location: "vector 2")
    }

    @Test func emptyAndNonsenseFilesAreDataErrors() {
        folder.write("e.fvecs", [])
        expectDataError("e.fvecs", .fvecs, containing: "empty")
        folder.write("n.fvecs", Fixtures.int32(-5) + Fixtures.int32(0))
        expectDataError("n.fvecs", .fvecs, containing: "dimension header is -5")
    }

    @Test(arguments: [UInt8(1), 2, 3])
    func npyFloat32EveryHeaderVersionIsMapped(version: UInt8) throws {
        folder.write("a.npy", Fixtures.npyFloat32(rows, version: version))
        let loaded = try load("a.npy", .npy)
        #expect(loaded.matrix.toArrays() == rows)
        #expect(loaded.info.memoryMapped)
    }

    @Test func npyOtherElementTypesAreConverted() throws {
        folder.write("f8.npy", Fixtures.npy(descr: "<f8", shape: [2, 2], payload: [1.5, -2, 3, 1e-3].flatMap(Fixtures.float64)))
        #expect(try load("f8.npy", .npy).matrix.toArrays() == [[1.5, -2], [3, Float(1e-3)]])
        folder.write("u1.npy", Fixtures.npy(descr: "|u1", shape: [1, 3], payload: [0, 128, 255]))
        #expect(try load("u1.npy", .npy).matrix.toArrays() == [[0, 128, 255]])
        folder.write("i1.npy", Fixtures.npy(descr: "|i1", shape: [1, 2], payload: [0xFF, 0x7F]))
        #expect(try load("i1.npy", .npy).matrix.toArrays() == [[-1, 127]])
        // float16 by hand: 0x3C00 = 1, 0xC000 = −2, 0x3555 ≈ 0.333251953125, 0x0001 = 2⁻²⁴ (the
        // smallest subnormal), 0x7BFF = 65504 (the largest), 0x8000 = −0.
        let halves: [UInt16] = [0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x8000]
        folder.write("f2.npy", Fixtures.npy(descr: "<f2", shape: [2, 3], payload: halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        let f2 = try load("f2.npy", .npy).matrix.toArrays()
        #expect(f2 == [[1, -2, 0.333251953125], [Float(bitPattern: 0x3380_0000), 65504, -0.0]])
        #expect(f2[1][2].sign == .minus)
        // Every half converts exactly: against the standard library's Float16 where it exists.
        #if !(os(macOS) && arch(x86_64))
        for bits in UInt16.min...UInt16.max where !Float16(bitPattern: bits).isNaN {
            #expect(BinaryLayout.float(half: bits).bitPattern == Float(Float16(bitPattern: bits)).bitPattern, "half \(bits)")
        }
        #endif
        folder.write("i2.npy", Fixtures.npy(descr: "<i2", shape: [1, 3], payload: [0x00, 0x80, 0xFF, 0x7F, 0x05, 0x00]))
        #expect(try load("i2.npy", .npy).matrix.toArrays() == [[-32768, 32767, 5]])
        folder.write("i4.npy", Fixtures.npy(descr: "<i4", shape: [1, 2], payload: [0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(try load("i4.npy", .npy).matrix.toArrays() == [[16_777_216, -1]])
        // 2²⁴ + 1 is not a float32: refused, not rounded.
        folder.write("i4big.npy", Fixtures.npy(descr: "<i4", shape: [1, 1], payload: [0x01, 0x00, 0x00, 0x01]))
        expectDataError("i4big.npy", .npy, containing: "integer 16777217 at dimension 0 is not exactly a float32")
    }

    @Test func npyRejectsWhatItCannotSearch() {
        folder.write("fortran.npy", Fixtures.npy(descr: "<f4", shape: [1, 1], payload: Fixtures.float32(1), fortran: true))
        expectDataError("fortran.npy", .npy, containing: "Fortran order")
        folder.write("3d.npy", Fixtures.npy(descr: "<f4", shape: [1, 1, 1], payload: Fixtures.float32(1)))
        expectDataError("3d.npy", .npy, containing: "3 dimensions")
        folder.write("1d.npy", Fixtures.npy(descr: "<f4", shape: [4], payload: Array(repeating: 0, count: 16)))
        expectDataError("1d.npy", .npy, containing: "1 dimensions")
        folder.write("be.npy", Fixtures.npy(descr: ">f4", shape: [1, 1], payload: Fixtures.float32(1)))
        expectDataError("be.npy", .npy, containing: "big-endian")
        folder.write("c8.npy", Fixtures.npy(descr: "<c8", shape: [1, 1], payload: Array(repeating: 0, count: 8)))
        expectDataError("c8.npy", .npy, containing: "'<c8' is not supported")
        folder.write("short.npy", Fixtures.npy(descr: "<f4", shape: [2, 3], payload: Array(repeating: 0, count: 20)))
        expectDataError("short.npy", .npy, containing: "truncated: shape (2, 3)")
        folder.write("magic.npy", Array("not numpy at all".utf8))
        expectDataError("magic.npy", .npy, containing: "bad magic")
        folder.write("zero.npy", Fixtures.npy(descr: "<f4", shape: [0, 3], payload: []))
        expectDataError("zero.npy", .npy, containing: "0 rows")
        var cut = Fixtures.npyFloat32(rows)
        cut.removeLast(cut.count - 30)
        folder.write("cut.npy", cut)
        expectDataError("cut.npy", .npy, containing: "truncated header")
    }

    @Test func absurdShapesAreErrorsNotCrashes() {
        folder.write("huge.npy", Fixtures.npy(descr: "<f4", shape: [1, 4_611_686_018_427_387_904], payload: []))
        expectDataError("huge.npy", .npy, containing: "truncated")
        folder.write("huge2.npy", Fixtures.npy(descr: "|u1", shape: [1, Int.max], payload: []))
        expectDataError("huge2.npy", .npy, containing: "truncated")
        folder.write("trailing.npy", Fixtures.npyFloat32(rows) + [0, 0, 0, 0])
        expectDataError("trailing.npy", .npy, containing: "4 bytes follow the data")
    }

    @Test func float64BeyondFloat32RangeIsAnErrorNotInfinity() {
        folder.write("big.npy", Fixtures.npy(descr: "<f8", shape: [1, 2], payload: [1, 1e300].flatMap(Fixtures.float64)))
        expectDataError("big.npy", .npy, containing: "does not fit in float32", location: "vector 0")
    }

    @Test func missingFileIsAnIOError() {
        let error = knnError { _ = try load("missing.fvecs", .fvecs) }
        #expect(error == .io(path: folder.file("missing.fvecs"), message: "no such file"))
        #expect(error?.exitCode == 74)
    }

    @Test func probeChecksEveryRowHeaderButNotTheValues() throws {
        // validate's probe catches a corrupt row header anywhere...
        var bytes = Fixtures.fvecs(rows)
        bytes.replaceSubrange(32..<36, with: Fixtures.int32(7))
        folder.write("p.fvecs", bytes)
        #expect(knnError { _ = try VectorLoader.probe(VectorSource(path: folder.file("p.fvecs"), format: .fvecs)) }
                == .data(file: folder.file("p.fvecs"), location: "vector 2", message: "dimension header is 7, but vector 0 has 3: corrupt or mixed-dimension file"))
        // ...but leaves the values to the run.
        folder.write("nan.fvecs", Fixtures.fvecs([[1, 2], [.nan, 0]]))
        let info = try VectorLoader.probe(VectorSource(path: folder.file("nan.fvecs"), format: .fvecs))
        #expect(info.rows == 2 && info.dim == 2)
    }
}
