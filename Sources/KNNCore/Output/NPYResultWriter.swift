/// NumPy output: one .npy file (format 1.0) of shape (queries, k) whose elements are the packed
/// structured records `[('id', '<i8'), ('distance', '<f4')]` — 12 bytes each — so that
/// `numpy.load(path)['id']` gives the ids. Missing neighbours are id −1, distance +∞.
final class NPYResultWriter: ResultWriter {
    static let recordBytes = 12
    private let file: AtomicOutputFile
    private var buffer: [UInt8] = []

    init(file: AtomicOutputFile, queryCount: Int, k: Int, writesHeader: Bool = true) throws(KNNError) {
        self.file = file
        if writesHeader { try file.write(Self.header(queryCount: queryCount, k: k)) }
    }

    /// The magic, version, header length and a header dict padded with spaces so the data
    /// starts at a multiple of 64 bytes, as NumPy itself writes it.
    static func header(queryCount: Int, k: Int) -> [UInt8] {
        var dict = "{'descr': [('id', '<i8'), ('distance', '<f4')], 'fortran_order': False, 'shape': (\(queryCount), \(k)), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return NPYFormat.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    func write(_ table: ResultTable, rows: Int, firstQuery: Int) throws(KNNError) {
        let count = rows * table.k
        if buffer.count < count * Self.recordBytes { buffer = [UInt8](repeating: 0, count: count * Self.recordBytes) }
        buffer.withUnsafeMutableBytes { bytes in
            for i in 0..<count {
                bytes.storeBytes(of: table.ids[i].littleEndian, toByteOffset: i * Self.recordBytes, as: Int64.self)
                bytes.storeBytes(of: table.distances[i].bitPattern.littleEndian, toByteOffset: i * Self.recordBytes + 8, as: UInt32.self)
            }
        }
        let result: Result<Void, KNNError> = buffer.withUnsafeBytes { bytes in
            Result { () throws(KNNError) in try file.write(UnsafeRawBufferPointer(rebasing: bytes[0..<(count * Self.recordBytes)])) }
        }
        try result.get()
    }

    func finish() throws(KNNError) { try file.finish() }
}
