/// Page compression, by the codec numbers of parquet.thrift's CompressionCodec. Each page's
/// uncompressed size is in its header, so every decoder writes into a buffer of exactly that size.
enum ParquetCodec {
    static func name(_ codec: Int) -> String {
        ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"].indices.contains(codec)
            ? ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"][codec] : "codec \(codec)"
    }

    /// Refuses a codec this reader does not decode, before any page is read.
    static func check(_ codec: Int) throws(ParquetError) {
        guard [0, 1, 2, 6].contains(codec) else {
            throw ParquetError("compression \(name(codec)) is not supported (none, SNAPPY, GZIP and ZSTD are); rewrite the file with one of those, e.g. pyarrow.parquet.write_table(table, path, compression=\"zstd\")")
        }
    }

    static func decompress(_ codec: Int, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ParquetError) {
        do {
            switch codec {
            case 1:
                let written = try Snappy.decompress(input, into: output)
                guard written == output.count else { throw DecompressionError(message: "snappy: \(written) bytes where the page header says \(output.count)") }
            case 2:
                // GZIP pages are gzip members; some writers wrap them as zlib, which readers accept too.
                let gzip = input.count >= 2 && input[0] == 0x1F && input[1] == 0x8B
                let (_, written) = gzip ? try Inflate.gunzip(input, into: output) : try Inflate.zlibInflate(input, into: output)
                guard written == output.count else { throw DecompressionError(message: "gzip: \(written) bytes where the page header says \(output.count)") }
            case 6:
                let written = try Zstd.decompress(input, into: output)
                guard written == output.count else { throw DecompressionError(message: "zstd: \(written) bytes where the page header says \(output.count)") }
            default:
                try check(codec)
            }
        } catch let error as DecompressionError {
            throw ParquetError("a page does not decompress: \(error.message)")
        } catch let error as ParquetError {
            throw error
        } catch {
            throw ParquetError("\(error)")
        }
    }
}
