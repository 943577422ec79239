import Builtin

/// A hint that memory at an address will be read soon, so that its cache miss overlaps other
/// work. The instruction exists on every x86-64 CPU; it lives in this target because Swift
/// reaches it only through the Builtin module, which this target enables.
public enum Prefetch {
    /// Brings the cache line holding `address` towards the core (all cache levels).
    @inlinable @inline(__always)
    public static func read(_ address: UnsafeRawPointer) {
        Builtin.int_prefetch_RawPointer(address._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
    }

    /// Brings every cache line of `bytes` bytes from `start` towards the core: a row whose
    /// address is known before it is read.
    @inlinable @inline(__always)
    public static func lines(_ start: UnsafeRawPointer, bytes: Int) {
        var offset = 0
        while offset < bytes {
            read(start + offset)
            offset &+= 64
        }
    }
}
