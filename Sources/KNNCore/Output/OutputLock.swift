/// One run per output: an advisory lock (`flock`) on `.<name>.knnbatch-lock` beside the output,
/// held until the process ends (a kill -9 included, which the kernel releases). A second run on
/// the same output fails at once instead of racing the first to the rename; the lock file holds
/// the holder's process id for that message. The small hidden file stays after a run that
/// wrote its output (removing it would let two runs lock two different files of the same name);
/// a run that created it and failed removes it, so that a folder made for the run can go too.
final class OutputLock {
    let path: String
    private let fd: Int32
    private let created: Bool
    private var kept = false

    init(output: String) throws(KNNError) {
        path = Paths.sidecar(of: output, ".knnbatch-lock")
        try AtomicOutputFile.makeFolders(Paths.directory(of: output), for: output)
        while true {
            var descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            let created = descriptor >= 0
            if !created && errno == EEXIST { descriptor = open(path, O_RDWR | O_CLOEXEC) }
            guard descriptor >= 0 else {
                if errno == ENOENT { continue }  // removed between the two opens
                throw KNNError.io(path: output, message: "cannot create the lock file \(path): \(systemErrorText(errno))")
            }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                var holder = [UInt8](repeating: 0, count: 32)
                let count = pread(descriptor, &holder, holder.count, 0)
                close(descriptor)
                if created { unlink(path) }
                guard code == EWOULDBLOCK else { throw KNNError.io(path: output, message: "cannot lock \(path): \(systemErrorText(code))") }
                let pid = String(decoding: holder.prefix(max(0, count)), as: UTF8.self).trimmingSpaces
                throw KNNError.busy(path: output, message: "another knnbatch run\(pid.isEmpty ? "" : " (process \(pid))") is writing this output; wait for it to finish or stop it")
            }
            // A run that created the file and failed removes it while holding the lock; a lock
            // taken on that removed file guards nothing, so take the one at the path again.
            var held = stat(), current = stat()
            guard fstat(descriptor, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev else {
                close(descriptor)
                continue
            }
            fd = descriptor
            self.created = created
            break
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    /// The run succeeded: the lock file stays for the next run.
    func keep() { kept = true }

    deinit {
        if created && !kept { unlink(path) }
        close(fd)
    }
}
