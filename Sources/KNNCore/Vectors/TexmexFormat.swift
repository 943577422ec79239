/// The TEXMEX formats (fvecs, bvecs, ivecs): per vector, a little-endian int32 dimension `d`,
/// then `d` elements (float32, uint8 or int32). Every row repeats the dimension; all must agree.
enum TexmexFormat {
    static func element(of format: VectorFormat) -> ElementType {
        switch format {
        case .bvecs: return .uint8
        case .ivecs: return .int32
        default: return .float32
        }
    }

    /// Reads the first row's header and checks the file size against it.
    static func layout(of file: MappedFile, format: VectorFormat) throws(KNNError) -> BinaryLayout {
        let element = element(of: format)
        let size = file.bytes.count
        guard size > 0 else { throw KNNError.data(file: file.path, location: nil, message: "file is empty: no vectors") }
        guard size >= 4 else { throw KNNError.data(file: file.path, location: nil, message: "truncated: \(size) bytes is too short for a \(format.rawValue) header") }
        let dim = Int(file.int32(at: 0))
        guard dim > 0 && dim <= 1 << 24 else {
            throw KNNError.data(file: file.path, location: "vector 0", message: "dimension header is \(dim); not a valid \(format.rawValue) file")
        }
        let rowBytes = 4 + dim * element.byteSize
        guard size % rowBytes == 0 else {
            throw KNNError.data(file: file.path, location: nil, message: "truncated or corrupt: \(size) bytes is not a whole number of \(rowBytes)-byte rows (4-byte header + \(dim) × \(element.byteSize)-byte \(element.rawValue)); the last row is incomplete or the file is not \(format.rawValue)")
        }
        return BinaryLayout(rows: size / rowBytes, dim: dim, element: element, dataOffset: 4, rowBytes: rowBytes)
    }

    /// Checks every row's dimension header, which a corrupt file gets wrong somewhere past row 0.
    /// Reading one integer per row touches every page, so pages are released every 16 MiB or
    /// so: the check must not make the whole file resident at once.
    static func checkRowHeaders(of file: MappedFile, layout: BinaryLayout) throws(KNNError) {
        let releaseEvery = max(1, (16 << 20) / layout.rowBytes)
        defer { file.releasePages(0..<file.bytes.count) }
        for i in 0..<layout.rows {
            if i > 0 && i % releaseEvery == 0 { file.releasePages(((i - releaseEvery) * layout.rowBytes)..<(i * layout.rowBytes)) }
            let dim = Int(file.int32(at: i * layout.rowBytes))
            if dim != layout.dim {
                throw KNNError.data(file: file.path, location: "vector \(i)", message: "dimension header is \(dim), but vector 0 has \(layout.dim): corrupt or mixed-dimension file")
            }
        }
    }
}
