/// The one owner of raw memory in the library: a 64-byte aligned buffer of `count` elements
/// that frees itself, or a view of memory that another object owns (a memory-mapped index
/// file), kept alive by this buffer. Indexes, tables and scratch hold their arrays in these, so
/// allocation and its failure happen here and nowhere else (`allocate` serves the few values
/// that free their own memory).
///
/// Workers may share one while each writes elements no other touches, or all only read.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int
    /// What keeps viewed memory alive; nil when this buffer owns its memory.
    private let owner: AnyObject?

    /// `zeroed: false` leaves the memory untouched, so a large buffer costs resident memory only
    /// as it is filled (the caller must write every element before reading it).
    init(count: Int, zeroed: Bool = true) {
        self.count = count
        let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        let raw = Self.allocate(bytes: overflow ? nil : bytes)
        if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        owner = nil
    }

    /// `count` elements filled with `value`.
    convenience init(repeating value: Element, count: Int) {
        self.init(count: count, zeroed: false)
        pointer.initialize(repeating: value, count: max(count, 1))
    }

    /// A view of `count` elements at `start`, which `owner` keeps alive (read-only by contract:
    /// a mapped file is mapped private and read-only).
    init(viewing start: UnsafeRawPointer, count: Int, owner: AnyObject) {
        self.count = count
        pointer = UnsafeMutablePointer(mutating: start.assumingMemoryBound(to: Element.self))
        self.owner = owner
    }

    deinit { if owner == nil { free(pointer) } }

    /// 64-byte aligned memory of `bytes` (nil: more than an Int counts) for a value that manages
    /// its own (`UnmanagedMinHeap`), freed with `free`. posix_memalign, not
    /// allocate(byteCount:alignment:): its failure is ours to report (one line and exit 75)
    /// instead of the runtime's abort with a backtrace.
    static func allocate(bytes: Int?) -> UnsafeMutableRawPointer {
        var memory: UnsafeMutableRawPointer? = nil
        guard let bytes, posix_memalign(&memory, 64, max(bytes, 1)) == 0, let raw = memory else {
            TemporaryFiles.exitOutOfMemory(requested: bytes ?? Int.max)
        }
        return raw
    }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

typealias FloatBuffer = AlignedBuffer<Float>
