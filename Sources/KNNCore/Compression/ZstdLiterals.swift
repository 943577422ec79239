/// The literals section at the start of a compressed block (RFC 8878 §3.1.1.3.1).
///
/// Header, first byte: bits 0-1 type (0 raw, 1 RLE, 2 Huffman-compressed, 3 treeless: Huffman
/// with the previous block's table), bits 2-3 size format.
/// - Raw/RLE: size format x0 → 1-byte header, 5-bit size; 01 → 2 bytes, 12-bit size;
///   11 → 3 bytes, 20-bit size. Then the bytes (raw) or the one byte to repeat (RLE).
/// - Compressed/treeless: 00 → 1 stream, 01 → 4 streams, both with a 3-byte header holding two
///   10-bit sizes; 10 → 4 streams, 4-byte header, two 14-bit sizes; 11 → 4 streams, 5-byte
///   header, two 18-bit sizes. Regenerated size first, then compressed size (which includes the
///   tree description when there is one).
struct ZstdLiteralsHeader {
    enum Kind { case raw, rle, compressed, treeless }
    var kind: Kind
    var regeneratedSize: Int
    /// Bytes of payload after the header: the data (raw), 1 (RLE), tree + streams (compressed).
    var payloadSize: Int
    var headerSize: Int
    var fourStreams: Bool

    var sectionSize: Int { headerSize + payloadSize }

    init(_ block: UnsafeRawPointer, available: Int) throws(DecompressionError) {
        guard available >= 1 else { throw DecompressionError("zstd: truncated literals header") }
        func byte(_ i: Int) -> Int { Int(block.load(fromByteOffset: i, as: UInt8.self)) }
        let first = byte(0)
        let sizeFormat = (first >> 2) & 3
        switch first & 3 {
        case 0, 1:
            kind = first & 3 == 0 ? .raw : .rle
            fourStreams = false
            switch sizeFormat {
            case 0, 2:
                headerSize = 1
                regeneratedSize = first >> 3
            case 1:
                headerSize = 2
                guard available >= 2 else { throw DecompressionError("zstd: truncated literals header") }
                regeneratedSize = first >> 4 | byte(1) << 4
            default:
                headerSize = 3
                guard available >= 3 else { throw DecompressionError("zstd: truncated literals header") }
                regeneratedSize = first >> 4 | byte(1) << 4 | byte(2) << 12
            }
            payloadSize = kind == .raw ? regeneratedSize : 1
        default:
            kind = first & 3 == 2 ? .compressed : .treeless
            fourStreams = sizeFormat != 0
            headerSize = sizeFormat < 2 ? 3 : sizeFormat == 2 ? 4 : 5
            guard available >= headerSize else { throw DecompressionError("zstd: truncated literals header") }
            var value = 0
            for i in 0..<headerSize { value |= byte(i) << (8 * i) }
            value >>= 4
            let bits = sizeFormat < 2 ? 10 : sizeFormat == 2 ? 14 : 18
            regeneratedSize = value & ((1 << bits) - 1)
            payloadSize = value >> bits
        }
        guard regeneratedSize <= Zstd.maxBlockSize else {
            throw DecompressionError("zstd: literals section of \(regeneratedSize) bytes exceeds the 128 KiB block limit")
        }
        guard payloadSize <= available - headerSize else { throw DecompressionError("zstd: literals section runs past the end of its block") }
    }
}

extension ZstdFrameDecoder {
    /// Decodes the literals section into `destination` (room for `header.regeneratedSize` bytes).
    mutating func decodeLiterals(_ header: ZstdLiteralsHeader, at block: UnsafeRawPointer,
                                 into destination: UnsafeMutableRawPointer) throws(DecompressionError) {
        let payload = block + header.headerSize
        switch header.kind {
        case .raw:
            destination.copyMemory(from: payload, byteCount: header.regeneratedSize)
        case .rle:
            destination.initializeMemory(as: UInt8.self, repeating: payload.load(as: UInt8.self), count: header.regeneratedSize)
        case .compressed, .treeless:
            var streams = payload
            var streamsSize = header.payloadSize
            if header.kind == .compressed {
                let treeSize = try ZstdHuffman.readTable(payload, available: header.payloadSize, into: workspace.huffmanTable)
                hasHuffmanTable = true
                streams += treeSize
                streamsSize -= treeSize
            } else {
                guard hasHuffmanTable else { throw DecompressionError("zstd: treeless literals with no previous Huffman table (corrupt data)") }
            }
            if header.fourStreams {
                try ZstdHuffman.decodeFourStreams(streams, size: streamsSize, table: workspace.huffmanTable,
                                                  into: destination, count: header.regeneratedSize)
            } else {
                try ZstdHuffman.decodeStream(streams, size: streamsSize, table: workspace.huffmanTable,
                                             into: destination, count: header.regeneratedSize)
            }
        }
    }
}
