import Testing
@testable import KNNCore

@Suite struct TextFormatTests {
    let folder = TemporaryFolder()

    func load(_ name: String, _ format: VectorFormat, csv: CSVFormat.Options = .init(), text: WordVectorFormat.Options = .init(),
              labels: String? = nil) throws -> LoadedVectors {
        var source = VectorSource(path: folder.file(name), format: format, labelsPath: labels.map(folder.file))
        source.csv = csv
        source.text = text
        return try VectorLoader.load(source)
    }

    func dataError(_ body: () throws -> Void) -> (location: String?, message: String)? {
        guard case .data(_, let location, let message)? = knnError(body) else { return nil }
        return (location, message)
    }

    @Test func csvWithoutHeader() throws {
        folder.write("a.csv", text: "1,2\n3.5,-4e2\r\n\n")
        let loaded = try load("a.csv", .csv)
        #expect(loaded.matrix.toArrays() == [[1, 2], [3.5, -400]])
        #expect(loaded.labels == nil)
    }

    @Test func csvByteOrderMarkIsNotPartOfTheFirstField() throws {
        folder.write("bom.csv", [0xEF, 0xBB, 0xBF] + Array("1,2\n3,4\n".utf8))
        #expect(try load("bom.csv", .csv).matrix.toArrays() == [[1, 2], [3, 4]])
    }

    @Test func csvHeaderIsDetectedFromNonNumericFields() throws {
        folder.write("h.csv", text: "x,y\n1,2\n")
        #expect(try load("h.csv", .csv).matrix.toArrays() == [[1, 2]])
        // Told there is no header, the same first line is bad data, reported with its line.
        let error = dataError { _ = try load("h.csv", .csv, csv: .init(header: false)) }
        #expect(error?.location == "line 1")
        #expect(error?.message == "column 1: \"x\" is not a number")
        // Told there is a header, a numeric first line is skipped.
        folder.write("n.csv", text: "5,6\n1,2\n")
        #expect(try load("n.csv", .csv, csv: .init(header: true)).matrix.toArrays() == [[1, 2]])
    }

    @Test func csvLabelColumnByNameOrIndexWithQuotedFields() throws {
        folder.write("l.csv", text: "x,city,y\n1,\"Paris, FR\",2\n3,\"The \"\"Big\"\" Apple\",4\n")
        let byName = try load("l.csv", .csv, csv: .init(labelColumn: .name("city")))
        #expect(byName.matrix.toArrays() == [[1, 2], [3, 4]])
        #expect(byName.labels == ["Paris, FR", "The \"Big\" Apple"])
        let byIndex = try load("l.csv", .csv, csv: .init(labelColumn: .index(1)))
        #expect(byIndex.labels == byName.labels)
    }

    /// RFC 4180 allows line breaks inside quotes; line numbers stay those of the file.
    @Test func csvQuotedFieldsMaySpanLines() throws {
        folder.write("m.csv", text: "x,name,y\r\n1,\"two\r\nlines\",2\r\n3,\"x\",4\r\n\r\n5,\"a\"\"b\n\nc\",oops\n")
        let error = dataError { _ = try load("m.csv", .csv, csv: .init(labelColumn: .name("name"))) }
        #expect(error?.location == "line 6" && error?.message == "column 3: \"oops\" is not a number")
        folder.write("n.csv", text: "x,name,y\n1,\"two\nlines\",2\n3,\"x\",4\n")
        let loaded = try load("n.csv", .csv, csv: .init(labelColumn: .name("name")))
        #expect(loaded.labels == ["two\nlines", "x"])
        #expect(loaded.matrix.toArrays() == [[1, 2], [3, 4]])
        folder.write("open.csv", text: "1,2\n3,\"4\n5,6\n")
        #expect(dataError { _ = try load("open.csv", .csv) }! == ("line 2", "unbalanced double quote"))
    }

    @Test func csvErrorsNameLineAndColumn() {
        folder.write("bad.csv", text: "1,2\n3,x4\n")
        #expect(dataError { _ = try load("bad.csv", .csv) }! == ("line 2", "column 2: \"x4\" is not a number"))
        folder.write("ragged.csv", text: "1,2\n3\n")
        #expect(dataError { _ = try load("ragged.csv", .csv) }! == ("line 2", "expected 2 fields, found 1"))
        folder.write("quote.csv", text: "1,2\n\"3,4\n")
        #expect(dataError { _ = try load("quote.csv", .csv) }! == ("line 2", "unbalanced double quote"))
        folder.write("header-only.csv", text: "a,b\n")
        #expect(dataError { _ = try load("header-only.csv", .csv) }?.message.contains("no data rows") == true)
        folder.write("l.csv", text: "a,b\n1,2\n")
        #expect(dataError { _ = try load("l.csv", .csv, csv: .init(labelColumn: .name("city"))) }?.message.contains("no column named \"city\"") == true)
        #expect(dataError { _ = try load("l.csv", .csv, csv: .init(labelColumn: .index(5))) }?.message.contains("label_column 5 does not exist") == true)
    }

    @Test func csvNaNIsParsedSoTheCheckCanNameIt() throws {
        folder.write("nan.csv", text: "1,2\n3,nan\n")
        let loaded = try load("nan.csv", .csv)
        let error = knnError { try VectorChecks.check(loaded, requireNonZero: false) }
        #expect(error == .data(file: folder.file("nan.csv"), location: "vector 1 (line 2)", message: "component 1 is nan; every value must be finite"))
    }

    @Test func wordVectorsGloVeLayout() throws {
        folder.write("w.txt", text: "the 0.1 0.2\nking -1 2.5e-1\n")
        let loaded = try load("w.txt", .text)
        #expect(loaded.labels == ["the", "king"])
        #expect(loaded.matrix.toArrays() == [[0.1, 0.2], [-1, 0.25]])
    }

    @Test func wordVectorsFastTextHeaderIsRecognisedAndChecked() throws {
        folder.write("w.vec", text: "2 3\nhello 1 2 3\nworld 4 5 6\n")
        let loaded = try load("w.vec", .text)
        #expect(loaded.labels == ["hello", "world"])
        #expect(loaded.matrix.rows == 2 && loaded.matrix.dim == 3)
        folder.write("wrong.vec", text: "3 3\nhello 1 2 3\n")
        #expect(dataError { _ = try load("wrong.vec", .text) }! == ("line 1", "header line announces 3 vectors, the file has 1"))
    }

    @Test func wordVectorLabelsMayContainSpacesOnlyWhenAskedAndRowsMayNotBeShort() throws {
        folder.write("s.txt", text: "a 1 2\nat name 3 4\n")
        #expect(try load("s.txt", .text, text: .init(labelSpaces: true)).labels == ["a", "at name"])
        #expect(dataError { _ = try load("s.txt", .text) }! == ("line 2", "expected a label and 2 numbers (the dimension of line 1), found 4 fields; "
                                                                + "if labels contain spaces, set \"label_spaces\": true"))
        folder.write("short.txt", text: "a 1 2\nb 3\n")
        #expect(dataError { _ = try load("short.txt", .text) }! == ("line 2", "expected a label and 2 numbers (the dimension of line 1), found 2 fields"))
        folder.write("nan.txt", text: "a 1 2\nb 3 x\n")
        #expect(dataError { _ = try load("nan.txt", .text) }! == ("line 2", "value 2 (\"x\") is not a number"))
    }

    /// A short first line used to set the dimension and fold the other lines' extra numbers into
    /// their labels, silently.
    @Test func aShortFirstLineIsAnErrorNotADimension() {
        let eight = (1...8).map { " 0.\($0)" }.joined()
        folder.write("short-first.txt", text: "the 0.5 0.25\nof\(eight)\nand\(eight)\n")
        let error = dataError { _ = try load("short-first.txt", .text) }
        #expect(error?.location == "line 2")
        #expect(error?.message.hasPrefix("expected a label and 2 numbers (the dimension of line 1), found 9 fields") == true)
    }

    /// A first line of two digit strings is a fastText header even when a number overflows: an
    /// error naming the line, not a one-dimensional vector labelled with the count.
    @Test func anOverflowingFastTextHeaderIsAnError() {
        folder.write("huge.vec", text: "99999999999999999999999 3\nhello 1 2 3\n")
        #expect(dataError { _ = try load("huge.vec", .text) }! ==
                ("line 1", "header line \"99999999999999999999999 3\" announces more vectors or dimensions than can be read"))
        folder.write("wide.vec", text: "1 99999999\nhello 1 2 3\n")
        #expect(dataError { _ = try load("wide.vec", .text) }?.location == "line 1")
        folder.write("other.vec", text: "1 3\nhello 1 2\n")
        #expect(dataError { _ = try load("other.vec", .text) }! == ("line 2", "expected a label and 3 numbers (the dimension of the header on line 1), found 3 fields"))
    }

    /// pandas' `to_csv(index=False)` of an unnamed matrix writes the column numbers as its header.
    @Test func csvHeaderOfColumnNumbersIsAHeaderWithANote() throws {
        folder.write("p.csv", text: "0,1,2\n0.5,1.5,2.5\n3,4,5\n")
        let loaded = try load("p.csv", .csv)
        #expect(loaded.matrix.toArrays() == [[0.5, 1.5, 2.5], [3, 4, 5]])
        #expect(loaded.info.header == true)
        #expect(loaded.info.notes.count == 1 && loaded.info.notes[0].contains("line 1 (0,1,2) is read as a header"))
        // Told otherwise, the line is a vector and nothing is noted.
        let asData = try load("p.csv", .csv, csv: .init(header: false))
        #expect(asData.matrix.toArrays().first == [0, 1, 2] && asData.info.notes.isEmpty && asData.info.header == false)
        // Not the column numbers: data.
        for text in ["0,2,1\n1,1,1\n", "0,1.0,2\n1,1,1\n", "1,2,3\n1,1,1\n", "0,1\n1,1\n", "0\n1\n"] {
            folder.write("d.csv", text: text)
            let d = try load("d.csv", .csv)
            #expect(d.info.header == false && d.info.notes.isEmpty, "\(text)")
        }
    }

    /// pandas' default `to_csv()` adds an unnamed index column of row numbers: not a dimension.
    @Test func csvPandasIndexColumnIsNotADimension() throws {
        folder.write("i.csv", text: ",0,1\n0,0.5,1.5\n1,2.5,3.5\n2,4,5\n")
        let loaded = try load("i.csv", .csv)
        #expect(loaded.matrix.toArrays() == [[0.5, 1.5], [2.5, 3.5], [4, 5]])
        #expect(loaded.info.notes.count == 1 && loaded.info.notes[0].contains("column 1 has no name and holds the row numbers 0 to 2"))
        folder.write("u.csv", text: "Unnamed: 0,a,b\n0,0.5,1.5\n1,2.5,3.5\n")
        #expect(try load("u.csv", .csv).matrix.dim == 2)
        // An unnamed first column that is not the row numbers (a shuffled frame's index) stays a
        // dimension, with a warning.
        folder.write("v.csv", text: ",a,b\n0,0.5,1.5\n7,2.5,3.5\n")
        let kept = try load("v.csv", .csv)
        #expect(kept.matrix.toArrays() == [[0, 0.5, 1.5], [7, 2.5, 3.5]])
        #expect(kept.info.notes.count == 1 && kept.info.notes[0].contains("column 1 has no name and is read as a dimension"))
    }

    @Test func labelsFileMustMatchTheVectorCount() throws {
        folder.write("v.fvecs", Fixtures.fvecs([[1], [2], [3]]))
        folder.write("ok.txt", text: "one\ntwo\nthree\n")
        #expect(try load("v.fvecs", .fvecs, labels: "ok.txt").labels == ["one", "two", "three"])
        folder.write("short.txt", text: "one\ntwo\n")
        let error = dataError { _ = try load("v.fvecs", .fvecs, labels: "short.txt") }
        #expect(error?.message.contains("has 2 labels but") == true)
    }

    @Test func parseFloatIsStrict() {
        func parse(_ text: String) -> Float? {
            Array(text.utf8).withUnsafeBytes { parseFloat($0) }
        }
        #expect(parse(" 1.5 ") == 1.5)
        #expect(parse("-2e-3") == -2e-3)
        #expect(parse("1.5x") == nil)
        #expect(parse("") == nil)
        #expect(parse("0x10") == nil)
        #expect(parse("inf") == .infinity)
    }
}
