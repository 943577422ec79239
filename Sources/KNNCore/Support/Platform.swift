#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif

// The few calls whose spelling differs between Linux and Darwin, or that a type's own methods
// of the same name would hide (an output file's `write`, a handler's `signal`).

/// write(2).
@inline(__always)
func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }

#if canImport(Darwin)
typealias SignalHandler = sig_t
#else
typealias SignalHandler = sighandler_t
#endif

/// signal(3).
@discardableResult
func systemSignal(_ number: Int32, _ handler: SignalHandler?) -> SignalHandler? { signal(number, handler) }

/// Sets a SA_SIGINFO handler, which receives the faulting address.
func setFaultHandler(_ number: Int32, _ handler: @escaping @convention(c) (Int32, UnsafeMutablePointer<siginfo_t>?, UnsafeMutableRawPointer?) -> Void) {
    var action = sigaction()
    #if canImport(Darwin)
    action.__sigaction_u.__sa_sigaction = handler
    #else
    action.__sigaction_handler.sa_sigaction = handler
    #endif
    action.sa_flags = SA_SIGINFO
    sigaction(number, &action, nil)
}

/// The faulting address of a SIGBUS or SIGSEGV.
func faultAddress(_ info: UnsafeMutablePointer<siginfo_t>?) -> UInt {
    #if canImport(Darwin)
    UInt(bitPattern: info?.pointee.si_addr)
    #else
    UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
    #endif
}

extension stat {
    /// The modification time in nanoseconds since the epoch.
    var modifiedNanoseconds: Int {
        #if canImport(Darwin)
        Int(st_mtimespec.tv_sec) * 1_000_000_000 + Int(st_mtimespec.tv_nsec)
        #else
        Int(st_mtim.tv_sec) * 1_000_000_000 + Int(st_mtim.tv_nsec)
        #endif
    }

    /// The status change time in nanoseconds since the epoch.
    var changedNanoseconds: Int {
        #if canImport(Darwin)
        Int(st_ctimespec.tv_sec) * 1_000_000_000 + Int(st_ctimespec.tv_nsec)
        #else
        Int(st_ctim.tv_sec) * 1_000_000_000 + Int(st_ctim.tv_nsec)
        #endif
    }
}
