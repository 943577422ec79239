import Foundation

/// A dataset (or query set) in many files, as embedding pipelines write them: `"path"` names a
/// folder (every visible file in it whose extension is a vector format) or a glob in its last
/// component (`embeddings/part-*.parquet`). The files are read in sorted name order (bytewise,
/// so `part-00010` after `part-00009`, as pipelines zero-pad), and row ids continue from one file
/// to the next. All must be of one format and one dimension.
enum VectorShards {
    /// Whether `path` names shards rather than one file: a folder, or a glob pattern.
    static func isSharded(_ path: String) -> Bool {
        var info = stat()
        if stat(path, &info) == 0 { return (info.st_mode & S_IFMT) == S_IFDIR }
        return Paths.fileName(of: path).contains { "*?[".contains($0) }
    }

    /// The files `path` names, sorted; `fail` gets a message for the job's `path` field.
    static func files(_ path: String, format: VectorFormat?, fail: (String) throws(KNNError) -> Never) throws(KNNError) -> [String] {
        var found: [String] = []
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { try fail("cannot list the folder \"\(path)\"") }
            for name in names where !name.hasPrefix(".") {
                let file = path + "/" + name
                guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if let format { if VectorFormat.inferred(fromPath: name) == format || VectorFormat.inferred(fromPath: name) == nil { found.append(file) } }
                else if VectorFormat.inferred(fromPath: name) != nil { found.append(file) }
            }
            guard !found.isEmpty else { try fail("the folder \"\(path)\" holds no vector files (npy, npz, fvecs, bvecs, parquet, …)") }
        } else {
            var result = glob_t()
            defer { globfree(&result) }
            let status = glob(path, 0, nil, &result)
            if status == GLOB_NOMATCH { try fail("no file matches \"\(path)\"") }
            guard status == 0 else { try fail("cannot expand \"\(path)\" (glob error \(status))") }
            for i in 0..<Int(result.gl_pathc) {
                guard let name = result.gl_pathv[i] else { continue }
                let file = String(cString: name)
                if stat(file, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && !Paths.fileName(of: file).hasPrefix(".") { found.append(file) }
            }
            guard !found.isEmpty else { try fail("\"\(path)\" matches no regular files") }
        }
        found.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let formats = Set(found.map { VectorFormat.inferred(fromPath: $0) })
        if format == nil, formats.count > 1 || formats.first! == nil {
            let names = found.prefix(4).map { Paths.fileName(of: $0) }.joined(separator: ", ")
            try fail(formats.count > 1 ? "the files are of different formats (\(names)…); give one format's files, or set \"format\""
                                       : "cannot tell the format of \"\(Paths.fileName(of: found[0]))\" from its extension; set \"format\"")
        }
        return found
    }

    /// Loads every shard of `source` and joins them, in order, into one matrix.
    static func load(_ source: VectorSource, files: [String], threads: Int) throws(KNNError) -> LoadedVectors {
        var parts: [LoadedVectors] = []
        var rows = 0
        for file in files {
            let part = try VectorLoader.load(source.shard(file), threads: threads)
            if let first = parts.first {
                guard part.info.dim == first.info.dim else {
                    throw KNNError.data(file: file, location: nil, message: "vectors have dimension \(part.info.dim) but the first file, \(first.info.path), has \(first.info.dim)")
                }
                guard (part.labels == nil) == (first.labels == nil) else {
                    throw KNNError.data(file: file, location: nil, message: "\(part.labels == nil ? "has no labels" : "has labels") where the first file, \(first.info.path), \(first.labels == nil ? "has none" : "has them")")
                }
            }
            rows += part.info.rows
            parts.append(part)
        }
        let dim = parts[0].info.dim
        let buffer = FloatBuffer(count: rows * dim, zeroed: false)
        var next = 0
        for part in parts {
            let m = part.matrix
            for i in 0..<m.rows { (buffer.pointer + (next + i) * dim).update(from: m.row(i), count: dim) }
            m.releasePages(rows: 0..<m.rows)
            next += m.rows
        }
        var info = parts[0].info
        info.path = source.path
        info.rows = rows
        info.fileBytes = parts.reduce(0) { $0 + $1.info.fileBytes }
        info.memoryMapped = false
        info.notes = parts.flatMap { part in part.info.notes.map { "\(Paths.fileName(of: part.info.path)): \($0)" } }
        let labels = parts[0].labels == nil ? nil : parts.flatMap { $0.labels! }
        return LoadedVectors(info: info, matrix: VectorMatrix(rows: rows, dim: dim, stride: dim, base: UnsafePointer(buffer.pointer), owner: buffer),
                             labels: labels, lines: nil)
    }

    /// What the shards hold, from each one's header (the text formats are parsed).
    static func probe(_ source: VectorSource, files: [String]) throws(KNNError) -> VectorFileInfo {
        var total: VectorFileInfo? = nil
        for file in files {
            let part = try VectorLoader.probe(source.shard(file))
            guard var sum = total else { total = part; continue }
            guard part.dim == sum.dim else {
                throw KNNError.data(file: file, location: nil, message: "vectors have dimension \(part.dim) but the first file, \(sum.path), has \(sum.dim)")
            }
            sum.rows += part.rows
            sum.fileBytes += part.fileBytes
            total = sum
        }
        var info = total!
        info.path = source.path
        info.memoryMapped = false
        return info
    }
}
