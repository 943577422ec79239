struct DecompressionError: Error, Equatable { var message: String }
enum Snappy { static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int { throw DecompressionError(message: "snappy: not yet") } }
enum Inflate { static func gunzip(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int { throw DecompressionError(message: "gzip: not yet") } }
enum Zstd { static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> Int { throw DecompressionError(message: "zstd: not yet") } }
extension Inflate { static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecompressionError) -> (consumed: Int, written: Int) { throw DecompressionError(message: "inflate: not yet") } }
enum CRC32 { static func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 { 0 } }
