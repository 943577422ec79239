/// Vectors from a Parquet file, as embedding pipelines write them (pandas, pyarrow, Spark, Polars):
/// a `list<float>` column (or `list<double>`, `list<halffloat>`, Arrow's `fixed_size_list`), or one
/// floating-point column per dimension; optionally a label column (INT32, INT64 or string).
///
/// The footer says which column chunks hold which rows, so row groups are decoded on the workers
/// at once, each into its own rows of the matrix; a worker holds one page at a time. A list
/// column must hold the same number of values in every row and no nulls: each row's first value
/// has repetition level 0 and every value the column's maximum definition level, checked page by
/// page, and a row that breaks this is named.
enum ParquetFormat {
    struct Options: Equatable {
        /// The vector column; by default the only floating-point list column, or else every
        /// floating-point column, one per dimension.
        var column: String? = nil
        var labelColumn: String? = nil
    }

    struct Layout {
        var metadata: ParquetMetadata
        var leaves: [ParquetLeaf]
        /// The list column's leaf, or one leaf per dimension.
        var vectorLeaves: [Int]
        var labelLeaf: Int?
        var rows: Int
        var dim: Int
        var element: ElementType
        var notes: [String]
        var isList: Bool { vectorLeaves.count == 1 && leaves[vectorLeaves[0]].maxRepetition > 0 }
    }

    static func layout(of file: MappedFile, options: Options) throws(KNNError) -> Layout {
        do {
            return try layout(file.bytes, options: options)
        } catch {
            throw KNNError.data(file: file.path, location: nil, message: error.message)
        }
    }

    private static func layout(_ bytes: UnsafeRawBufferPointer, options: Options) throws(ParquetError) -> Layout {
        let metadata = try ParquetMetadata.read(bytes)
        let leaves = try ParquetLeaf.leaves(of: metadata.schema)
        for group in metadata.rowGroups where group.columns.count != leaves.count {
            throw ParquetError("a row group has \(group.columns.count) column chunks where the schema has \(leaves.count) columns")
        }
        let available = leaves.map(\.description).joined(separator: ", ")
        var notes: [String] = []
        var vectorLeaves: [Int]
        if let name = options.column {
            vectorLeaves = leaves.indices.filter { leaves[$0].name == name }
            guard !vectorLeaves.isEmpty else { throw ParquetError("no column \"\(name)\" (the file has \(available))") }
            guard vectorLeaves.count == 1 else { throw ParquetError("column \"\(name)\" is a struct or map; vectors must be a list of numbers") }
            let leaf = leaves[vectorLeaves[0]]
            guard leaf.isFloatingPoint else { throw ParquetError("column \(leaf.description) does not hold floating-point vectors (FLOAT, DOUBLE or FLOAT16)") }
        } else {
            let lists = leaves.indices.filter { leaves[$0].maxRepetition > 0 && leaves[$0].isFloatingPoint }
            if lists.count == 1 {
                vectorLeaves = lists
            } else if lists.count > 1 {
                throw ParquetError("several vector columns (\(lists.map { leaves[$0].description }.joined(separator: ", "))): name one with \"column\"")
            } else {
                vectorLeaves = leaves.indices.filter { leaves[$0].maxRepetition == 0 && leaves[$0].isFloatingPoint && leaves[$0].name != options.labelColumn }
                guard !vectorLeaves.isEmpty else { throw ParquetError("no floating-point column to read vectors from (the file has \(available))") }
                if vectorLeaves.count > 1 || leaves.count > 1 {
                    notes.append("read \(vectorLeaves.count) floating-point columns as the dimensions, in schema order (\(describe(vectorLeaves.map { leaves[$0].name })))")
                }
            }
            let ignored = leaves.indices.filter { !vectorLeaves.contains($0) && leaves[$0].name != options.labelColumn }.map { leaves[$0].name }
            if !ignored.isEmpty && vectorLeaves.count == 1 && leaves[vectorLeaves[0]].maxRepetition > 0 {
                notes.append("read vectors from column \"\(leaves[vectorLeaves[0]].name)\"; other columns ignored (\(describe(ignored))); \"label_column\" reads one as labels")
            }
        }
        if vectorLeaves.count == 1, leaves[vectorLeaves[0]].maxRepetition > 1 {
            throw ParquetError("column \(leaves[vectorLeaves[0]].description) is a list of lists; vectors must be a flat list of numbers")
        }
        var labelLeaf: Int?
        if let name = options.labelColumn {
            let matches = leaves.indices.filter { leaves[$0].name == name }
            guard let first = matches.first else { throw ParquetError("no label column \"\(name)\" (the file has \(available))") }
            let leaf = leaves[first]
            guard matches.count == 1, leaf.maxRepetition == 0, [.int32, .int64, .byteArray].contains(leaf.type) else {
                throw ParquetError("label column \(leaf.description) must be INT32, INT64 or a string, one per row")
            }
            guard !vectorLeaves.contains(first) else { throw ParquetError("column \"\(name)\" cannot be both the vectors and the labels") }
            labelLeaf = first
        }
        var rows = 0
        for group in metadata.rowGroups {
            let (sum, overflow) = rows.addingReportingOverflow(group.rows)
            guard !overflow else { throw ParquetError("the row groups claim more rows than can be counted") }
            rows = sum
        }
        guard rows == metadata.rows else { throw ParquetError("the row groups hold \(rows) rows where the footer says \(metadata.rows)") }
        var dim = vectorLeaves.count
        if vectorLeaves.count == 1, leaves[vectorLeaves[0]].maxRepetition > 0 {
            // Level entries per row, from the first row group with rows; every page checks it.
            let leaf = vectorLeaves[0]
            if let group = metadata.rowGroups.first(where: { $0.rows > 0 }) {
                dim = try firstRowLength(bytes, chunk: group.columns[leaf], leaf: leaves[leaf], rows: group.rows)
                guard dim > 0 else { throw ParquetError("row 0: the vector in column \"\(leaves[leaf].name)\" is empty") }
            }
        }
        let (cells, overflow) = rows.multipliedReportingOverflow(by: dim)
        guard !overflow, cells <= Int.max / 16 else { throw ParquetError("\(rows) rows of \(dim) values are more than can be addressed") }
        let first = leaves[vectorLeaves[0]]
        let element: ElementType = first.isFloat16 ? .float16 : first.type == .double ? .float64 : .float32
        return Layout(metadata: metadata, leaves: leaves, vectorLeaves: vectorLeaves, labelLeaf: labelLeaf, rows: rows, dim: dim, element: element, notes: notes)
    }

    private static func describe(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ") : names.prefix(3).joined(separator: ", ") + ", …, " + names.suffix(2).joined(separator: ", ")
    }

    /// Reads every row group into one packed matrix, `threads` row groups at a time.
    static func load(_ file: MappedFile, layout: Layout, threads: Int) throws(KNNError) -> (matrix: VectorMatrix, labels: [String]?) {
        let groups = layout.metadata.rowGroups
        var firstRows: [Int] = []
        var next = 0
        for group in groups { firstRows.append(next); next += group.rows }
        let starts = firstRows
        let buffer = FloatBuffer(count: layout.rows * layout.dim, zeroed: false)
        let failures = ChunkSlots<ParquetError?>(count: groups.count, initial: nil)
        let labels = ChunkSlots<[String]>(count: groups.count, initial: [])
        nonisolated(unsafe) let bytes = file.bytes
        nonisolated(unsafe) let destination = buffer.pointer
        Parallel.forEach(groups.count, threads: threads) { g in
            let scratch = ParquetScratch()
            do throws(ParquetError) {
                try readGroup(g, bytes: bytes, layout: layout, scratch: scratch, into: destination + starts[g] * layout.dim, firstRow: starts[g])
                if let label = layout.labelLeaf {
                    labels.values[g] = try readLabels(g, leaf: label, bytes: bytes, layout: layout, scratch: scratch, firstRow: starts[g])
                }
            } catch {
                failures.values[g] = error
            }
            for column in groups[g].columns where column.filePath == nil && column.start < bytes.count {
                file.releasePages(column.start..<(column.start + min(column.compressedSize, bytes.count - column.start)))
            }
        }
        for g in groups.indices {
            if let failure = failures.values[g] {
                throw KNNError.data(file: file.path, location: "row group \(g)", message: failure.message)
            }
        }
        let matrix = VectorMatrix(rows: layout.rows, dim: layout.dim, stride: layout.dim, base: UnsafePointer(buffer.pointer), owner: buffer)
        return (matrix, layout.labelLeaf == nil ? nil : (0..<groups.count).flatMap { labels.values[$0] })
    }

    private static func readGroup(_ g: Int, bytes: UnsafeRawBufferPointer, layout: Layout, scratch: ParquetScratch,
                                  into destination: UnsafeMutablePointer<Float>, firstRow: Int) throws(ParquetError) {
        let group = layout.metadata.rowGroups[g]
        // pyarrow writes an empty table as a row group with no pages (its data page offset 0).
        guard group.rows > 0 else { return }
        let dim = layout.dim
        if layout.isList {
            let leaf = layout.leaves[layout.vectorLeaves[0]]
            let chunk = group.columns[layout.vectorLeaves[0]]
            let total = group.rows * dim
            // Entries beyond the rows' values are nulls or longer rows, found page by page; far
            // more is a damaged count, refused before level buffers are sized by it.
            guard chunk.values <= 2 * total + 1024 else {
                throw ParquetError("column \"\(leaf.name)\" claims \(chunk.values) values for \(group.rows) rows of \(dim)")
            }
            var reader = try ParquetChunkReader(file: bytes, chunk: chunk, leaf: leaf, scratch: scratch)
            var dictionary: [Float]?
            var written = 0
            while let page = try reader.next() {
                if dictionary == nil, let d = reader.dictionary { dictionary = try ParquetValues.floatDictionary(d, leaf: leaf) }
                try checkListLevels(page, leaf: leaf, dim: dim, before: written, rowsBefore: (written + dim - 1) / dim, firstRow: firstRow)
                guard written + page.count <= total else {
                    throw ParquetError("column \"\(leaf.name)\" holds more values than \(group.rows) rows of \(dim)")
                }
                try ParquetValues.floats(page, count: page.count, leaf: leaf, dictionary: dictionary, scratch: scratch, into: destination + written)
                written += page.count
            }
            guard written == total else {
                // Every row before the last was checked whole; a short last row is the one left.
                if written > total - dim {
                    throw ParquetError("row \(firstRow + group.rows - 1): the vector in column \"\(leaf.name)\" has \(values(written - (total - dim))) where the first row has \(dim)")
                }
                throw ParquetError("column \"\(leaf.name)\" holds \(written) values where \(group.rows) rows of \(dim) need \(total)")
            }
        } else {
            let column = AlignedBuffer<Float>(count: group.rows, zeroed: false)
            for (j, index) in layout.vectorLeaves.enumerated() {
                let leaf = layout.leaves[index]
                guard group.columns[index].values <= group.rows else {
                    throw ParquetError("column \"\(leaf.name)\" claims \(group.columns[index].values) values for \(group.rows) rows")
                }
                var reader = try ParquetChunkReader(file: bytes, chunk: group.columns[index], leaf: leaf, scratch: scratch)
                var dictionary: [Float]?
                var written = 0
                while let page = try reader.next() {
                    if dictionary == nil, let d = reader.dictionary { dictionary = try ParquetValues.floatDictionary(d, leaf: leaf) }
                    guard written + page.count <= group.rows else { throw ParquetError("column \"\(leaf.name)\" holds more values than the row group's \(group.rows) rows") }
                    try checkNoNulls(page, leaf: leaf, firstRow: firstRow + written)
                    try ParquetValues.floats(page, count: page.count, leaf: leaf, dictionary: dictionary, scratch: scratch, into: column.pointer + written)
                    written += page.count
                }
                guard written == group.rows else { throw ParquetError("column \"\(leaf.name)\" holds \(written) values for \(group.rows) rows") }
                for r in 0..<group.rows { destination[r * dim + j] = column.pointer[r] }
            }
        }
    }

    /// Every row holds exactly `dim` values and none is null: a row starts (repetition level 0)
    /// at every multiple of `dim` and nowhere else, and every entry has the maximum definition
    /// level. `before` entries and `rowsBefore` rows of this row group came before this page.
    private static func checkListLevels(_ page: ParquetChunkReader.DataPage, leaf: ParquetLeaf, dim: Int, before: Int, rowsBefore: Int, firstRow: Int) throws(ParquetError) {
        // The row of entry i, counting the rows that start up to it (only on the way to an error).
        func row(of i: Int) -> Int {
            guard let repetition = page.repetition else { return firstRow + rowsBefore + i }
            return firstRow + rowsBefore + (0...i).filter { repetition[$0] == 0 }.count - 1
        }
        if let definition = page.definition {
            let full = UInt32(leaf.maxDefinition)
            for i in 0..<page.count where definition[i] != full {
                throw ParquetError("row \(row(of: i)): the vector in column \"\(leaf.name)\" is null or empty, or holds a null (definition level \(definition[i]) of \(leaf.maxDefinition))")
            }
        }
        guard let repetition = page.repetition else { return }
        var position = before % dim
        for i in 0..<page.count {
            let starts = repetition[i] == 0
            if starts != (position == 0) {
                // A row that starts early ends one that is short; a row that runs past `dim` is long.
                let message = starts ? "has \(values(position)) where the first row has \(dim)" : "has more than the \(values(dim)) the first row has"
                throw ParquetError("row \(row(of: i) - (starts ? 1 : 0)): the vector in column \"\(leaf.name)\" \(message)")
            }
            position += 1
            if position == dim { position = 0 }
        }
    }

    private static func values(_ count: Int) -> String { count == 1 ? "1 value" : "\(count) values" }

    /// The number of values in the first row of the row group's list column: the entries before
    /// the second row starts (repetition level 0), found in the first pages.
    private static func firstRowLength(_ bytes: UnsafeRawBufferPointer, chunk: ParquetMetadata.ColumnChunk, leaf: ParquetLeaf, rows: Int) throws(ParquetError) -> Int {
        // As in `readGroup`: a count far beyond what the rows can hold is damage, refused before it sizes buffers.
        guard chunk.values <= 2 * min(rows, Int.max / (4 * VectorLoader.maxDimension)) * VectorLoader.maxDimension + 1024 else {
            throw ParquetError("column \"\(leaf.name)\" claims \(chunk.values) values for \(rows) rows")
        }
        var reader = try ParquetChunkReader(file: bytes, chunk: chunk, leaf: leaf, scratch: ParquetScratch())
        var entries = 0
        while let page = try reader.next() {
            guard let repetition = page.repetition else { return 1 }
            for i in 0..<page.count where repetition[i] == 0 && entries + i > 0 { return entries + i }
            entries += page.count
        }
        return entries
    }

    private static func checkNoNulls(_ page: ParquetChunkReader.DataPage, leaf: ParquetLeaf, firstRow: Int) throws(ParquetError) {
        guard let definition = page.definition else { return }
        let full = UInt32(leaf.maxDefinition)
        for i in 0..<page.count where definition[i] != full {
            throw ParquetError("row \(firstRow + i): column \"\(leaf.name)\" is null")
        }
    }

    private static func readLabels(_ g: Int, leaf index: Int, bytes: UnsafeRawBufferPointer, layout: Layout, scratch: ParquetScratch, firstRow: Int) throws(ParquetError) -> [String] {
        let group = layout.metadata.rowGroups[g]
        let leaf = layout.leaves[index]
        guard group.rows > 0 else { return [] }
        guard group.columns[index].values <= group.rows else {
            throw ParquetError("label column \"\(leaf.name)\" claims \(group.columns[index].values) values for \(group.rows) rows")
        }
        var reader = try ParquetChunkReader(file: bytes, chunk: group.columns[index], leaf: leaf, scratch: scratch)
        var labels: [String] = []
        labels.reserveCapacity(min(group.rows, 1 << 20))
        var dictionary: [String]?
        while let page = try reader.next() {
            if dictionary == nil, let d = reader.dictionary {
                var entries: Result<[String], ParquetError> = .success([])
                d.bytes.withUnsafeBytes { raw in entries = Result { () throws(ParquetError) in try ParquetValues.plainLabels(raw, count: d.count, leaf: leaf) } }
                dictionary = try entries.get()
            }
            guard labels.count + page.count <= group.rows else { throw ParquetError("label column \"\(leaf.name)\" holds more values than the row group's \(group.rows) rows") }
            try checkNoNulls(page, leaf: leaf, firstRow: firstRow + labels.count)
            try ParquetValues.labels(page, count: page.count, leaf: leaf, dictionary: dictionary, scratch: scratch, into: &labels)
        }
        guard labels.count == group.rows else { throw ParquetError("label column \"\(leaf.name)\" holds \(labels.count) values for \(group.rows) rows") }
        return labels
    }
}
