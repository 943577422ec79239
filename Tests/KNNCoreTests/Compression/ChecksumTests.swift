import Testing
@testable import KNNCore

struct ChecksumTests {
    func bytes(_ values: [UInt8], _ body: (UnsafeRawBufferPointer) -> UInt64) -> UInt64 {
        values.withUnsafeBytes(body)
    }

    @Test func crc32() {
        #expect(bytes(Array("123456789".utf8)) { UInt64(Checksums.crc32($0)) } == 0xCBF4_3926)
        // Long enough for the 8-byte steps.
        #expect(bytes((0..<10240).map { UInt8($0 & 0xFF) }) { UInt64(Checksums.crc32($0)) } == 0xBBCE_3B9D)
    }

    @Test func adler32() {
        #expect(bytes(Array("Wikipedia".utf8)) { UInt64(Checksums.adler32($0)) } == 0x11E6_0398)
        // Longer than one 5552-byte run between reductions.
        #expect(bytes((0..<10240).map { UInt8($0 & 0xFF) }) { UInt64(Checksums.adler32($0)) } == 0xF475_ED1E)
    }

    @Test func xxhash64() {
        #expect(bytes([]) { XXHash64.hash($0) } == 0xEF46_DB37_51D8_E999)
        #expect(bytes(Array("abc".utf8)) { XXHash64.hash($0) } == 0x44BC_2CF5_AD77_0999)
        // 100 bytes: three 32-byte stripes, then 8-byte and 4-byte tails.
        #expect(bytes((0..<100).map { UInt8($0) }) { XXHash64.hash($0) } == 0x6AC1_E580_3216_6597)
    }
}
