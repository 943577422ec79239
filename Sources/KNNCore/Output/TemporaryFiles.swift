import Foundation
import Synchronization

/// What a run leaves on disk until it succeeds — temporary output files and the folders it
/// created for them — and the memory-mapped inputs it reads, so that a failure or a signal can
/// clean up and say what happened. The signal handlers only call async-signal-safe functions
/// (unlink, rmdir, write, pause, _exit, and a lock-free atomic exchange) on C strings prepared
/// in advance.
enum TemporaryFiles {
    /// At most a few files (the output and its report) are in flight at once, a few folders
    /// created, and a few inputs mapped.
    private static let capacity = 16
    nonisolated(unsafe) private static var files = [UnsafeMutablePointer<CChar>?](repeating: nil, count: capacity)
    nonisolated(unsafe) private static var folders = [UnsafeMutablePointer<CChar>?](repeating: nil, count: capacity)
    nonisolated(unsafe) private static var mappings = [(start: UInt, end: UInt, path: UnsafeMutablePointer<CChar>?)](repeating: (0, 0, nil), count: capacity)
    /// An NSLock (a pthread mutex), which the thread sanitizer understands.
    private static let lock = NSLock()

    static func register(_ path: String) { add(path, to: .files) }
    static func unregister(_ path: String) { remove(path, from: .files) }

    /// A folder created for an output: removed again (when empty) if the run fails.
    static func registerCreatedFolder(_ path: String) { add(path, to: .folders) }

    private enum Slots { case files, folders }

    /// Runs `body` on the chosen slots; call it with the lock held. (An `inout` argument would
    /// begin its access to the global before the lock is taken.)
    private static func withSlots(_ which: Slots, _ body: (inout [UnsafeMutablePointer<CChar>?]) -> Void) {
        switch which {
        case .files: body(&files)
        case .folders: body(&folders)
        }
    }

    /// Removes the folders created for outputs, newest first, where they are empty (the run
    /// failed), or forgets them (`keep`, the run succeeded).
    static func finishCreatedFolders(keep: Bool) {
        lock.withLock {
            for i in (0..<capacity).reversed() {
                guard let path = folders[i] else { continue }
                if !keep { rmdir(path) }
                folders[i] = nil
                free(path)
            }
        }
    }

    /// An input mapped at `bytes`, named if reading it raises SIGBUS (the file shrank).
    static func registerMapping(_ bytes: UnsafeRawBufferPointer, path: String) {
        guard let start = bytes.baseAddress else { return }
        lock.withLock {
            guard let free = mappings.firstIndex(where: { $0.path == nil }) else { return }
            let begin = UInt(bitPattern: start)
            mappings[free] = (begin, begin + UInt(bytes.count), strdup(path))
        }
    }

    static func unregisterMapping(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        lock.withLock {
            for i in 0..<capacity where mappings[i].path != nil && mappings[i].start == UInt(bitPattern: start) {
                let old = mappings[i].path
                mappings[i] = (0, 0, nil)
                free(old)
            }
        }
    }

    private static func add(_ path: String, to which: Slots) {
        lock.withLock {
            withSlots(which) { slots in
                guard let free = slots.firstIndex(where: { $0 == nil }) else { return }
                slots[free] = strdup(path)
            }
        }
    }

    private static func remove(_ path: String, from which: Slots) {
        lock.withLock {
            withSlots(which) { slots in
                for i in 0..<capacity where slots[i].map({ String(cString: $0) == path }) == true {
                    let old = slots[i]
                    slots[i] = nil
                    free(old)
                }
            }
        }
    }

    /// The line each handled signal prints, prepared before any signal can arrive.
    nonisolated(unsafe) private static var signalLines = [UnsafeMutablePointer<CChar>?](repeating: nil, count: 65)
    /// Set by the first thread to fault on a shrunk input: the others, reading the same pages,
    /// wait for its `_exit` instead of writing the message again between its writes.
    private static let faultReported = Atomic<Bool>(false)

    /// Installs handlers that remove the registered files and folders, print an `error:` line,
    /// then exit with 128 + signal. The signals are also unblocked: a parent may start us with
    /// them blocked (threads of many runtimes block signals, and children inherit the mask),
    /// which would make them pending forever and leave a job unstoppable but by kill -9.
    ///
    /// SIGPIPE and SIGXFSZ are ignored, so a closed stderr pipe or a file size limit becomes an
    /// ordinary write error. SIGBUS means a memory-mapped input shrank while it was read (another
    /// job rewrote it): the temporaries go, and the process exits 74 naming the file.
    public static func installSignalHandlers() {
        var handled = sigset_t()
        sigemptyset(&handled)
        let names = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP", SIGQUIT: "SIGQUIT"]
        for (signal, name) in names {
            signalLines[Int(signal)] = strdup("error: stopped by \(name); temporary files removed, no output replaced\n")
        }
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            systemSignal(signal) { number in
                TemporaryFiles.removeAllUnsafely()
                if let line = TemporaryFiles.signalLines[Int(number)] { _ = write(STDERR_FILENO, line, strlen(line)) }
                _exit(128 + number)
            }
            sigaddset(&handled, signal)
        }
        // Initialised here, not on first use inside the handler.
        _ = faultReported.load(ordering: .relaxed)
        setFaultHandler(SIGBUS) { _, info, _ in
            guard !TemporaryFiles.faultReported.exchange(true, ordering: .acquiringAndReleasing) else {
                while true { pause() }
            }
            TemporaryFiles.removeAllUnsafely()
            let address = faultAddress(info)
            TemporaryFiles.say("error: ")
            if let path = TemporaryFiles.mappedPath(containing: address) {
                _ = write(STDERR_FILENO, path, strlen(path))
                TemporaryFiles.say(": ")
            }
            TemporaryFiles.say("an input file shrank or vanished while it was being read (another process rewrote it?)\n")
            _exit(74)
        }
        sigaddset(&handled, SIGBUS)
        systemSignal(SIGPIPE, SIG_IGN)
        systemSignal(SIGXFSZ, SIG_IGN)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    /// An allocation failed although the job's estimate fitted the limits: remove the
    /// temporaries, say so in one line, exit 75.
    static func exitOutOfMemory(requested bytes: Int) -> Never {
        removeAllUnsafely()
        let line = "error: out of memory: could not allocate \(Format.bytes(bytes)); the job needs more memory than this machine or its limits (cgroup, ulimit -v) allow\n"
        line.utf8CString.withUnsafeBufferPointer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
        _exit(75)
    }

    /// Writes a literal to stderr from a signal handler (a static string needs no allocation).
    private static func say(_ text: StaticString) {
        _ = write(STDERR_FILENO, text.utf8Start, text.utf8CodeUnitCount)
    }

    private static func mappedPath(containing address: UInt) -> UnsafeMutablePointer<CChar>? {
        for i in 0..<capacity where mappings[i].path != nil && mappings[i].start <= address && address < mappings[i].end {
            return mappings[i].path
        }
        return nil
    }

    private static func removeAllUnsafely() {
        for i in 0..<capacity { if let path = files[i] { unlink(path) } }
        for i in (0..<capacity).reversed() { if let path = folders[i] { rmdir(path) } }
    }
}
