/// NumPy's .npy format, versions 1.0 to 3.0:
///
///     "\x93NUMPY" major minor  header-length (uint16 LE in 1.0, uint32 LE in 2.0/3.0)
///     header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
///     data:   n × d elements in C order, starting right after the header
///
/// Accepted element types: little-endian float32, float64, float16, int64, int32, int16, and (byte order
/// irrelevant) uint8, int8.
enum NPYFormat {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The header dict, its text and where the data starts, after the magic and version checks.
    static func header(of file: MappedFile) throws(KNNError) -> (dict: [String: PythonLiteral], text: String, dataOffset: Int) {
        let bytes = file.bytes
        func fail(_ message: String) -> KNNError { .data(file: file.path, location: "npy header", message: message) }
        guard bytes.count > 0 else { throw KNNError.data(file: file.path, location: nil, message: "file is empty: no vectors") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("not a NumPy .npy file (bad magic bytes)") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerStart = 12
            headerLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        default:
            throw fail("unsupported format version \(major).\(bytes[7]) (1.0 to 3.0 are supported)")
        }
        guard headerStart + headerLength <= bytes.count else { throw fail("truncated header") }
        let text = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let header = try PythonLiteral.parseDict(text) { message throws(KNNError) in throw fail(message) }
        return (header, text, headerStart + headerLength)
    }

    static func layout(of file: MappedFile) throws(KNNError) -> BinaryLayout {
        let bytes = file.bytes
        func fail(_ message: String) -> KNNError { .data(file: file.path, location: "npy header", message: message) }
        let (header, text, dataOffset) = try header(of: file)

        guard case .string(let descr)? = header["descr"] else {
            throw fail(header["descr"] == nil ? "no 'descr' key" : "structured or unsupported dtype \(text.trimmingSpaces); a plain numeric array is needed")
        }
        guard case .bool(let fortranOrder)? = header["fortran_order"] else { throw fail("no 'fortran_order' key") }
        guard !fortranOrder else { throw fail("array is in Fortran order; save it in C order (numpy.ascontiguousarray)") }
        guard case .tuple(let shape)? = header["shape"] else { throw fail("no 'shape' key") }
        guard shape.count == 2 else { throw fail("array has \(shape.count) dimensions, shape (\(shape.map(String.init).joined(separator: ", "))); a 2-D array (rows, dim) is needed") }
        let element = try elementType(descr) { message throws(KNNError) in throw fail(message) }
        let rows = shape[0], dim = shape[1]
        guard rows > 0 else { throw KNNError.data(file: file.path, location: nil, message: "array has 0 rows: no vectors") }
        guard dim > 0 else { throw fail("array has 0 columns") }
        let available = bytes.count - dataOffset
        let (rowBytes, rowOverflow) = dim.multipliedReportingOverflow(by: element.byteSize)
        let (payload, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !rowOverflow, !overflow, payload <= available else {
            throw KNNError.data(file: file.path, location: nil, message: "truncated: shape (\(rows), \(dim)) of \(element.rawValue) needs more data than the file's \(available) bytes")
        }
        guard payload == available else {
            throw KNNError.data(file: file.path, location: nil, message: "\(available - payload) bytes follow the data of shape (\(rows), \(dim)); the header does not describe this file")
        }
        return BinaryLayout(rows: rows, dim: dim, element: element, dataOffset: dataOffset, rowBytes: rowBytes)
    }

    private static func elementType(_ descr: String, fail: (String) throws(KNNError) -> Never) throws(KNNError) -> ElementType {
        switch descr {
        case "<f4", "=f4": return .float32
        case "<f8", "=f8": return .float64
        case "|u1", "<u1", ">u1", "=u1", "u1": return .uint8
        case "|i1", "<i1", ">i1", "=i1", "i1": return .int8
        case "<f2", "=f2": return .float16
        case "<i2", "=i2": return .int16
        case "<i4", "=i4": return .int32
        case "<i8", "=i8": return .int64
        case ">f4", ">f8", ">f2", ">i2", ">i4", ">i8": try fail("big-endian dtype '\(descr)' is not supported; convert with arr.astype('<f4')")
        default: try fail("dtype '\(descr)' is not supported (float32, float64, float16, int64, int32, int16, uint8 and int8 are)")
        }
    }
}

/// The subset of Python literal syntax that .npy headers use: a dict of string keys whose values
/// are strings, booleans, or tuples of integers.
enum PythonLiteral: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
    case other

    static func parseDict(_ text: String, fail: (String) throws(KNNError) -> Never) throws(KNNError) -> [String: PythonLiteral] {
        var scanner = Scanner(Array(text.utf8))
        var result: [String: PythonLiteral] = [:]
        scanner.skipSpaces()
        guard scanner.take("{") else { try fail("header is not a dict") }
        while true {
            scanner.skipSpaces()
            if scanner.take("}") { return result }
            guard let key = scanner.quoted() else { try fail("malformed header dict") }
            scanner.skipSpaces()
            guard scanner.take(":") else { try fail("malformed header dict") }
            scanner.skipSpaces()
            result[key] = try scanner.value(fail: fail)
            scanner.skipSpaces()
            if !scanner.take(",") {
                scanner.skipSpaces()
                guard scanner.take("}") else { try fail("malformed header dict") }
                return result
            }
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }
        mutating func skipSpaces() { while let c = current, c == 0x20 || c == 0x0A || c == 0x09 { position += 1 } }
        mutating func take(_ s: Unicode.Scalar) -> Bool {
            guard current == UInt8(ascii: s) else { return false }
            position += 1
            return true
        }
        mutating func quoted() -> String? {
            guard let quote = current, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else { return nil }
            position += 1
            let start = position
            while let c = current, c != quote { position += 1 }
            guard current == quote else { return nil }
            defer { position += 1 }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
        mutating func integer() -> Int? {
            let start = position
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
            return position > start ? Int(String(decoding: bytes[start..<position], as: UTF8.self)) : nil
        }
        mutating func value(fail: (String) throws(KNNError) -> Never) throws(KNNError) -> PythonLiteral {
            if let text = quoted() { return .string(text) }
            if take("(") {
                var items: [Int] = []
                while true {
                    skipSpaces()
                    if take(")") { return .tuple(items) }
                    guard let item = integer() else { try fail("malformed shape tuple") }
                    items.append(item)
                    // Python writes 1-tuples as "(5,)" and may write sizes as "5L".
                    _ = take("L")
                    skipSpaces()
                    if !take(",") { skipSpaces(); guard take(")") else { try fail("malformed shape tuple") }; return .tuple(items) }
                }
            }
            for (word, flag) in [("True", true), ("False", false)] where bytes[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return .bool(flag)
            }
            // Something else (a list for a structured dtype): skip to the matching bracket.
            var depth = 0
            while let c = current {
                if c == UInt8(ascii: "[") || c == UInt8(ascii: "(") { depth += 1 }
                if c == UInt8(ascii: "]") || c == UInt8(ascii: ")") { depth -= 1 }
                if depth <= 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "}")) && depth == 0 { break }
                position += 1
            }
            return .other
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
