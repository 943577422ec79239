/// How a job gets its index: built, or — with `index.path` — mapped back from the saved file
/// when it fits the job and the dataset, otherwise built and saved again (`reuse: if_valid`,
/// with a warning saying why) or refused (`reuse: require`).
enum IndexStore {
    /// What happened to the saved index, for the report.
    struct FileReport {
        enum Action: String { case loaded, built, rebuilt }
        var path: String
        var action: Action
        /// Why a saved index was not used.
        var reason: String?

        var json: JSONValue {
            var members: [(key: String, value: JSONValue)] = [("path", .string(Paths.absolute(path))), ("action", .string(action.rawValue))]
            if let reason { members.append(("reason", .string(reason))) }
            return .object(members)
        }
    }

    struct Outcome {
        var index: any VectorIndex
        var file: FileReport?
        var warnings: [String]
    }

    /// The job's index over `data`, read from the file `dataset` describes (taken before it was
    /// read); `rebuild` builds and saves even when a fit one is saved (`knnbatch build`).
    static func obtain(_ spec: JobSpec, data: VectorMatrix, dataset: DatasetIdentity?, threads: Int, rebuild: Bool = false) throws(KNNError) -> Outcome {
        guard let settings = spec.index.file else {
            return Outcome(index: try spec.index.build(data: data, metric: spec.metric, threads: threads, file: spec.dataset.path), file: nil, warnings: [])
        }
        let parameters = spec.index.resolved(dim: data.dim, count: data.rows, metric: spec.metric).spec.parameters
        var identity = dataset
        if identity == nil { identity = try DatasetIdentity(source: spec.dataset, threads: threads) }
        let dataset = identity!
        var reason: String? = nil
        if !rebuild {
            if access(settings.path, F_OK) == 0 {
                do throws(KNNError) {
                    let index = try IndexFile.load(path: settings.path, parameters: parameters, data: data, metric: spec.metric, dataset: dataset,
                                                   readOptions: spec.dataset.readOptions, threads: threads)
                    return Outcome(index: index, file: FileReport(path: settings.path, action: .loaded), warnings: [])
                } catch {
                    guard settings.reuse == .ifValid else { throw error }
                    reason = "\(error)"
                }
            } else if settings.reuse == .require {
                throw KNNError.data(file: settings.path, location: nil, message: "no saved index (index.reuse is \"require\"; `knnbatch build` makes one)")
            }
        }
        let index = try spec.index.build(data: data, metric: spec.metric, threads: threads, file: spec.dataset.path)
        try IndexFile.write(index, parameters: parameters, metric: spec.metric, dim: data.dim, dataset: try dataset.fingerprint(),
                            readOptions: spec.dataset.readOptions, path: settings.path, threads: threads)
        let warnings = reason.map { ["the saved index was not used and was rebuilt: \($0)"] } ?? []
        return Outcome(index: index, file: FileReport(path: settings.path, action: reason == nil ? .built : .rebuilt, reason: reason), warnings: warnings)
    }
}
