/// Zstandard decompression (RFC 8878) into a buffer of the known uncompressed size.
///
/// Input: one or more frames, each a Zstandard frame or a skippable frame (magic 0x184D2A5?,
/// 4-byte size, ignored payload). Output: the frames' contents concatenated; it must fill the
/// buffer exactly. The whole output is the window, so matches may reach back to the start of
/// their frame (never into an earlier frame). Frames that need a dictionary are rejected.
enum Zstd {
    static let maxBlockSize = 128 * 1024
    static let frameMagic: UInt32 = 0xFD2F_B528

    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int {
        guard let base = input.baseAddress, input.count > 0 else { throw DecompressionError("zstd: empty input") }
        let workspace = ZstdWorkspace()
        defer { workspace.deallocate() }
        let placeholder = output.baseAddress == nil ? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1) : nil
        defer { placeholder?.deallocate() }
        let outStart = output.baseAddress ?? placeholder!
        let outEnd = outStart + output.count
        var position = 0
        var out = outStart
        while position < input.count {
            guard input.count - position >= 4 else { throw DecompressionError("zstd: truncated frame header") }
            let magic = UInt32(littleEndian: (base + position).loadUnaligned(as: UInt32.self))
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
                guard input.count - position >= 8 else { throw DecompressionError("zstd: truncated skippable frame") }
                let size = Int(UInt32(littleEndian: (base + position + 4).loadUnaligned(as: UInt32.self)))
                guard size <= input.count - position - 8 else { throw DecompressionError("zstd: truncated skippable frame") }
                position += 8 + size
                continue
            }
            guard magic == frameMagic else {
                throw DecompressionError("zstd: not a zstd frame (magic number 0x\(String(magic, radix: 16)))")
            }
            var frame = ZstdFrameDecoder(workspace: workspace, frameStart: out, outEnd: outEnd)
            position += try frame.decode(base + position, available: input.count - position)
            out = frame.out
        }
        guard out == outEnd else {
            throw DecompressionError("zstd: frames hold \(out - outStart) bytes but \(output.count) were expected")
        }
        return output.count
    }
}

/// Buffers reused across the frames of one call.
struct ZstdWorkspace {
    let huffmanTable = UnsafeMutablePointer<UInt16>.allocate(capacity: ZstdHuffman.tableSize)
    /// Literal lengths, offsets, match lengths: `FSE.maxCells` cells each.
    let sequenceTables = UnsafeMutablePointer<FSECell>.allocate(capacity: 3 * FSE.maxCells)
    let counts = UnsafeMutablePointer<Int16>.allocate(capacity: 64)
    /// A block's literals, plus 32 bytes that copies may read past the last one.
    let literals: UnsafeMutableRawPointer = {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Zstd.maxBlockSize + 32, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: Zstd.maxBlockSize + 32)
        return buffer
    }()

    func deallocate() {
        huffmanTable.deallocate()
        sequenceTables.deallocate()
        counts.deallocate()
        literals.deallocate()
    }
}

/// Decoding state of one frame: its output so far, the entropy tables and repeat offsets that
/// later blocks may reuse.
struct ZstdFrameDecoder {
    static let noTable = -1
    static let predefinedTable = -2

    let workspace: ZstdWorkspace
    let frameStart: UnsafeMutableRawPointer
    let outEnd: UnsafeMutableRawPointer
    var out: UnsafeMutableRawPointer
    /// Whether `workspace` holds a Huffman table of this frame, which treeless literals reuse.
    var hasHuffmanTable = false
    /// Accuracy log of each sequence code's table, or `noTable` / `predefinedTable`.
    var tableLogs = [noTable, noTable, noTable]
    var repeatOffsets = (1, 4, 8)

    init(workspace: ZstdWorkspace, frameStart: UnsafeMutableRawPointer, outEnd: UnsafeMutableRawPointer) {
        self.workspace = workspace
        self.frameStart = frameStart
        self.outEnd = outEnd
        self.out = frameStart
    }

    /// Frame header (RFC 8878 §3.1.1.1): magic; descriptor byte (bits 6-7 content-size field
    /// size code, 5 single segment, 3 reserved, 2 checksum flag, 0-1 dictionary-id size code);
    /// window descriptor unless single segment (exponent in bits 3-7, mantissa in 0-2); dictionary
    /// id (0/1/2/4 bytes); content size (0/1/2/4/8 bytes, the 2-byte form offset by 256). Then
    /// blocks, each a 3-byte header (bit 0 last, bits 1-2 type, bits 3-23 size), and the optional
    /// 4-byte checksum: the low half of the XXH64 of the content. Returns the bytes used.
    mutating func decode(_ frame: UnsafeRawPointer, available: Int) throws(DecompressionError) -> Int {
        func byte(_ i: Int) -> Int { Int(frame.load(fromByteOffset: i, as: UInt8.self)) }
        func littleEndian(_ at: Int, _ size: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<size { value |= UInt64(byte(at + i)) << (8 * i) }
            return value
        }
        guard available >= 6 else { throw DecompressionError("zstd: truncated frame header") }
        let descriptor = byte(4)
        let singleSegment = descriptor & 0x20 != 0
        let hasChecksum = descriptor & 0x04 != 0
        guard descriptor & 0x08 == 0 else { throw DecompressionError("zstd: reserved bit set in the frame header (corrupt data)") }
        let dictionaryIDSize = [0, 1, 2, 4][descriptor & 3]
        let contentSizeSize = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]
        var position = 5
        let headerSize = position + (singleSegment ? 0 : 1) + dictionaryIDSize + contentSizeSize
        guard available >= headerSize else { throw DecompressionError("zstd: truncated frame header") }
        var windowSize: UInt64 = 0
        if !singleSegment {
            let windowDescriptor = byte(position)
            let windowBase = UInt64(1) << UInt64(10 + windowDescriptor >> 3)
            windowSize = windowBase + windowBase / 8 * UInt64(windowDescriptor & 7)
            position += 1
        }
        let dictionaryID = littleEndian(position, dictionaryIDSize)
        position += dictionaryIDSize
        guard dictionaryID == 0 else {
            throw DecompressionError("zstd dictionaries are not supported (the frame needs dictionary \(dictionaryID))")
        }
        var contentSize: UInt64? = nil
        if contentSizeSize > 0 {
            contentSize = littleEndian(position, contentSizeSize) + (contentSizeSize == 2 ? 256 : 0)
            position += contentSizeSize
        }
        if singleSegment { windowSize = contentSize! }
        if let contentSize {
            guard contentSize <= UInt64(outEnd - out) else {
                throw DecompressionError("zstd: frame content size \(contentSize) exceeds the \(outEnd - out) bytes left in the output")
            }
        }
        let blockMaximum = Int(min(windowSize, UInt64(Zstd.maxBlockSize)))

        while true {
            guard available - position >= 3 else { throw DecompressionError("zstd: truncated block header") }
            let header = byte(position) | byte(position + 1) << 8 | byte(position + 2) << 16
            position += 3
            let blockSize = header >> 3
            guard blockSize <= blockMaximum else {
                throw DecompressionError("zstd: block size \(blockSize) exceeds the frame's window (\(blockMaximum) bytes)")
            }
            switch (header >> 1) & 3 {
            case 0:
                guard available - position >= blockSize else { throw DecompressionError("zstd: truncated raw block") }
                guard blockSize <= outEnd - out else { throw overflowError() }
                out.copyMemory(from: frame + position, byteCount: blockSize)
                out += blockSize
                position += blockSize
            case 1:
                guard available - position >= 1 else { throw DecompressionError("zstd: truncated RLE block") }
                guard blockSize <= outEnd - out else { throw overflowError() }
                out.initializeMemory(as: UInt8.self, repeating: UInt8(byte(position)), count: blockSize)
                out += blockSize
                position += 1
            case 2:
                guard available - position >= blockSize else { throw DecompressionError("zstd: truncated compressed block") }
                let blockStart = out
                try decodeCompressedBlock(frame + position, size: blockSize)
                guard out - blockStart <= blockMaximum else {
                    throw DecompressionError("zstd: block decodes to \(out - blockStart) bytes, more than the frame's window allows (\(blockMaximum))")
                }
                position += blockSize
            default:
                throw DecompressionError("zstd: reserved block type (corrupt data)")
            }
            if header & 1 != 0 { break }
        }

        let decoded = out - frameStart
        if let contentSize, UInt64(decoded) != contentSize {
            throw DecompressionError("zstd: frame holds \(decoded) bytes but its header says \(contentSize)")
        }
        if hasChecksum {
            guard available - position >= 4 else { throw DecompressionError("zstd: truncated content checksum") }
            let stored = UInt32(littleEndian: (frame + position).loadUnaligned(as: UInt32.self))
            let computed = UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(start: frameStart, count: decoded)))
            guard stored == computed else { throw DecompressionError("zstd: content checksum mismatch (corrupt data)") }
            position += 4
        }
        return position
    }

    func overflowError() -> DecompressionError {
        DecompressionError("zstd: frame holds more than the \(outEnd - frameStart) bytes expected")
    }

    /// A compressed block: literals section, then sequences section. With no sequences the
    /// literals are the block's whole output and are decoded straight into it.
    mutating func decodeCompressedBlock(_ block: UnsafeRawPointer, size: Int) throws(DecompressionError) {
        let literals = try ZstdLiteralsHeader(block, available: size)
        let sequences = block + literals.sectionSize
        let sequencesSize = size - literals.sectionSize
        let (count, countBytes) = try Self.sequenceCount(sequences, available: sequencesSize)
        if count == 0 {
            guard countBytes == sequencesSize else { throw DecompressionError("zstd: data after a block's last sequence (corrupt data)") }
            guard literals.regeneratedSize <= outEnd - out else { throw overflowError() }
            try decodeLiterals(literals, at: block, into: out)
            out += literals.regeneratedSize
            return
        }
        try decodeLiterals(literals, at: block, into: workspace.literals)
        try executeSequences(count: count, sequences + countBytes, available: sequencesSize - countBytes,
                             literals: workspace.literals, literalCount: literals.regeneratedSize)
    }
}
