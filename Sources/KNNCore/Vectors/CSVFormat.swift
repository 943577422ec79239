/// Comma-separated vectors: one vector per line, numeric columns, an optional header line and an
/// optional label column. Fields may be quoted as RFC 4180 describes (`"Paris, FR"`), with `""`
/// for a quote inside a quoted field and line breaks inside quotes.
///
/// Whether the first line is a header: `header: true/false` in the job spec decides. When it is
/// absent, the first line is a header when one of its numeric-column fields is not a number, or
/// when its fields are the column numbers 0, 1, 2, … that pandas writes for an unnamed matrix
/// (three columns or more); that second case could be a vector, so it comes with a note.
///
/// pandas' index column: a first column whose header is empty (or "Unnamed: 0") and whose values
/// are the row numbers 0, 1, 2, … is the row index `DataFrame.to_csv` writes by default, not a
/// dimension; it is dropped, with a note.
enum CSVFormat {
    struct Options: Equatable {
        var header: Bool? = nil
        var labelColumn: LabelColumn? = nil
    }

    enum LabelColumn: Equatable {
        case name(String)
        case index(Int)
    }

    struct Parsed {
        var matrix: VectorMatrix
        var labels: [String]?
        /// Line number (1-based) of each vector, for error messages.
        var lines: [Int]
        /// Whether the first line was read as a header.
        var header: Bool
        /// Decisions the file did not settle by itself, for the report and stderr.
        var notes: [String] = []
    }

    /// The records of a CSV text: fields split at commas, RFC 4180 quotes (`""` for a quote
    /// inside quotes, line breaks inside quotes kept in the field), blank lines skipped. `line`
    /// is where a record starts; `fields` is nil when a quote is still open at the end of the text.
    struct Records: Sequence, IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        private var position = 0
        private var lineNumber = 1

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func next() -> (line: Int, fields: [String]?)? {
            while position < bytes.count {
                let start = lineNumber
                var fields: [String] = []
                var field: [UInt8] = []
                var quoted = false, wasQuoted = false, blank = true
                func endField() {
                    fields.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                    wasQuoted = false
                }
                while position < bytes.count {
                    let c = bytes[position]
                    position += 1
                    if c == 0x0A { lineNumber += 1 }
                    if quoted {
                        if c == 0x22 {
                            if position < bytes.count && bytes[position] == 0x22 { field.append(0x22); position += 1 } else { quoted = false }
                        } else {
                            field.append(c)
                        }
                    } else if c == 0x0A {
                        break
                    } else if c == 0x0D && (position == bytes.count || bytes[position] == 0x0A) {
                        continue  // "\r\n" ends a line as "\n" does
                    } else if c == 0x2C {
                        blank = false
                        endField()
                    } else if c == 0x22 && field.allSatisfy({ $0 == 0x20 }) && !wasQuoted {
                        field.removeAll()
                        quoted = true
                        wasQuoted = true
                        blank = false
                    } else {
                        if c != 0x20 && c != 0x09 { blank = false }
                        field.append(c)
                    }
                }
                if quoted { return (start, nil) }
                if blank { continue }
                endField()
                return (start, fields)
            }
            return nil
        }
    }

    static func number(_ field: String) -> Float? {
        var field = field
        return field.withUTF8 { parseFloat(UnsafeRawBufferPointer($0)) }
    }

    static func parse(_ file: MappedFile, options: Options) throws(KNNError) -> Parsed {
        func fail(_ line: Int, _ message: String) -> KNNError { .data(file: file.path, location: "line \(line)", message: message) }
        // A UTF-8 byte order mark is not part of the first field.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let text = file.bytes.starts(with: bom) ? UnsafeRawBufferPointer(rebasing: file.bytes[3...]) : file.bytes
        var records = Records(text)
        guard let first = records.next() else { throw KNNError.data(file: file.path, location: nil, message: "file is empty: no vectors") }
        guard let firstFields = first.fields else { throw fail(first.line, "unbalanced double quote") }
        let columnCount = firstFields.count

        // Which column holds labels, if any; by name it needs a header.
        var labelIndex: Int? = nil
        switch options.labelColumn {
        case .index(let index)?:
            guard index < columnCount else { throw fail(first.line, "label_column \(index) does not exist: the line has \(columnCount) columns (numbered from 0)") }
            labelIndex = index
        case .name(let name)?:
            guard options.header != false else { throw KNNError.data(file: file.path, location: nil, message: "label_column \"\(name)\" names a header column, but header is false") }
            guard let index = firstFields.firstIndex(where: { $0.trimmingSpaces == name }) else {
                throw fail(first.line, "no column named \"\(name)\" in the header (columns: \(firstFields.joined(separator: ", ")))")
            }
            labelIndex = index
        case nil: break
        }
        let numericColumns = (0..<columnCount).filter { $0 != labelIndex }
        guard !numericColumns.isEmpty else { throw fail(first.line, "no numeric columns besides the label column") }

        var notes: [String] = []
        let hasHeader: Bool
        if case .name? = options.labelColumn { hasHeader = true } else if let header = options.header { hasHeader = header } else if
            numericColumns.contains(where: { number(firstFields[$0]) == nil }) { hasHeader = true } else if
            isColumnNumbering(numericColumns.map { firstFields[$0] }) {
            hasHeader = true
            let preview = firstFields.count > 4 ? firstFields.prefix(3).joined(separator: ",") + ",…," + firstFields.last! : firstFields.joined(separator: ",")
            notes.append("\(file.path): line \(first.line) (\(preview)) is read as a header: its fields are the column numbers pandas writes; set \"header\": false if it is a vector")
        } else {
            hasHeader = false
        }

        var values: [Float] = []
        var labels: [String] = []
        var lineNumbers: [Int] = []
        func addRow(_ number: Int, _ row: [String]) throws(KNNError) {
            guard row.count == columnCount else { throw fail(number, "expected \(columnCount) fields, found \(row.count)") }
            for column in numericColumns {
                let field = row[column]
                guard let value = Self.number(field) else { throw fail(number, "column \(column + 1): \"\(field)\" is not a number") }
                values.append(value)
            }
            if let labelIndex { labels.append(row[labelIndex]) }
            lineNumbers.append(number)
        }
        if !hasHeader { try addRow(first.line, firstFields) }
        while let (number, fields) = records.next() {
            guard let row = fields else { throw fail(number, "unbalanced double quote") }
            try addRow(number, row)
        }
        guard !lineNumbers.isEmpty else { throw KNNError.data(file: file.path, location: nil, message: "no data rows after the header line: no vectors") }
        var dim = numericColumns.count
        let rows = lineNumbers.count
        if hasHeader, numericColumns.first == 0, dim > 1, ["", "Unnamed: 0"].contains(firstFields[0].trimmingSpaces),
           (0..<rows).allSatisfy({ values[$0 * dim] == Float($0) }) {
            values = (0..<rows).flatMap { values[($0 * dim + 1)..<(($0 + 1) * dim)] }
            dim -= 1
            notes.append("\(file.path): column 1 has no name and holds the row numbers 0 to \(rows - 1), the index pandas writes: it is not read as a dimension")
        } else if hasHeader, numericColumns.first == 0, ["", "Unnamed: 0"].contains(firstFields[0].trimmingSpaces) {
            notes.append("\(file.path): column 1 has no name and is read as a dimension; if it is an index (pandas writes one unless index=False), "
                         + "drop it or name it with \"label_column\": 0")
        }
        let matrix = VectorMatrix(rows: rows, dim: dim, values: values)
        return Parsed(matrix: matrix, labels: labelIndex == nil ? nil : labels, lines: lineNumbers, header: hasHeader, notes: notes)
    }

    /// Whether `fields` are 0, 1, 2, … written as plain integers, at least three of them (a
    /// 2-d vector (0, 1) is too common to take for a header).
    static func isColumnNumbering(_ fields: [String]) -> Bool {
        guard fields.count >= 3 else { return false }
        return fields.enumerated().allSatisfy { $1.trimmingSpaces == String($0) }
    }
}
