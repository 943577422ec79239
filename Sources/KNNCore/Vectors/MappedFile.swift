/// A read-only memory map of a whole file. Large inputs are read through the page cache instead
/// of being copied into Swift arrays; the mapping lives as long as this object.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The file's bytes; empty for an empty file (mmap cannot map zero bytes).
    public let bytes: UnsafeRawBufferPointer
    /// Kept open for `copyBytes`; -1 for bytes held in memory (an archive member, inflated).
    private let descriptor: Int32
    /// The memory behind `bytes` when they are not a mapping.
    private let buffer: AlignedBuffer<UInt8>?

    public init(path: String) throws(KNNError) {
        self.path = path
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer for ever; it is refused
        // below, and has no effect on regular files.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            throw KNNError.io(path: path, message: code == ENOENT ? "no such file" : "cannot open: \(systemErrorText(code))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw KNNError.io(path: path, message: "cannot stat: \(systemErrorText(code))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw KNNError.io(path: path, message: "not a regular file (\(FileKind.name(of: info.st_mode)))")
        }
        let size = Int(info.st_size)
        descriptor = fd
        buffer = nil
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            let code = errno
            close(fd)
            throw KNNError.io(path: path, message: "cannot map into memory: \(systemErrorText(code))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
        TemporaryFiles.registerMapping(bytes, path: path)
    }

    /// Bytes that are not a file of their own (a member of an .npz archive), under a name for
    /// messages such as "embeddings.npz: train.npy".
    init(name: String, holding buffer: AlignedBuffer<UInt8>, count: Int) {
        path = name
        descriptor = -1
        self.buffer = buffer
        bytes = UnsafeRawBufferPointer(start: count > 0 ? buffer.pointer : nil, count: count)
    }

    deinit {
        guard descriptor >= 0 else { return }
        TemporaryFiles.unregisterMapping(bytes)
        if let start = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: start), bytes.count) }
        close(descriptor)
    }

    /// Copies `count` bytes from `offset` with `pread`, which leaves the mapping's pages alone;
    /// if the read comes up short (an I/O error), copies through the mapping instead, which
    /// fails as any access to the mapping would.
    func copyBytes(at offset: Int, count: Int, into destination: UnsafeMutableRawPointer) {
        var done = 0
        while done < count && descriptor >= 0 {
            let got = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if got > 0 {
                done += got
            } else if got < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        if done < count, let start = bytes.baseAddress {
            (destination + done).copyMemory(from: start + offset + done, byteCount: count - done)
        }
    }

    /// Drops the pages wholly inside `range` from memory; they are read again from the file if
    /// touched. Streaming passes call this so that resident memory does not grow with the file.
    func releasePages(_ range: Range<Int>) {
        guard let start = bytes.baseAddress, !range.isEmpty, descriptor >= 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (range.lowerBound + page - 1) / page * page
        let end = min(range.upperBound, bytes.count) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(mutating: start + first), end - first, MADV_DONTNEED)
    }

    /// Reads a little-endian integer at a byte offset (no alignment needed).
    func int32(at offset: Int) -> Int32 {
        Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
}
