import Foundation
import Synchronization

/// Progress on stderr: on a terminal, one line redrawn in place (queries done, rate, time left);
/// otherwise a timestamped log line every few seconds, for cron logs; nothing when quiet.
///
/// Workers report finished slices; whichever worker finds the interval passed prints, so a long
/// block does not look like a hang. Printing never blocks a worker: one that finds another
/// printing goes on.
final class Progress: Sendable {
    enum Mode: Sendable { case quiet, terminal, log }

    private let mode: Mode
    private let total: Int
    private let start = Clock.now()
    private let interval: Double
    private let done = Atomic<Int>(0)
    /// Guards `lastShown` and `shown`. An NSLock (a pthread mutex) rather than a `Mutex`, whose
    /// futex the thread sanitizer cannot see, so it would report the guarded fields as races.
    private let printer = NSLock()
    nonisolated(unsafe) private var lastShown = 0.0
    nonisolated(unsafe) private var shown = false

    init(total: Int, mode: Mode, logInterval: Double = 5) {
        self.total = total
        self.mode = mode
        interval = mode == .terminal ? 0.2 : logInterval
    }

    static func mode(quiet: Bool) -> Mode {
        if quiet { return .quiet }
        return isatty(STDERR_FILENO) != 0 ? .terminal : .log
    }

    /// Called by workers as they finish a slice of `count` queries.
    func add(_ count: Int) {
        guard mode != .quiet else { return }
        let doneNow = done.add(count, ordering: .relaxed).newValue
        let elapsed = Clock.now() - start
        guard printer.try() else { return }
        defer { printer.unlock() }
        guard elapsed - lastShown >= interval else { return }
        lastShown = elapsed
        shown = true
        let rate = elapsed > 0 ? Double(doneNow) / elapsed : 0
        let left = rate > 0 ? Double(total - doneNow) / rate : 0
        let percent = total > 0 ? 100 * doneNow / total : 100
        let line = "searched \(doneNow)/\(total) queries (\(percent)%), \(Format.rate(rate)) queries/s, \(Format.duration(left)) left"
        if mode == .terminal { printError("\r\u{1B}[K" + line, terminator: "") } else { printError(PhaseProgress.timestamp() + " " + line) }
    }

    /// Clears a live line, so whatever follows (summary or error) starts on a clean line.
    func finish() {
        printer.withLock {
            if mode == .terminal && shown { printError("\r\u{1B}[K", terminator: "") }
            shown = false
        }
    }
}

/// Writes a line to stderr.
public func printError(_ text: String, terminator: String = "\n") {
    var line = text + terminator
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

enum Format {
    static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format1(value))
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return format1(seconds) + "s" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        return "\(s / 3600)h\((s % 3600) / 60)m"
    }

    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : "\(format1(value)) \(units[unit])"
    }

    static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Monotonic time in seconds.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// The peak resident memory of this process so far: Linux's VmHWM, the high-water mark of this
/// program image. (getrusage's ru_maxrss is not reset by exec, so a process started from a large
/// parent would report the parent's peak.)
func peakMemoryBytes() -> Int {
    if let bytes = ProcFile.kibibytes("VmHWM", in: "/proc/self/status") { return bytes }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}
