/// Word-vector text, the GloVe .txt and fastText .vec layout: each line a label, then the
/// components, separated by spaces. fastText files begin with a "count dimension" line, which is
/// recognised (two integers alone on the first line) and checked against the file.
///
/// The dimension is the header's, else the number of values on the first vector line; every
/// line must hold a label and exactly that many values. With `label_spaces`, a line with more
/// fields keeps the extra leading ones in its label (some GloVe vocabularies hold labels with
/// spaces); without it that is an error, since it is more often a short first line or a broken
/// file, which would otherwise be read as vectors of the wrong dimension.
enum WordVectorFormat {
    struct Options: Equatable {
        var labelSpaces = false
    }

    struct Parsed {
        var matrix: VectorMatrix
        var labels: [String]
        var lines: [Int]
    }

    static func tokens(_ line: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var tokens: [UnsafeRawBufferPointer] = []
        var i = 0
        while i < line.count {
            while i < line.count && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
            let start = i
            while i < line.count && line[i] != 0x20 && line[i] != 0x09 { i += 1 }
            if i > start { tokens.append(UnsafeRawBufferPointer(rebasing: line[start..<i])) }
        }
        return tokens
    }

    static func parse(_ file: MappedFile, options: Options = Options()) throws(KNNError) -> Parsed {
        func fail(_ line: Int, _ message: String) -> KNNError { .data(file: file.path, location: "line \(line)", message: message) }
        var lines = TextLines(file.bytes).lazy.filter { !$0.line.isBlank }.makeIterator()
        guard var current = lines.next() else { throw KNNError.data(file: file.path, location: nil, message: "file is empty: no vectors") }

        var declared: (count: Int, dim: Int, line: Int)? = nil
        var firstTokens = tokens(current.line)
        if firstTokens.count == 2, firstTokens.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x30...0x39).contains($0) } }) {
            guard let count = Int(firstTokens[0].text), let dim = Int(firstTokens[1].text), dim <= VectorLoader.maxDimension else {
                throw fail(current.number, "header line \"\(firstTokens[0].text) \(firstTokens[1].text)\" announces more vectors or dimensions than can be read")
            }
            declared = (count, dim, current.number)
            guard let next = lines.next() else { throw KNNError.data(file: file.path, location: nil, message: "header line announces \(count) vectors but the file has none") }
            current = next
            firstTokens = tokens(current.line)
        }
        let dim = declared?.dim ?? (firstTokens.count - 1)
        guard dim > 0 else { throw fail(current.number, "expected a label followed by numbers") }
        let source = declared.map { "the header on line \($0.line)" } ?? "line \(current.number)"

        var values: [Float] = []
        var labels: [String] = []
        var lineNumbers: [Int] = []
        var row: [UnsafeRawBufferPointer]? = firstTokens
        while let fields = row {
            let number = current.number
            guard fields.count > dim else {
                throw fail(number, "expected a label and \(dim) numbers (the dimension of \(source)), found \(fields.count) fields")
            }
            guard fields.count == dim + 1 || options.labelSpaces else {
                throw fail(number, "expected a label and \(dim) numbers (the dimension of \(source)), found \(fields.count) fields; "
                           + "if labels contain spaces, set \"label_spaces\": true")
            }
            let labelEnd = fields.count - dim
            labels.append(fields[0..<labelEnd].map(\.text).joined(separator: " "))
            for (j, token) in fields[labelEnd...].enumerated() {
                guard let value = parseFloat(token) else {
                    throw fail(number, "value \(j + 1) (\"\(token.text)\") is not a number")
                }
                values.append(value)
            }
            lineNumbers.append(number)
            if let next = lines.next() { current = next; row = tokens(next.line) } else { row = nil }
        }
        if let declared, declared.count != labels.count {
            throw fail(declared.line, "header line announces \(declared.count) vectors, the file has \(labels.count)")
        }
        return Parsed(matrix: VectorMatrix(rows: labels.count, dim: dim, values: values), labels: labels, lines: lineNumbers)
    }
}
