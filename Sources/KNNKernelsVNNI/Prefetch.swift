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
    /// address is known before it is read. From the start of `start`'s line, so that a range
    /// that does not start on a line has its last line fetched too.
    @inlinable @inline(__always)
    public static func lines(_ start: UnsafeRawPointer, bytes: Int) {
        var offset = -(Int(bitPattern: start) & 63)
        while offset < bytes {
            read(start + offset)
            offset &+= 64
        }
    }
}
