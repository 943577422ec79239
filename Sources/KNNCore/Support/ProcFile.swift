/// Reads Linux /proc files, which report a size of 0 and so cannot be memory-mapped.
enum ProcFile {
    /// The first line of `path` that starts with `prefix`, without the prefix, or nil.
    static func line(startingWith prefix: String, in path: String) -> Substring? {
        guard let stream = fopen(path, "r") else { return nil }
        defer { fclose(stream) }
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, stream) > 0 {
            let text = String(cString: buffer!)
            if text.hasPrefix(prefix) { return text.dropFirst(prefix.count) }
        }
        return nil
    }

    /// A "Name:  123 kB" field of /proc/meminfo or /proc/self/status, in bytes. (The value is
    /// preceded by a tab in /proc/self/status, by spaces in /proc/meminfo.)
    static func kibibytes(_ field: String, in path: String) -> Int? {
        guard let line = line(startingWith: field + ":", in: path) else { return nil }
        let number = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first
        return number.flatMap { Int($0) }.map { $0 * 1024 }
    }
}
