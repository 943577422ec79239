/// Parquet's metadata (the file footer and each page header) is a Thrift struct in the compact
/// protocol. This reads one into a tree of values, keyed by field id, so the readers of
/// `ParquetMetadata` pick the fields they need and skip the rest.
///
/// The compact protocol, as used here: a field starts with a byte whose high nibble is the
/// field-id delta from the previous field of the struct (0: a zigzag varint id follows) and whose
/// low nibble is the type; type 0 ends the struct. Integers are zigzag varints, binaries a varint
/// length then bytes, doubles 8 bytes little-endian, booleans live in the type nibble (1 true,
/// 2 false; one byte each inside a list). A list starts with a byte holding its size (15: a varint
/// size follows) and its element type; a map with a varint size, then a byte of key and value types.
enum ThriftValue: Equatable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary([UInt8])
    case list([ThriftValue])
    case structure([Int16: ThriftValue])

    subscript(field: Int16) -> ThriftValue? {
        if case .structure(let fields) = self { return fields[field] }
        return nil
    }

    var int: Int64? { if case .int(let v) = self { return v }; return nil }
    var bool: Bool? { if case .bool(let v) = self { return v }; return nil }
    var list: [ThriftValue]? { if case .list(let v) = self { return v }; return nil }
    var string: String? { if case .binary(let v) = self { return String(decoding: v, as: UTF8.self) }; return nil }
}

struct ThriftReader {
    struct Malformed: Error { var message: String }

    /// The bytes must outlive the reader; binaries are copied out.
    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    /// Structs and lists nest; a hostile file must not nest deep enough to exhaust the stack.
    private static let maxDepth = 64
    /// No Parquet struct has anywhere near this many elements in one list; a corrupt size
    /// must not reserve gigabytes.
    private static let maxListCount = 1 << 26

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Reads one struct starting at the current position.
    mutating func readStruct() throws(Malformed) -> ThriftValue {
        try readStruct(depth: 0)
    }

    private mutating func byte() throws(Malformed) -> UInt8 {
        guard position < bytes.count else { throw Malformed(message: "metadata ends inside a value") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw Malformed(message: "a varint is longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func zigzag() throws(Malformed) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    private mutating func readStruct(depth: Int) throws(Malformed) -> ThriftValue {
        guard depth < Self.maxDepth else { throw Malformed(message: "structs nest more than \(Self.maxDepth) deep") }
        var fields: [Int16: ThriftValue] = [:]
        var last: Int16 = 0
        while true {
            let header = try byte()
            let type = header & 0x0F
            if type == 0 { return .structure(fields) }
            let delta = Int16(header >> 4)
            if delta == 0 {
                let id = try zigzag()
                guard let field = Int16(exactly: id) else { throw Malformed(message: "field id \(id) out of range") }
                last = field
            } else {
                let (next, overflow) = last.addingReportingOverflow(delta)
                guard !overflow else { throw Malformed(message: "field id out of range") }
                last = next
            }
            switch type {
            case 1: fields[last] = .bool(true)
            case 2: fields[last] = .bool(false)
            default: fields[last] = try readValue(type: type, depth: depth + 1)
            }
        }
    }

    private mutating func readValue(type: UInt8, depth: Int) throws(Malformed) -> ThriftValue {
        guard depth < Self.maxDepth else { throw Malformed(message: "values nest more than \(Self.maxDepth) deep") }
        switch type {
        case 1, 2: return .bool(try byte() == 1)  // inside a list: one byte each
        case 3: return .int(Int64(Int8(bitPattern: try byte())))
        case 4, 5, 6: return .int(try zigzag())
        case 7:
            guard bytes.count - position >= 8 else { throw Malformed(message: "metadata ends inside a double") }
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += 8
            return .double(Double(bitPattern: bits))
        case 8:
            let length = try varint()
            guard length <= UInt64(bytes.count - position) else { throw Malformed(message: "a string of \(length) bytes runs past the metadata") }
            defer { position += Int(length) }
            return .binary(Array(bytes[position..<position + Int(length)]))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 {
                let long = try varint()
                guard long <= UInt64(Self.maxListCount) else { throw Malformed(message: "a list of \(long) elements") }
                count = Int(long)
            }
            let element = header & 0x0F
            // Every element takes at least a byte (an empty struct's stop byte included).
            guard count <= bytes.count - position else { throw Malformed(message: "a list of \(count) elements runs past the metadata") }
            var items: [ThriftValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(type: element, depth: depth + 1)) }
            return .list(items)
        case 11:
            let count = try varint()
            guard count <= UInt64(bytes.count - position) else { throw Malformed(message: "a map of \(count) entries runs past the metadata") }
            if count == 0 { return .list([]) }
            let types = try byte()
            var items: [ThriftValue] = []
            for _ in 0..<Int(count) {
                items.append(try readValue(type: types >> 4, depth: depth + 1))
                items.append(try readValue(type: types & 0x0F, depth: depth + 1))
            }
            return .list(items)
        case 12: return try readStruct(depth: depth)
        default: throw Malformed(message: "unknown Thrift type \(type)")
        }
    }
}
