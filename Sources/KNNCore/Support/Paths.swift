/// Path helpers: job-relative resolution and lexical normalisation ("a/b/../c" → "a/c").
enum Paths {
    /// `path` resolved against the folder of `jobPath` (unless absolute), then normalised.
    static func resolve(_ path: String, relativeToFileAt jobPath: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        return normalize(directory(of: jobPath) + "/" + path)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The hidden file `.<name><suffix>` beside `path`: temporaries, partial outputs, journals, locks.
    static func sidecar(of path: String, _ suffix: String) -> String {
        directory(of: path) + "/." + fileName(of: path) + suffix
    }

    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == ".." && absolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// The absolute form of a path, for reports that outlive the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return normalize(cwd + "/" + path)
    }

    /// Whether the path fits the system's limits (PATH_MAX in all, NAME_MAX per component):
    /// checked before any work, since a longer one fails only when the file is opened.
    static func isWithinLimits(_ path: String) -> Bool {
        path.utf8.count < Int(PATH_MAX) && path.split(separator: "/").allSatisfy { $0.utf8.count <= Int(NAME_MAX) }
    }
}

/// Names of the kinds of file that `stat` distinguishes, for messages.
enum FileKind {
    static func name(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a folder"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }
}
