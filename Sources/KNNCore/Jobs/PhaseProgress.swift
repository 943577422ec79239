import Dispatch
import Foundation
import Synchronization

/// Work a long phase counts as it goes (vectors inserted into a graph), which the phase's line
/// then shows as a fraction with the time left. A builder finds the phase's slot through the
/// task-local `current` (bound on the thread that builds) and starts its count there.
final class PhaseWork: Sendable {
    @TaskLocal static var current: PhaseWork? = nil

    private let total = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let unitName = Mutex<String>("")

    /// Starts a count of `total` `unit` (e.g. "vectors").
    func start(total: Int, unit: String) {
        unitName.withLock { $0 = unit }
        done.store(0, ordering: .relaxed)
        self.total.store(total, ordering: .releasing)
    }

    func advance(by count: Int) { done.add(count, ordering: .relaxed) }

    /// "61% (61000 of 100000 vectors)", or nil before a count starts.
    func describe(elapsed: Double) -> String? {
        let total = self.total.load(ordering: .acquiring)
        guard total > 0 else { return nil }
        let done = min(self.done.load(ordering: .relaxed), total)
        let unit = unitName.withLock { $0 }
        var text = "\(100 * done / total)% (\(done) of \(total) \(unit))"
        if done > 0 && done < total { text += ", \(Format.duration(elapsed * Double(total - done) / Double(done))) left" }
        return text
    }
}

/// Shows that a long phase (loading the inputs, building the index, tuning, committing the
/// output) is alive: once it has run `firstReport` seconds, a line with its elapsed time — on a
/// terminal redrawn in place every half second, in a log (cron) every `logInterval` seconds with
/// a timestamp — and when it ends, how long it took. A phase that ends sooner prints nothing, so
/// short runs stay as quiet as before. The search has its own progress (`Progress`).
///
/// A timer on a background queue prints, so no phase needs to report from inside its loops.
final class PhaseProgress: Sendable {
    private let mode: Progress.Mode
    private let name: String
    private let start = Clock.now()
    /// Set once in init; DispatchSource's timer is thread-safe but not marked Sendable.
    nonisolated(unsafe) private let timer: DispatchSourceTimer?
    /// Guards `shown` and `ended` (an NSLock: a pthread mutex, which the thread sanitizer sees).
    private let lock = NSLock()
    nonisolated(unsafe) private var shown = false
    nonisolated(unsafe) private var ended = false
    /// What the phase counts, if its work starts a count.
    let work = PhaseWork()
    /// Where lines go (stderr; a test collects them): each with its terminator.
    private let write: @Sendable (String) -> Void

    /// `name` reads as "building the hnsw index"; `done` as "built the hnsw index".
    init(_ name: String, mode: Progress.Mode, firstReport: Double? = nil, logInterval: Double = 30,
         write: @escaping @Sendable (String) -> Void = { printError($0, terminator: "") }) {
        self.mode = mode
        self.name = name
        self.write = write
        guard mode != .quiet else {
            timer = nil
            return
        }
        let first = firstReport ?? (mode == .terminal ? 1 : 10)
        let every = mode == .terminal ? 0.5 : logInterval
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer = source
        source.schedule(deadline: .now() + first, repeating: every)
        source.setEventHandler { [weak self] in self?.tick() }
        source.resume()
    }

    deinit { timer?.cancel() }

    private func tick() {
        lock.withLock {
            guard !ended else { return }
            let elapsed = Clock.now() - start
            let line = "\(name): " + (work.describe(elapsed: elapsed).map { $0 + ", " } ?? "") + "\(Format.duration(elapsed)) so far"
            write(mode == .terminal ? "\r\u{1B}[K" + line : PhaseProgress.timestamp() + " " + line + "\n")
            shown = true
        }
    }

    /// Ends the phase; if it was long enough to be shown, says `done` (e.g. "built the hnsw
    /// index") and the time it took, or (nil: the phase failed) clears a live line.
    func finish(_ done: String?) {
        timer?.cancel()
        lock.withLock {
            guard !ended else { return }
            ended = true
            guard shown else { return }
            guard let done else {
                if mode == .terminal { write("\r\u{1B}[K") }
                return
            }
            let line = "\(done) in \(Format.duration(Clock.now() - start))"
            write(mode == .terminal ? "\r\u{1B}[K" + line + "\n" : PhaseProgress.timestamp() + " " + line + "\n")
        }
    }

    /// Runs `body` as a phase, with its `work` bound as `PhaseWork.current`.
    static func run<T>(_ name: String, done: String, mode: Progress.Mode, _ body: () throws(KNNError) -> T) throws(KNNError) -> T {
        let phase = PhaseProgress(name, mode: mode)
        var result: Result<T, KNNError>! = nil
        PhaseWork.$current.withValue(phase.work) {
            result = Result { () throws(KNNError) in try body() }
        }
        switch result! {
        case .success(let value):
            phase.finish(done)
            return value
        case .failure(let error):
            phase.finish(nil)
            throw error
        }
    }

    /// UTC, to the second, as log lines carry it: 2026-12-05T16:20:04Z.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

/// The phases every command that builds shares: loading and obtaining the index.
extension PhaseProgress {
    static func loadInputs(_ spec: JobSpec, quiet: Bool) throws(KNNError) -> JobInputs {
        try run("loading the inputs", done: "loaded the inputs", mode: Progress.mode(quiet: quiet)) { () throws(KNNError) in try JobInputs.load(spec) }
    }

    /// Builds the job's index, or maps its saved file back, as `IndexStore.obtain` decides.
    static func obtainIndex(_ spec: JobSpec, data: VectorMatrix, dataset: DatasetIdentity?, threads: Int, rebuild: Bool = false,
                            quiet: Bool) throws(KNNError) -> IndexStore.Outcome {
        let name = "the \(spec.index.typeName) index"
        let saved = spec.index.file != nil && !rebuild
        return try run(saved ? "loading or building \(name)" : "building \(name)", done: saved ? "obtained \(name)" : "built \(name)",
                       mode: Progress.mode(quiet: quiet)) { () throws(KNNError) in
            try IndexStore.obtain(spec, data: data, dataset: dataset, threads: threads, rebuild: rebuild)
        }
    }
}
