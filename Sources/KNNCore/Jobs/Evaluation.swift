import Foundation

/// `knnbatch eval JOB.json`: the job's index built once, its search setting swept, and for each
/// value recall@k against exact neighbours and batch queries per second, written beside the
/// output as a table (`<output>.eval.csv`, `.eval.json`) and a plot (`.eval.svg`, `RecallPlot`).
///
/// Ground truth is the job's `groundtruth` (an ivecs file, or `sample` queries), else every
/// query's exact neighbours from `flat`, cached beside the job (`TruthCache`) so that a second
/// eval of the same inputs does not compute them again. Each value is timed `repeats` times, the
/// values taken in turn within each round so that a busy spell of the machine falls on all of
/// them alike; the median is reported with the slowest and fastest. Everything but the timings is
/// deterministic.
public enum Evaluation {
    public struct Options: Sendable {
        public var threads: Int?
        public var quiet: Bool
        /// The values to sweep; nil: the job's `sweep.values`, else the index's own ladder.
        public var values: [Int]?
        public var repeats: Int
        public init(threads: Int? = nil, quiet: Bool = false, values: [Int]? = nil, repeats: Int = 3) {
            self.threads = threads
            self.quiet = quiet
            self.values = values
            self.repeats = repeats
        }
    }

    struct Point {
        var value: Int?
        var recall: Double
        var seconds: [Double]
        var queries: Int
        var onFront = false

        var medianSeconds: Double { seconds.sorted()[seconds.count / 2] }
        var queriesPerSecond: Double { Double(queries) / max(medianSeconds, 1e-9) }
        /// The fastest and slowest rounds, as queries per second.
        var spread: (low: Double, high: Double) { (Double(queries) / max(seconds.max()!, 1e-9), Double(queries) / max(seconds.min()!, 1e-9)) }
    }

    /// Most values swept from the index's own ladder when neither the job nor the command line
    /// gives them.
    static let defaultValueCount = 10

    /// Runs the sweep and writes the three files; returns a line for the user.
    public static func run(_ spec: JobSpec, options: Options) throws(KNNError) -> String {
        let start = Clock.now()
        let threads = JobRunner.threadCount(spec: spec, options: JobRunner.Options(threads: options.threads))
        try spec.checkOutputsAreNotInputs()
        let paths = (csv: spec.output.path + ".eval.csv", json: spec.output.path + ".eval.json", svg: spec.output.path + ".eval.svg")
        let lock = try OutputLock(output: paths.csv)
        let files = (csv: try AtomicOutputFile(path: paths.csv), json: try AtomicOutputFile(path: paths.json), svg: try AtomicOutputFile(path: paths.svg))
        let inputs = try JobInputs.load(spec)
        let queries = inputs.queryMatrix, selfJoin = spec.queries == .dataset
        let truth = try TruthCache.truth(for: spec, inputs: inputs, threads: threads, quiet: options.quiet)
        // Blocks as a run searches them, where the truth covers runs of consecutive queries.
        let blockQueries = truth.sample.runs.count == 1 ? Planner.defaultBlockQueries : QuerySample.runLength

        var sweeps: [Sweep] = []
        for (n, indexSpec) in ([spec.index] + spec.sweepIndexes).enumerated() {
            var job = spec
            job.index = indexSpec
            // Only the job's own index may be a saved one.
            if n > 0 { job.index.file = nil }
            let datasetIdentity = job.index.file == nil ? nil : try DatasetIdentity(source: spec.dataset, threads: threads)
            let buildStart = Clock.now()
            let index = try IndexStore.obtain(job, data: inputs.dataset.matrix, dataset: datasetIdentity, threads: threads).index
            let buildSeconds = Clock.now() - buildStart
            let tunable = index as? any TunableIndex
            var values: [Int?] = [nil]
            if let tunable {
                let chosen = n == 0 ? (options.values ?? spec.sweepValues) : nil
                if let outside = chosen?.first(where: { !tunable.knobRange.contains($0) }) {
                    let message = "\(outside) is not a value of \(tunable.knobName) (\(tunable.knobRange.lowerBound) to \(tunable.knobRange.upperBound))"
                    if options.values != nil { throw KNNError.usage("--values: \(message)") }
                    throw KNNError.spec(file: spec.jobPath, field: "sweep.values", message: message)
                }
                values = (chosen ?? Array(tunable.knobLadder(k: spec.k).prefix(defaultValueCount))).map { Optional($0) }
            }
            let searchers = values.map { value in value.map { tunable!.withKnob($0).index } ?? index }
            var points = values.map { Point(value: $0, recall: 0, seconds: [], queries: truth.sample.count) }
            for round in 0..<max(1, options.repeats) {
                for (i, searcher) in searchers.enumerated() {
                    let t0 = Clock.now()
                    let found = truth.sample.search(searcher, queries: queries, k: spec.k, selfJoin: selfJoin, threads: threads, blockQueries: blockQueries)
                    points[i].seconds.append(Clock.now() - t0)
                    if round == 0 { points[i].recall = truth.recalls(of: found).reduce(0, +) / Double(max(truth.sample.count, 1)) }
                }
            }
            let name = indexSpec.resolved(dim: inputs.dataset.info.dim, count: inputs.dataset.info.rows, metric: spec.metric).spec.typeName
            sweeps.append(Sweep(name: name, knob: tunable?.knobName, points: points, buildSeconds: buildSeconds, memory: peakMemoryBytes()))
            if !options.quiet { printError("eval: \(name): \(points.count) setting\(points.count == 1 ? "" : "s") measured") }
        }
        // The Pareto front over every index: no other point is at least as accurate and faster.
        let all = sweeps.flatMap(\.points)
        for s in sweeps.indices {
            for i in sweeps[s].points.indices {
                let p = sweeps[s].points[i]
                sweeps[s].points[i].onFront = !all.contains { $0.recall >= p.recall && $0.queriesPerSecond > p.queriesPerSecond }
            }
        }

        try files.csv.write(Array(csv(sweeps, k: spec.k).utf8))
        try files.json.write(Array((JSONWriter.render(json(sweeps, spec: spec, threads: threads, truth: truth)) + "\n").utf8))
        let title = "\(Paths.fileName(of: spec.dataset.path)): \(inputs.dataset.info.rows) × \(inputs.dataset.info.dim), \(spec.metric.rawValue), \(truth.sample.count) queries, \(threads) threads"
        try files.svg.write(Array(RecallPlot(title: title, k: spec.k, series: sweeps.map { sweep in
            RecallPlot.Series(name: sweep.knob.map { "\(sweep.name) (\($0))" } ?? sweep.name, points: sweep.points.map {
                RecallPlot.Point(recall: $0.recall, queriesPerSecond: $0.queriesPerSecond, label: $0.value.map(String.init) ?? "", onFront: $0.onFront)
            })
        }).svg.utf8))
        for file in [files.csv, files.json, files.svg] { try file.finish() }
        for file in [files.csv, files.json, files.svg] { try file.publish() }
        lock.keep()
        let count = all.count
        return "measured \(count) setting\(count == 1 ? "" : "s") of \(sweeps.map(\.name).joined(separator: ", ")) in \(Format.duration(Clock.now() - start)): "
            + "\(paths.csv), \(paths.json), \(paths.svg)"
    }

    /// One index's points.
    struct Sweep {
        var name: String
        var knob: String?
        var points: [Point]
        var buildSeconds: Double
        var memory: Int
    }

    static func csv(_ sweeps: [Sweep], k: Int) -> String {
        var text = "index,parameter,value,recall_at_\(k),queries_per_second,queries_per_second_low,queries_per_second_high,build_seconds,peak_memory_bytes,pareto\n"
        for sweep in sweeps {
            for p in sweep.points {
                let (low, high) = p.spread
                text += "\(sweep.name),\(sweep.knob ?? ""),\(p.value.map(String.init) ?? ""),\(fixed(p.recall, 6)),\(fixed(p.queriesPerSecond, 1)),"
                    + "\(fixed(low, 1)),\(fixed(high, 1)),\(fixed(sweep.buildSeconds, 3)),\(sweep.memory),\(p.onFront)\n"
            }
        }
        return text
    }

    static func json(_ sweeps: [Sweep], spec: JobSpec, threads: Int, truth: SampledGroundTruth) -> JSONValue {
        .object([
            ("knnbatch_version", .string(Version.current)), ("job", spec.json(threadsUsed: threads)),
            ("k", .integer(spec.k)), ("queries", .integer(truth.sample.count)),
            ("indexes", .array(sweeps.map { sweep in
                .object([
                    ("type", .string(sweep.name)), ("parameter", sweep.knob.map { .string($0) } ?? .null),
                    ("build_seconds", .decimal(sweep.buildSeconds)), ("peak_memory_bytes", .integer(sweep.memory)),
                    ("points", .array(sweep.points.map { p in
                        let (low, high) = p.spread
                        return .object([("value", p.value.map { .integer($0) } ?? .null), ("recall_at_k", .decimal(p.recall)),
                                        ("queries_per_second", .decimal(p.queriesPerSecond)), ("queries_per_second_low", .decimal(low)),
                                        ("queries_per_second_high", .decimal(high)), ("seconds", .array(p.seconds.map { .decimal($0) })),
                                        ("pareto", .bool(p.onFront))])
                    })),
                ])
            })),
        ])
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}
