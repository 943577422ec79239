import Foundation

/// Exact neighbours for `knnbatch eval`, kept beside the job (`.<job>.knnbatch-truth`) so that a
/// second evaluation of the same inputs does not compute them again.
///
/// Layout: one line of text — the key — then k little-endian Int64 ids per sampled query, in
/// sample order. The key names the format, the release, k, the metric, whether the job is a
/// self-join, the sample, and hashes of the dataset's and the queries' vectors as loaded; a file
/// with another key, or of the wrong length, is computed again and replaced.
enum TruthCache {
    static func path(job: String) -> String { Paths.sidecar(of: job, ".knnbatch-truth") }

    /// The job's ground truth: its `groundtruth` file (every query, or `groundtruth.sample` of
    /// them), else exact neighbours from `flat` for every query or the sample, from the cache
    /// when it holds them.
    static func truth(for spec: JobSpec, inputs: JobInputs, threads: Int, quiet: Bool) throws(KNNError) -> SampledGroundTruth {
        let queries = inputs.queryMatrix, k = spec.k, selfJoin = spec.queries == .dataset
        let sample = QuerySample(queryCount: queries.rows, size: spec.groundtruthSample?.size ?? queries.rows, seed: spec.groundtruthSample?.seed ?? 1)
        if let groundtruth = inputs.groundtruth { return SampledGroundTruth(sample: sample, groundtruth: groundtruth, k: k) }
        let dataset = inputs.dataset.matrix
        let datasetHash = AppendState.rowsHash(dataset, rows: dataset.rows, labels: nil, threads: threads)
        let queryHash = selfJoin ? datasetHash : AppendState.rowsHash(queries, rows: queries.rows, labels: nil, threads: threads)
        let key = "knnbatch-truth 1 \(Version.current) k=\(k) \(spec.metric.rawValue) self=\(selfJoin) sample=\(sample.count)/\(spec.groundtruthSample?.seed ?? 1) "
            + "dataset=\(dataset.rows)x\(dataset.dim):\(datasetHash) queries=\(queries.rows):\(queryHash)\n"
        let path = path(job: spec.jobPath)
        let bytes = sample.count * k * 8
        if let file = try? MappedFile(path: path), file.bytes.count == key.utf8.count + bytes, file.bytes.starts(with: Array(key.utf8)) {
            let ids = (0..<(sample.count * k)).map { Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: key.utf8.count + $0 * 8, as: Int64.self)) }
            return SampledGroundTruth(sample: sample, k: k, ids: ids)
        }
        if !quiet { printError("eval: computing the exact neighbours of \(sample.count) queries with flat (kept in \(path))") }
        let truth = SampledGroundTruth(sample: sample, data: dataset, queries: queries, metric: spec.metric, k: k, selfJoin: selfJoin, threads: threads)
        do throws(KNNError) {
            let file = try AtomicOutputFile(path: path)
            var data = Array(key.utf8)
            data.reserveCapacity(data.count + bytes)
            for id in truth.ids { withUnsafeBytes(of: id.littleEndian) { data.append(contentsOf: $0) } }
            try file.write(data)
            try file.finish()
            try file.publish()
        } catch {
            if !quiet { printError("warning: the exact neighbours could not be kept for the next eval: \(error)") }
        }
        return truth
    }
}
