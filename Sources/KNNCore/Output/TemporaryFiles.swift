import Synchronization

/// Temporary output files that exist right now, so that SIGINT and SIGTERM can remove them
/// before the process dies. The handler only calls async-signal-safe functions (unlink, _exit)
/// on C strings prepared in advance.
enum TemporaryFiles {
    /// At most a few files (the output and its report) are in flight at once.
    private static let capacity = 8
    nonisolated(unsafe) private static var slots = [UnsafeMutablePointer<CChar>?](repeating: nil, count: capacity)
    private static let lock = Mutex(())

    static func register(_ path: String) {
        lock.withLock { _ in
            guard let free = slots.firstIndex(where: { $0 == nil }) else { return }
            slots[free] = strdup(path)
        }
    }

    static func unregister(_ path: String) {
        lock.withLock { _ in
            for i in 0..<capacity where slots[i].map({ String(cString: $0) == path }) == true {
                let old = slots[i]
                slots[i] = nil
                free(old)
            }
        }
    }

    /// Installs handlers that remove the registered files, then exit with 128 + signal. The
    /// signals are also unblocked: a parent may start us with them blocked (threads of many
    /// runtimes block signals, and children inherit the mask), which would make them pending
    /// forever and leave a job unstoppable but by kill -9.
    ///
    /// SIGPIPE and SIGXFSZ are ignored, so a closed stderr pipe or a file size limit becomes an
    /// ordinary write error. SIGBUS means a memory-mapped input shrank while it was read (another
    /// job rewrote it): the temporaries go, and the process exits 74 with a message.
    public static func installSignalHandlers() {
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            Glibc.signal(signal) { number in
                TemporaryFiles.removeAllUnsafely()
                _exit(128 + number)
            }
            sigaddset(&handled, signal)
        }
        Glibc.signal(SIGBUS) { _ in
            TemporaryFiles.removeAllUnsafely()
            let message = "error: an input file shrank or vanished while it was being read (another process rewrote it?)\n"
            message.utf8CString.withUnsafeBufferPointer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
            _exit(74)
        }
        sigaddset(&handled, SIGBUS)
        Glibc.signal(SIGPIPE, SIG_IGN)
        Glibc.signal(SIGXFSZ, SIG_IGN)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    private static func removeAllUnsafely() {
        for i in 0..<capacity { if let path = slots[i] { unlink(path) } }
    }
}
