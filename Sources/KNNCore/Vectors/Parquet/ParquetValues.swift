/// Decodes a data page's values: floating-point vectors into float32, labels into strings.
///
/// Encodings: PLAIN (values back to back, little-endian; a BYTE_ARRAY as a uint32 length then its
/// bytes), PLAIN_DICTIONARY / RLE_DICTIONARY (a byte giving the index width, then hybrid-encoded
/// indices into the chunk's dictionary page, itself PLAIN), BYTE_STREAM_SPLIT (the values' first
/// bytes, then their second bytes, …).
enum ParquetValues {
    /// Writes `count` values of a FLOAT, DOUBLE or FLOAT16 column to `destination`.
    static func floats(_ page: ParquetChunkReader.DataPage, count: Int, leaf: ParquetLeaf,
                       dictionary: [Float]?, scratch: ParquetScratch, into destination: UnsafeMutablePointer<Float>) throws(ParquetError) {
        let size = elementSize(leaf)
        switch page.encoding {
        case ParquetEncoding.plain:
            guard count <= page.values.count / size else { throw ParquetError("a data page holds \(page.values.count / size) values where its levels say \(count)") }
            convert(page.values.baseAddress!, count: count, leaf: leaf, into: destination)
        case ParquetEncoding.plainDictionary, ParquetEncoding.rleDictionary:
            guard let dictionary else { throw ParquetError("a dictionary-encoded page without a dictionary page") }
            try indices(page, count: count, entries: dictionary.count, scratch: scratch)
            dictionary.withUnsafeBufferPointer { d in
                for i in 0..<count { destination[i] = d[Int(scratch.indices[i])] }
            }
        case ParquetEncoding.byteStreamSplit:
            guard count <= page.values.count / size else { throw ParquetError("a BYTE_STREAM_SPLIT page holds fewer than its \(count) values") }
            // The page holds exactly its values' bytes; stream b starts at b × (values in page).
            let streams = page.values.count / size
            let joined = scratch.interleaved(count * size)
            for i in 0..<count {
                for b in 0..<size { joined[i * size + b] = page.values[b * streams + i] }
            }
            convert(UnsafeRawPointer(joined.baseAddress!), count: count, leaf: leaf, into: destination)
        default:
            throw ParquetError("values encoded \(ParquetEncoding.name(page.encoding)) are not supported for \(leaf.type.name) (PLAIN, RLE_DICTIONARY and BYTE_STREAM_SPLIT are)")
        }
    }

    /// A dictionary page's entries as float32.
    static func floatDictionary(_ dictionary: (bytes: [UInt8], count: Int), leaf: ParquetLeaf) throws(ParquetError) -> [Float] {
        let size = elementSize(leaf)
        guard dictionary.count <= dictionary.bytes.count / size else { throw ParquetError("the dictionary page holds fewer than its \(dictionary.count) entries") }
        var result = [Float](repeating: 0, count: dictionary.count)
        dictionary.bytes.withUnsafeBytes { raw in
            result.withUnsafeMutableBufferPointer { convert(raw.baseAddress!, count: dictionary.count, leaf: leaf, into: $0.baseAddress!) }
        }
        return result
    }

    /// Appends `count` labels of an INT32, INT64 or BYTE_ARRAY (string) column.
    static func labels(_ page: ParquetChunkReader.DataPage, count: Int, leaf: ParquetLeaf, dictionary: [String]?,
                       scratch: ParquetScratch, into labels: inout [String]) throws(ParquetError) {
        switch page.encoding {
        case ParquetEncoding.plain:
            labels += try plainLabels(page.values, count: count, leaf: leaf)
        case ParquetEncoding.plainDictionary, ParquetEncoding.rleDictionary:
            guard let dictionary else { throw ParquetError("a dictionary-encoded page without a dictionary page") }
            try indices(page, count: count, entries: dictionary.count, scratch: scratch)
            for i in 0..<count { labels.append(dictionary[Int(scratch.indices[i])]) }
        default:
            throw ParquetError("labels encoded \(ParquetEncoding.name(page.encoding)) are not supported (PLAIN and RLE_DICTIONARY are)")
        }
    }

    static func plainLabels(_ bytes: UnsafeRawBufferPointer, count: Int, leaf: ParquetLeaf) throws(ParquetError) -> [String] {
        var result: [String] = []
        result.reserveCapacity(min(count, bytes.count / 4))
        switch leaf.type {
        case .int32, .int64:
            let size = leaf.type == .int32 ? 4 : 8
            guard count <= bytes.count / size else { throw ParquetError("a page holds fewer than its \(count) labels") }
            // Unsigned columns (pyarrow's uint32 and uint64 ids) are printed as such.
            for i in 0..<count {
                let bits = size == 4 ? UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                                     : UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                if leaf.isUnsigned {
                    result.append(String(bits))
                } else {
                    result.append(String(size == 4 ? Int64(Int32(truncatingIfNeeded: bits)) : Int64(bitPattern: bits)))
                }
            }
        case .byteArray:
            var offset = 0
            for _ in 0..<count {
                guard bytes.count - offset >= 4 else { throw ParquetError("a page holds fewer than its \(count) labels") }
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                guard length <= bytes.count - offset - 4 else { throw ParquetError("a label runs past its page") }
                result.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + length)]), as: UTF8.self))
                offset += 4 + length
            }
        default:
            throw ParquetError("a label column must be INT32, INT64 or a string; \(leaf.description) is not")
        }
        return result
    }

    private static func elementSize(_ leaf: ParquetLeaf) -> Int {
        leaf.isFloat16 ? 2 : leaf.type == .double ? 8 : 4
    }

    private static func convert(_ source: UnsafeRawPointer, count: Int, leaf: ParquetLeaf, into destination: UnsafeMutablePointer<Float>) {
        if leaf.isFloat16 {
            for i in 0..<count { destination[i] = BinaryLayout.float(half: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        } else if leaf.type == .double {
            for i in 0..<count { destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        } else {
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        }
    }

    /// Dictionary indices of a page into the scratch, each checked against the dictionary's size.
    private static func indices(_ page: ParquetChunkReader.DataPage, count: Int, entries: Int, scratch: ParquetScratch) throws(ParquetError) {
        guard let width = page.values.first else { throw ParquetError("a dictionary-encoded page is empty") }
        scratch.reserveLevels(count)
        try ParquetHybrid.decode(UnsafeRawBufferPointer(rebasing: page.values[1...]), width: Int(width), count: count, into: scratch.indices)
        for i in 0..<count where Int(scratch.indices[i]) >= entries {
            throw ParquetError("dictionary index \(scratch.indices[i]) is beyond the dictionary's \(entries) entries")
        }
    }
}
