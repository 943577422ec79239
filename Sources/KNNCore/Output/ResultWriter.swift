/// Writes finished blocks of results, in query order, to an output file.
protocol ResultWriter: AnyObject {
    /// Writes the rows `0..<rows` of `table`, which hold queries `firstQuery...`.
    func write(_ table: ResultTable, rows: Int, firstQuery: Int) throws(KNNError)
    /// Completes the file and flushes it to disk, still under its temporary name.
    func finish() throws(KNNError)
}

/// Labels for output columns, escaped once for CSV.
struct OutputLabels {
    var queries: [String]?
    var dataset: [String]?
}

enum ResultWriters {
    /// `resuming`: the file already holds the header and some blocks (`RunJournal`).
    static func make(_ format: OutputSpec.Format, file: AtomicOutputFile, queryCount: Int, k: Int, labels: OutputLabels,
                     resuming: Bool = false) throws(KNNError) -> any ResultWriter {
        switch format {
        case .csv: return try CSVResultWriter(file: file, labels: labels, writesHeader: !resuming)
        case .npy: return try NPYResultWriter(file: file, queryCount: queryCount, k: k, writesHeader: !resuming)
        }
    }
}
