/// Where the vectors of a binary file sit: row `i`'s first component is at byte
/// `dataOffset + i * rowBytes`, followed by `dim` elements of `element`.
struct BinaryLayout: Equatable {
    let rows: Int
    let dim: Int
    let element: ElementType
    let dataOffset: Int
    let rowBytes: Int

    /// Whether the rows can be searched in place, straight from the memory map.
    var isMappable: Bool { element == .float32 && dataOffset % 4 == 0 && rowBytes % 4 == 0 }

    /// The rows as float32: a view of the mapping when the file holds aligned float32, otherwise a
    /// converted copy (uint8, int8, int32 and float64 inputs).
    func matrix(in file: MappedFile) throws(KNNError) -> VectorMatrix {
        if isMappable {
            return VectorMatrix(mapping: file, byteOffset: dataOffset, rows: rows, dim: dim, stride: rowBytes / 4)
        }
        let bytes = file.bytes
        let element = element, dim = dim, dataOffset = dataOffset, rowBytes = rowBytes
        return try VectorMatrix.make(rows: rows, dim: dim) { i, destination throws(KNNError) in
            let start = dataOffset + i * rowBytes
            for j in 0..<dim {
                let offset = start + j * element.byteSize
                switch element {
                case .float32: destination[j] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                case .float64:
                    let value = Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                    destination[j] = Float(value)
                    // A finite double beyond float32's range would become infinity: say so, do not clip.
                    if value.isFinite && !destination[j].isFinite {
                        throw KNNError.data(file: file.path, location: "vector \(i)", message: "value \(value) at dimension \(j) does not fit in float32")
                    }
                case .uint8: destination[j] = Float(bytes[offset])
                case .int8: destination[j] = Float(Int8(bitPattern: bytes[offset]))
                case .int32: destination[j] = Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                }
            }
        }
    }
}
