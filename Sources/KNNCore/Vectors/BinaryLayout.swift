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
    /// converted copy (float16, float64 and integer inputs). Every conversion is exact except
    /// float64's rounding to float32; a value that float32 cannot hold is an error, not a clip.
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
                case .int32:
                    let value = Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                    destination[j] = Float(value)
                    // Beyond 2²⁴ not every integer is a float32: say so rather than round.
                    guard value.magnitude <= 1 << 24 else {
                        throw KNNError.data(file: file.path, location: "vector \(i)", message: "integer \(value) at dimension \(j) is not exactly a float32 (|value| ≤ 16777216 is)")
                    }
                case .int64:
                    let value = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                    destination[j] = Float(value)
                    guard value.magnitude <= 1 << 24 else {
                        throw KNNError.data(file: file.path, location: "vector \(i)", message: "integer \(value) at dimension \(j) is not exactly a float32 (|value| ≤ 16777216 is)")
                    }
                case .int16: destination[j] = Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                case .float16: destination[j] = Self.float(half: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                }
            }
        }
    }

    /// An IEEE 754 half-precision value as float32, exactly (every half is a float32), without
    /// the `Float16` type, which not every platform Swift runs on has.
    static func float(half h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2⁻²⁴, exact in float32.
            let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
            return sign != 0 ? -magnitude : magnitude
        case 31:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}
