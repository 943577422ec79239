/// A file written under a temporary name in its destination folder and renamed into place only
/// when complete, so that the destination always holds either its previous complete content or
/// nothing — after any failure, a kill -9 or a full disk included.
///
/// The temporary file is `.<name>.<pid>.knnbatch-tmp` beside the destination. A crash leaves it
/// behind (a kill -9 cannot be intercepted); an error or SIGINT/SIGTERM removes it.
public final class AtomicOutputFile {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    /// A resumable output (`RunJournal`): its temporary file has a fixed name, is kept when the
    /// run fails or is stopped, and is continued by the next run.
    let isPartial: Bool
    /// Bytes in the temporary file so far.
    private(set) var bytesWritten = 0
    /// A partial file is kept after a failure only once a journal vouches for part of it.
    var keepsPartial = false

    /// Creates missing parent folders, then the temporary file; fails early, before any work,
    /// when the folder is not writable. A `partial` file is `.<name>.knnbatch-partial`, opened
    /// as it is (the run truncates it to what its journal vouches for).
    public init(path: String, partial: Bool = false) throws(KNNError) {
        self.path = path
        isPartial = partial
        let folder = Paths.directory(of: path)
        temporaryPath = Paths.sidecar(of: path, partial ? ".knnbatch-partial" : ".\(getpid()).knnbatch-tmp")
        try Self.checkDestination(path)
        try Self.makeFolders(folder, for: path)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | (partial ? 0 : O_TRUNC) | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw KNNError.io(path: path, message: "cannot write in folder \(folder): \(systemErrorText(errno))")
        }
        if partial {
            bytesWritten = Int(lseek(fd, 0, SEEK_END))
            // An interrupted run's blocks: kept until this run has checked its journal.
            keepsPartial = bytesWritten > 0
        } else {
            TemporaryFiles.register(temporaryPath)
            Self.removeStaleTemporaries(of: path)
        }
    }

    /// Removes `.<name>.<pid>.knnbatch-tmp` files of this destination whose writer is gone (a
    /// kill -9 or the OOM killer left them), so that they do not pile up night after night.
    /// Another live process's file is left alone.
    static func removeStaleTemporaries(of path: String) {
        let folder = Paths.directory(of: path), prefix = "." + Paths.fileName(of: path) + ".", suffix = ".knnbatch-tmp"
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count,
                  let pid = Int32(name.dropFirst(prefix.count).dropLast(suffix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + name) }
        }
    }

    deinit {
        if !committed {
            if isPartial && keepsPartial { if fd >= 0 { close(fd) } } else { discard() }
        }
    }

    /// Cuts the file to its first `count` bytes and continues writing there.
    func truncate(to count: Int) throws(KNNError) {
        guard ftruncate(fd, off_t(count)) == 0, lseek(fd, off_t(count), SEEK_SET) >= 0 else {
            throw KNNError.io(path: path, message: "cannot truncate \(temporaryPath): \(systemErrorText(errno))")
        }
        bytesWritten = count
    }

    /// Flushes what is written to disk, keeping the file open.
    func sync() throws(KNNError) {
        guard fsync(fd) == 0 else { throw KNNError.io(path: path, message: "cannot flush to disk: \(systemErrorText(errno))") }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(KNNError) {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw KNNError.io(path: path, message: "write failed: \(systemErrorText(errno))")
            }
            offset += written
        }
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws(KNNError) {
        let result: Result<Void, KNNError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(KNNError) in try write(buffer) }
        }
        try result.get()
    }

    /// Flushes the data to disk and renames the file into place.
    public func commit() throws(KNNError) {
        try finish()
        try publish()
    }

    /// Flushes the data to disk and closes the file, still under its temporary name.
    public func finish() throws(KNNError) {
        guard fd >= 0 else { return }
        guard fsync(fd) == 0 else { throw KNNError.io(path: path, message: "cannot flush to disk: \(systemErrorText(errno))") }
        close(fd)
        fd = -1
    }

    /// Renames the finished file into place.
    public func publish() throws(KNNError) {
        guard rename(temporaryPath, path) == 0 else {
            let message = systemErrorText(errno)
            discard()
            throw KNNError.io(path: path, message: "cannot rename the finished file into place: \(message)")
        }
        committed = true
        TemporaryFiles.unregister(temporaryPath)
        // Make the rename itself durable.
        let folder = open(Paths.directory(of: path), O_RDONLY | O_CLOEXEC)
        if folder >= 0 { fsync(folder); close(folder) }
    }

    /// Removes the temporary file; the destination is left untouched.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        if !committed { unlink(temporaryPath) }
        TemporaryFiles.unregister(temporaryPath)
    }

    /// Checks, without creating anything, that `path` could be written: its nearest existing
    /// ancestor is a folder we may write in, and the path itself is not a folder.
    public static func checkWritable(_ path: String) throws(KNNError) {
        try checkDestination(path)
        var info = stat()
        var folder = Paths.directory(of: path)
        while stat(folder, &info) != 0 {
            let parent = Paths.directory(of: folder)
            if parent == folder { break }
            folder = parent
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw KNNError.io(path: path, message: "cannot write the output: \(folder) is not a folder") }
        guard access(folder, W_OK) == 0 else { throw KNNError.io(path: path, message: "cannot write in folder \(folder): \(systemErrorText(errno))") }
    }

    /// An existing destination must be a regular file (or a link to one): the new file is
    /// renamed over it, so a device or a FIFO (`/dev/null` in a root cron job) would be replaced
    /// by a regular file.
    private static func checkDestination(_ path: String) throws(KNNError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR { throw KNNError.io(path: path, message: "cannot write the output: it is a folder") }
        guard kind == S_IFREG else {
            throw KNNError.io(path: path, message: "cannot write the output: it exists and is \(FileKind.name(of: info.st_mode)), not a regular file; knnbatch writes a new file and renames it into place, which would replace it")
        }
    }

    static func makeFolders(_ folder: String, for path: String) throws(KNNError) {
        var info = stat()
        if stat(folder, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw KNNError.io(path: path, message: "cannot write the output: \(folder) is not a folder") }
            return
        }
        let parent = Paths.directory(of: folder)
        if parent != folder { try makeFolders(parent, for: path) }
        if mkdir(folder, 0o755) == 0 {
            TemporaryFiles.registerCreatedFolder(folder)
        } else if errno != EEXIST {
            throw KNNError.io(path: path, message: "cannot create folder \(folder): \(systemErrorText(errno))")
        }
    }
}
