/// Reads one column chunk page by page: skips index pages, keeps the dictionary page, and for
/// each data page decompresses it and decodes its repetition and definition levels, handing
/// back the levels and the still-encoded values.
///
/// A data page (v1), once decompressed: the repetition levels (if the column repeats) as a
/// little-endian uint32 byte length then hybrid runs, the definition levels likewise (if the
/// column is optional anywhere), then the values. A data page v2 keeps both level sections
/// uncompressed at its start (their lengths in the header, no length prefixes), then the values,
/// compressed unless the header says otherwise.
struct ParquetChunkReader {
    struct DataPage {
        /// Level entries: values plus nulls and empty lists.
        var count: Int
        var repetition: UnsafePointer<UInt32>?
        var definition: UnsafePointer<UInt32>?
        var values: UnsafeRawBufferPointer
        var encoding: Int
    }

    let leaf: ParquetLeaf
    private let file: UnsafeRawBufferPointer
    private let codec: Int
    private let totalValues: Int
    private var position: Int
    private let end: Int
    private var valuesRead = 0
    /// The dictionary page's decompressed bytes (PLAIN values) and entry count.
    private(set) var dictionary: (bytes: [UInt8], count: Int)?
    private let scratch: ParquetScratch

    init(file: UnsafeRawBufferPointer, chunk: ParquetMetadata.ColumnChunk, leaf: ParquetLeaf, scratch: ParquetScratch) throws(ParquetError) {
        guard chunk.filePath == nil else { throw ParquetError("the column chunk is stored in another file (\(chunk.filePath!)), which is not supported") }
        guard chunk.start >= 4, chunk.compressedSize <= file.count - chunk.start else {
            throw ParquetError("the column chunk (\(chunk.compressedSize) bytes at offset \(chunk.start)) lies outside the file; the file is truncated or corrupt")
        }
        self.file = file
        self.leaf = leaf
        codec = chunk.codec
        totalValues = chunk.values
        position = chunk.start
        end = chunk.start + chunk.compressedSize
        self.scratch = scratch
        try ParquetCodec.check(codec)
    }

    /// The next data page, or nil once the chunk's values are all read.
    mutating func next() throws(ParquetError) -> DataPage? {
        while valuesRead < totalValues {
            guard position < end else { throw ParquetError("the column chunk ends after \(valuesRead) of its \(totalValues) values") }
            let header = try ParquetPageHeader(UnsafeRawBufferPointer(rebasing: file[position..<end]))
            // These are i32 in parquet.thrift; anything larger is damage (and would size buffers).
            for (value, what) in [(header.values, "num_values"), (header.uncompressedSize, "uncompressed_page_size"), (header.compressedSize, "compressed_page_size"),
                                  (header.definitionBytes, "definition_levels_byte_length"), (header.repetitionBytes, "repetition_levels_byte_length")] where value > Int(Int32.max) {
                throw ParquetError("page header: \(what) is \(value)")
            }
            let start = position + header.headerSize
            guard header.compressedSize <= end - start else { throw ParquetError("a page of \(header.compressedSize) bytes runs past its column chunk") }
            position = start + header.compressedSize
            let stored = UnsafeRawBufferPointer(rebasing: file[start..<(start + header.compressedSize)])
            switch header.kind {
            case .index:
                continue
            case .dictionary:
                guard header.encoding == 0 || header.encoding == 2 else { throw ParquetError("dictionary page encoding \(ParquetEncoding.name(header.encoding)) is not supported (PLAIN is)") }
                let page = try decompress(stored, size: header.uncompressedSize, compressed: true)
                dictionary = (Array(page), header.values)
            case .data:
                guard header.values <= totalValues - valuesRead else { throw ParquetError("pages hold more values than the column chunk's \(totalValues)") }
                let page = try decompress(stored, size: header.uncompressedSize, compressed: true)
                var offset = 0
                func levels(_ maximum: Int, encoding: Int, into buffer: UnsafeMutablePointer<UInt32>, what: String) throws(ParquetError) -> UnsafePointer<UInt32>? {
                    guard maximum > 0 else { return nil }
                    guard encoding == 3 else { throw ParquetError("\(what) levels encoded \(ParquetEncoding.name(encoding)) are not supported (RLE is)") }
                    guard page.count - offset >= 4 else { throw ParquetError("a data page ends inside its \(what) levels") }
                    let length = Int(UInt32(littleEndian: page.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    guard length <= page.count - offset - 4 else { throw ParquetError("\(what) levels run past the data page") }
                    try ParquetHybrid.decode(UnsafeRawBufferPointer(rebasing: page[(offset + 4)..<(offset + 4 + length)]),
                                             width: ParquetHybrid.width(ofMaximum: maximum), count: header.values, into: buffer)
                    offset += 4 + length
                    return UnsafePointer(buffer)
                }
                scratch.reserveLevels(header.values)
                let repetition = try levels(leaf.maxRepetition, encoding: header.repetitionEncoding, into: scratch.repetition, what: "repetition")
                let definition = try levels(leaf.maxDefinition, encoding: header.definitionEncoding, into: scratch.definition, what: "definition")
                valuesRead += header.values
                return DataPage(count: header.values, repetition: repetition, definition: definition,
                                values: UnsafeRawBufferPointer(rebasing: page[offset...]), encoding: header.encoding)
            case .dataV2:
                guard header.values <= totalValues - valuesRead else { throw ParquetError("pages hold more values than the column chunk's \(totalValues)") }
                let levelBytes = header.repetitionBytes + header.definitionBytes
                guard levelBytes <= stored.count, levelBytes <= header.uncompressedSize else { throw ParquetError("a data page v2's levels run past the page") }
                scratch.reserveLevels(header.values)
                func levels(_ maximum: Int, _ range: Range<Int>, into buffer: UnsafeMutablePointer<UInt32>) throws(ParquetError) -> UnsafePointer<UInt32>? {
                    guard maximum > 0 else { return nil }
                    try ParquetHybrid.decode(UnsafeRawBufferPointer(rebasing: stored[range]), width: ParquetHybrid.width(ofMaximum: maximum),
                                             count: header.values, into: buffer)
                    return UnsafePointer(buffer)
                }
                let repetition = try levels(leaf.maxRepetition, 0..<header.repetitionBytes, into: scratch.repetition)
                let definition = try levels(leaf.maxDefinition, header.repetitionBytes..<levelBytes, into: scratch.definition)
                let values = try decompress(UnsafeRawBufferPointer(rebasing: stored[levelBytes...]), size: header.uncompressedSize - levelBytes,
                                            compressed: header.valuesCompressed)
                valuesRead += header.values
                return DataPage(count: header.values, repetition: repetition, definition: definition, values: values, encoding: header.encoding)
            }
        }
        return nil
    }

    /// The page's bytes uncompressed: in the scratch buffer, or the stored bytes themselves.
    private func decompress(_ stored: UnsafeRawBufferPointer, size: Int, compressed: Bool) throws(ParquetError) -> UnsafeRawBufferPointer {
        guard compressed && codec != 0 else {
            guard stored.count == size else { throw ParquetError("an uncompressed page holds \(stored.count) bytes where its header says \(size)") }
            return stored
        }
        let output = scratch.page(size)
        try ParquetCodec.decompress(codec, stored, into: output)
        return UnsafeRawBufferPointer(output)
    }
}

/// Buffers a worker reuses from page to page: decompressed bytes, levels, dictionary indices.
final class ParquetScratch {
    private var pageBuffer = AlignedBuffer<UInt8>(count: 0, zeroed: false)
    private var interleavedBuffer = AlignedBuffer<UInt8>(count: 0, zeroed: false)
    private var levels = [AlignedBuffer<UInt32>(count: 1, zeroed: false), AlignedBuffer<UInt32>(count: 1, zeroed: false), AlignedBuffer<UInt32>(count: 1, zeroed: false)]
    var repetition: UnsafeMutablePointer<UInt32> { levels[0].pointer }
    var definition: UnsafeMutablePointer<UInt32> { levels[1].pointer }
    var indices: UnsafeMutablePointer<UInt32> { levels[2].pointer }

    func page(_ size: Int) -> UnsafeMutableRawBufferPointer {
        if pageBuffer.count < size { pageBuffer = AlignedBuffer<UInt8>(count: size, zeroed: false) }
        return UnsafeMutableRawBufferPointer(start: pageBuffer.pointer, count: size)
    }

    /// For BYTE_STREAM_SPLIT values put back together (the page itself is in `page`).
    func interleaved(_ size: Int) -> UnsafeMutableRawBufferPointer {
        if interleavedBuffer.count < size { interleavedBuffer = AlignedBuffer<UInt8>(count: size, zeroed: false) }
        return UnsafeMutableRawBufferPointer(start: interleavedBuffer.pointer, count: size)
    }

    func reserveLevels(_ count: Int) {
        guard count > levels[0].count else { return }
        levels = (0..<3).map { _ in AlignedBuffer<UInt32>(count: count, zeroed: false) }
    }
}

enum ParquetEncoding {
    static let plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, rleDictionary = 8, byteStreamSplit = 9

    static func name(_ code: Int) -> String {
        let names = [0: "PLAIN", 2: "PLAIN_DICTIONARY", 3: "RLE", 4: "BIT_PACKED", 5: "DELTA_BINARY_PACKED",
                     6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY", 8: "RLE_DICTIONARY", 9: "BYTE_STREAM_SPLIT"]
        return names[code] ?? "encoding \(code)"
    }
}
