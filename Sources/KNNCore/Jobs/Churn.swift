/// How a result differs from the previous one for the same job: per query compared, whether its
/// set of neighbour ids changed, and the overlap of the two sets (|new ∩ old| / k), over the
/// first k of each, k the smaller of the two lists (so a previous result with a smaller k, or
/// padded rows, compare on what both hold). A nightly run whose neighbours suddenly all change is seen at
/// a glance in the report. Queries beyond the previous result's are not compared.
final class Churn {
    let previous: ResultReader
    private(set) var compared = 0
    private(set) var changed = 0
    private var overlapSum = 0.0
    private var exhausted = false
    /// One query's previous and new ids while compared.
    private var old: [Int64] = [], new: [Int64] = []

    init(previous: ResultReader) { self.previous = previous }

    /// The totals so far, for a journal; `restore` takes them back when a run resumes.
    var totals: (compared: Int, changed: Int, overlap: Double) { (compared, changed, overlapSum) }

    func restore(compared: Int, changed: Int, overlap: Double) {
        self.compared = compared
        self.changed = changed
        overlapSum = overlap
    }

    /// Adds counts made elsewhere (`AppendUpdate`, which knows what its merge changed).
    func add(compared: Int, changed: Int, overlap: Double) {
        self.compared += compared
        self.changed += changed
        overlapSum += overlap
    }

    /// Why the comparison stopped, when the previous result turned out unreadable part way.
    private(set) var failure: KNNError?

    /// Compares rows `0..<rows` of `table` (queries `firstQuery…`), in query order. A previous
    /// result that turns out unreadable part way ends the comparison (`failure`), not the run.
    func add(_ table: ResultTable, rows: Int, firstQuery: Int) {
        guard !exhausted, failure == nil else { return }
        for r in 0..<rows {
            do throws(KNNError) {
                guard try previous.ids(ofQuery: firstQuery + r, into: &old) else { exhausted = true; return }
            } catch {
                failure = error
                return
            }
            new.removeAll(keepingCapacity: true)
            for rank in 0..<table.k where table.id(row: r, rank: rank) >= 0 { new.append(table.id(row: r, rank: rank)) }
            let k = min(old.count, new.count)
            // Ids within one list are distinct: the common ones of the two first-k's, by sorting both.
            old.removeLast(old.count - k)
            new.removeLast(new.count - k)
            old.sort()
            new.sort()
            var i = 0, j = 0, common = 0
            while i < k && j < k {
                if old[i] == new[j] { common += 1; i += 1; j += 1 } else if old[i] < new[j] { i += 1 } else { j += 1 }
            }
            compared += 1
            if common != k { changed += 1 }
            overlapSum += k == 0 ? 1 : Double(common) / Double(k)
        }
    }

    var json: JSONValue? {
        guard failure == nil else { return nil }
        return .object([
            ("previous", .string(Paths.absolute(previous.path))), ("queries_compared", .integer(compared)),
            ("queries_changed", .integer(changed)),
            ("changed_fraction", .decimal(compared > 0 ? Double(changed) / Double(compared) : 0)),
            ("mean_overlap_at_k", .decimal(compared > 0 ? overlapSum / Double(compared) : 1)),
        ])
    }

    /// The comparison the job asks for: with `output.previous`, that file (an error if it cannot
    /// be read); otherwise the output as it stands, if any (a warning if it cannot be read).
    static func forJob(_ spec: JobSpec) throws(KNNError) -> (churn: Churn?, warning: String?) {
        if let path = spec.output.previousPath {
            let format: OutputSpec.Format = Paths.fileName(of: path).lowercased().hasSuffix(".npy") ? .npy : .csv
            return (Churn(previous: try ResultReader(path: path, format: format)), nil)
        }
        guard access(spec.output.path, F_OK) == 0 else { return (nil, nil) }
        do throws(KNNError) {
            return (Churn(previous: try ResultReader(path: spec.output.path, format: spec.output.format)), nil)
        } catch {
            return (nil, "the previous output cannot be compared with this one: \(error)")
        }
    }
}
