/// Iterates over the lines of a mapped text file as byte ranges, with 1-based line numbers.
/// A final line without a newline counts; "\r\n" endings lose their "\r".
struct TextLines: Sequence, IteratorProtocol {
    let bytes: UnsafeRawBufferPointer
    private var position = 0
    private(set) var lineNumber = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next() -> (number: Int, line: UnsafeRawBufferPointer)? {
        guard position < bytes.count else { return nil }
        let start = position
        var end = start
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        position = end + 1
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        lineNumber += 1
        return (lineNumber, UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
    }
}

extension UnsafeRawBufferPointer {
    var isBlank: Bool { allSatisfy { $0 == 0x20 || $0 == 0x09 } }
    var text: String { String(decoding: self, as: UTF8.self) }
}

/// Parses a decimal number the way `strtof` does, rejecting anything with trailing text.
/// Accepts "nan" and "inf" so that the finiteness check can name them instead of a parse error.
func parseFloat(_ bytes: UnsafeRawBufferPointer) -> Float? {
    var start = 0, end = bytes.count
    while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
    while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
    guard start < end, end - start < 256 else { return nil }
    // strtof needs a NUL-terminated string; numbers are short, so copy to the stack.
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: end - start + 1) { buffer -> Float? in
        for i in start..<end { buffer[i - start] = CChar(bitPattern: bytes[i]) }
        buffer[end - start] = 0
        var stop: UnsafeMutablePointer<CChar>? = nil
        let value = strtof(buffer.baseAddress!, &stop)
        guard let stop, stop == buffer.baseAddress! + (end - start) else { return nil }
        // strtof accepts hexadecimal; a data file with "0x1p3" is more likely a mistake than intent.
        for i in 0..<(end - start) where (buffer[i] | 0x20) == 0x78 { return nil }
        return value
    }
}
