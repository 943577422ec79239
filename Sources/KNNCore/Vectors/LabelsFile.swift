/// A labels file: one label per line, line `i` naming vector `i`. A final newline is optional;
/// every other line counts, empty ones included, so that labels never shift against the vectors.
enum LabelsFile {
    static func read(path: String, expectedCount: Int, vectorsPath: String) throws(KNNError) -> [String] {
        let file = try MappedFile(path: path)
        let labels = TextLines(file.bytes).map { $0.line.text }
        guard labels.count == expectedCount else {
            throw KNNError.data(file: path, location: nil, message: "has \(labels.count) labels but \(vectorsPath) has \(expectedCount) vectors; one label per line is needed")
        }
        return labels
    }
}
