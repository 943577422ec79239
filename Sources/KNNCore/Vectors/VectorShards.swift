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
            // Hidden files, and Hadoop's markers and summaries (_SUCCESS, _metadata, _common_metadata), are not shards.
            for name in names where !name.hasPrefix(".") && !name.hasPrefix("_") {
                let file = path + "/" + name
                guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if let format { if VectorFormat.inferred(fromPath: name) == format || VectorFormat.inferred(fromPath: name) == nil { found.append(file) } }
                else if VectorFormat.inferred(fromPath: name) != nil { found.append(file) }
            }
            guard !found.isEmpty else { try fail("the folder \"\(path)\" holds no vector files (npy, npz, fvecs, bvecs, parquet, …)") }
        } else {
            var result = glob_t()
            defer { globfree(&result) }
            // The folder part is taken literally (a folder may be named "run[1]"); the last component is the pattern.
            let folder = Paths.directory(of: path), pattern = Paths.fileName(of: path)
            let literal = folder.unicodeScalars.map { "*?[]\\".unicodeScalars.contains($0) ? "\\\($0)" : "\($0)" }.joined()
            let status = glob(path.contains("/") ? literal + "/" + pattern : pattern, 0, nil, &result)
            if status == GLOB_NOMATCH { try fail("no file matches \"\(path)\"") }
            guard status == 0 else { try fail("cannot expand \"\(path)\" (glob error \(status))") }
            for i in 0..<Int(result.gl_pathc) {
                guard let matched = result.gl_pathv[i] else { continue }
                let file = String(cString: matched)
                let name = Paths.fileName(of: file)
                if stat(file, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && !name.hasPrefix(".") && !name.hasPrefix("_") { found.append(file) }
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

    /// Loads every shard of `source` and joins them, in order, into one matrix: each shard's
    /// header is read first, so the matrix is allocated once and each shard dropped once copied
    /// (memory: the dataset, plus one shard while it is read). Empty shards (Spark and Dask
    /// write them) are skipped.
    static func load(_ source: VectorSource, files: [String], threads: Int) throws(KNNError) -> LoadedVectors {
        let infos = try files.map { (file) throws(KNNError) in try VectorLoader.probe(source.shard(file)) }
        let total = try joined(source, infos: infos)
        let buffer = FloatBuffer(count: total.rows * total.dim, zeroed: false)
        var next = 0
        var labels: [String]? = nil
        var notes: [String] = []
        for (file, info) in zip(files, infos) where info.rows > 0 {
            let part = try VectorLoader.load(source.shard(file), threads: threads)
            guard part.info.rows == info.rows, part.info.dim == total.dim else {
                throw KNNError.data(file: file, location: nil, message: "changed while this run read it; run again once it is complete")
            }
            let m = part.matrix
            for i in 0..<m.rows { (buffer.pointer + (next + i) * total.dim).update(from: m.row(i), count: total.dim) }
            m.releasePages(rows: 0..<m.rows)
            next += m.rows
            if let partLabels = part.labels { labels = (labels ?? []) + partLabels }
            notes += part.info.notes.map { "\(Paths.fileName(of: file)): \($0)" }
        }
        var info = total
        info.notes = notes
        info.hasLabels = labels != nil
        return LoadedVectors(info: info, matrix: VectorMatrix(rows: total.rows, dim: total.dim, stride: total.dim, base: UnsafePointer(buffer.pointer), owner: buffer),
                             labels: labels, lines: nil)
    }

    /// What the shards hold, from each one's header (the text formats are parsed).
    static func probe(_ source: VectorSource, files: [String]) throws(KNNError) -> VectorFileInfo {
        try joined(source, infos: files.map { (file) throws(KNNError) in try VectorLoader.probe(source.shard(file)) })
    }

    /// The shards as one: rows summed, the dimension of the first shard with rows, which every
    /// other shard with rows must share, and labels in all of them or none.
    private static func joined(_ source: VectorSource, infos: [VectorFileInfo]) throws(KNNError) -> VectorFileInfo {
        let filled = infos.filter { $0.rows > 0 }
        var total = filled.first ?? infos[0]
        total.rows = 0
        total.fileBytes = 0
        for part in infos {
            if part.rows > 0 {
                guard part.dim == total.dim else {
                    throw KNNError.data(file: part.path, location: nil, message: "vectors have dimension \(part.dim) but the first file, \(filled[0].path), has \(total.dim)")
                }
                guard part.hasLabels == total.hasLabels else {
                    throw KNNError.data(file: part.path, location: nil, message: "\(part.hasLabels ? "has labels" : "has no labels") where the first file, \(filled[0].path), \(total.hasLabels ? "has them" : "has none")")
                }
            }
            let (rows, overflow) = total.rows.addingReportingOverflow(part.rows)
            guard !overflow else { throw KNNError.data(file: part.path, location: nil, message: "the files hold more rows than can be counted") }
            total.rows = rows
            total.fileBytes = total.fileBytes.addingReportingOverflow(part.fileBytes).partialValue
        }
        total.path = source.path
        total.memoryMapped = false
        total.notes = []
        return total
    }
}
