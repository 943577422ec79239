/// Deflate decompression (RFC 1951) and its gzip (RFC 1952) and zlib (RFC 1950) wrappers.
///
/// Every entry point decodes into a caller-sized buffer that must come out exactly full: the
/// caller knows the uncompressed size (a Parquet page header, a zip member's directory entry).
enum Inflate {
    /// Raw deflate, as in zip members. Returns the input bytes the stream used (anything after
    /// its final block is left alone) and the bytes written, which equal `output.count`.
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> (consumed: Int, written: Int) {
        let result = try InflateBlocks.decode(input, into: output)
        guard result.written == output.count else {
            throw DecompressionError("deflate: stream ended after \(result.written) of the \(output.count) bytes expected")
        }
        return result
    }

    /// A gzip file: one or more members, each a header, a deflate stream, the CRC-32 and the size
    /// modulo 2^32 of its data. The output is the members' data concatenated. Zero bytes after the
    /// last member (padding some tools add) are accepted and counted as consumed.
    static func gunzip(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> (consumed: Int, written: Int) {
        guard let base = input.baseAddress, input.count > 0 else { throw DecompressionError("gzip: empty input") }
        var position = 0
        var written = 0
        var members = 0
        while position < input.count {
            if members > 0, (position..<input.count).allSatisfy({ base.load(fromByteOffset: $0, as: UInt8.self) == 0 }) {
                position = input.count
                break
            }
            if members > 0, input.count - position < 2 || input[position] != 0x1F || input[position + 1] != 0x8B {
                throw DecompressionError("gzip: \(input.count - position) bytes of trailing garbage after the last member")
            }
            let dataStart = try gzipHeaderLength(UnsafeRawBufferPointer(rebasing: input[position...])) + position
            let remainingOutput = UnsafeMutableRawBufferPointer(rebasing: output[written...])
            let member = try InflateBlocks.decode(UnsafeRawBufferPointer(rebasing: input[dataStart...]), into: remainingOutput)
            let trailer = dataStart + member.consumed
            guard input.count - trailer >= 8 else { throw DecompressionError("gzip: truncated member trailer") }
            let storedCRC = UInt32(littleEndian: (base + trailer).loadUnaligned(as: UInt32.self))
            let storedSize = UInt32(littleEndian: (base + trailer + 4).loadUnaligned(as: UInt32.self))
            let data = UnsafeRawBufferPointer(rebasing: remainingOutput[..<member.written])
            guard Checksums.crc32(data) == storedCRC else { throw DecompressionError("gzip: CRC32 mismatch (corrupt data)") }
            guard UInt32(truncatingIfNeeded: member.written) == storedSize else {
                throw DecompressionError("gzip: member size \(member.written) differs from the \(storedSize) its trailer records")
            }
            written += member.written
            position = trailer + 8
            members += 1
        }
        guard written == output.count else {
            throw DecompressionError("gzip: stream holds \(written) bytes but \(output.count) were expected")
        }
        return (position, written)
    }

    /// Parses a gzip member header: magic 1F 8B, method 8, flags, mtime, extra flags, OS, then
    /// per flag an extra field (2-byte length + data), a zero-terminated name, a zero-terminated
    /// comment and a 2-byte header CRC (low half of the CRC-32 of the header before it).
    static func gzipHeaderLength(_ header: UnsafeRawBufferPointer) throws(DecompressionError) -> Int {
        guard header.count >= 10 else { throw DecompressionError("gzip: truncated header") }
        guard header[0] == 0x1F, header[1] == 0x8B else { throw DecompressionError("gzip: not a gzip stream (bad magic bytes)") }
        guard header[2] == 8 else { throw DecompressionError("gzip: unknown compression method \(header[2]) (only deflate is defined)") }
        let flags = header[3]
        guard flags & 0xE0 == 0 else { throw DecompressionError("gzip: reserved header flags set") }
        var position = 10
        if flags & 0x04 != 0 {
            guard header.count - position >= 2 else { throw DecompressionError("gzip: truncated header extra field") }
            let length = Int(header[position]) | Int(header[position + 1]) << 8
            position += 2
            guard header.count - position >= length else { throw DecompressionError("gzip: truncated header extra field") }
            position += length
        }
        for (flag, name) in [(UInt8(0x08), "file name"), (UInt8(0x10), "comment")] where flags & flag != 0 {
            guard let terminator = header[position...].firstIndex(of: 0) else {
                throw DecompressionError("gzip: unterminated header \(name)")
            }
            position = terminator + 1
        }
        if flags & 0x02 != 0 {
            guard header.count - position >= 2 else { throw DecompressionError("gzip: truncated header CRC") }
            let stored = UInt32(header[position]) | UInt32(header[position + 1]) << 8
            let computed = Checksums.crc32(UnsafeRawBufferPointer(rebasing: header[..<position])) & 0xFFFF
            guard stored == computed else { throw DecompressionError("gzip: header CRC mismatch") }
            position += 2
        }
        return position
    }

    /// A zlib stream: CMF (method 8, window log - 8 in the high nibble), FLG (check bits making
    /// CMF*256+FLG a multiple of 31, preset-dictionary flag), deflate data, big-endian Adler-32.
    static func zlibInflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> (consumed: Int, written: Int) {
        guard input.count >= 2 else { throw DecompressionError("zlib: truncated header") }
        let cmf = Int(input[0]), flg = Int(input[1])
        guard cmf & 0x0F == 8, cmf >> 4 <= 7 else { throw DecompressionError("zlib: not a zlib deflate stream (method byte \(cmf))") }
        guard (cmf << 8 | flg) % 31 == 0 else { throw DecompressionError("zlib: header check bits are wrong (not a zlib stream?)") }
        guard flg & 0x20 == 0 else { throw DecompressionError("zlib: preset dictionaries are not supported") }
        let body = try inflate(UnsafeRawBufferPointer(rebasing: input[2...]), into: output)
        let trailer = 2 + body.consumed
        guard input.count - trailer >= 4 else { throw DecompressionError("zlib: truncated Adler-32 trailer") }
        let stored = UInt32(bigEndian: (input.baseAddress! + trailer).loadUnaligned(as: UInt32.self))
        guard Checksums.adler32(UnsafeRawBufferPointer(output)) == stored else { throw DecompressionError("zlib: Adler-32 mismatch (corrupt data)") }
        return (trailer + 4, body.written)
    }
}
