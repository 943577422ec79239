/// What a run has finished, so that a run killed at any point (kill -9 included) continues
/// where it stopped when started again with the same job: the blocks written to the partial
/// output (`.<name>.knnbatch-partial`), and what the report sums over them.
///
/// The journal is `.<name>.knnbatch-journal` beside the output, text, one line each:
///
///     knnbatch-journal 1 <identity>
///     <block> <output bytes after it> <ground-truth hits> <short queries> <churn: compared changed overlap-sum bits> <checksum>
///
/// A block's line is appended only after its bytes are written and flushed (`fsync`), and is
/// flushed itself, so every line vouches for a prefix of the partial output. The counts are
/// totals so far. Lines are read while they hold together — the next block's number, more
/// output bytes than the line before, their checksum (`ContentHash` of the rest of the line) —
/// and a torn or damaged line ends what is trusted. `identity` ties the journal to the job as resolved (threads aside), the block size,
/// the inputs (size and modification time), the saved index if one is used, the kernel build and
/// the release: a journal for anything else is ignored and the run starts over. The output is
/// byte-identical to an uninterrupted run's, because blocks are written in order, each from the
/// same search, whatever ran before.
final class RunJournal {
    struct Block: Equatable {
        var number: Int
        var outputBytes: Int
        var hits: Int
        var shortQueries: Int
        var churnCompared: Int
        var churnChanged: Int
        var churnOverlap: Double
    }

    let path: String
    private let fd: Int32
    /// The blocks finished by earlier runs of this job, in order from block 0.
    let finished: [Block]
    /// Whether the journal vouches for any block (a journal that does not is removed with the run).
    private(set) var holdsBlocks: Bool

    /// Opens the journal of `output` for a run with `identity`; `restart` ignores what it holds.
    init(output: String, identity: String, restart: Bool) throws(KNNError) {
        path = Paths.sidecar(of: output, ".knnbatch-journal")
        var blocks: [Block] = []
        if !restart, let text = try? MappedFile(path: path), let content = String(validating: text.bytes, as: UTF8.self) {
            var lines = content.split(separator: "\n", omittingEmptySubsequences: false)
            if content.last != "\n" { lines.removeLast() }  // torn last line
            if lines.first == Substring(Self.header(identity)) {
                for line in lines.dropFirst() {
                    let fields = line.split(separator: " ").map { String($0) }
                    guard fields.count == 8, let number = Int(fields[0]), number == blocks.count, let bytes = Int(fields[1]),
                          bytes > (blocks.last?.outputBytes ?? 0), let hits = Int(fields[2]), let short = Int(fields[3]),
                          let compared = Int(fields[4]), let changed = Int(fields[5]), let overlap = UInt64(fields[6]),
                          fields[7] == Self.checksum(fields.prefix(7).joined(separator: " ")) else { break }
                    blocks.append(Block(number: number, outputBytes: bytes, hits: hits, shortQueries: short, churnCompared: compared,
                                        churnChanged: changed, churnOverlap: Double(bitPattern: overlap)))
                }
            }
        }
        finished = blocks
        holdsBlocks = !blocks.isEmpty
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KNNError.io(path: output, message: "cannot write the journal \(path): \(systemErrorText(errno))") }
        // Rewrite what is kept, so that a torn or foreign tail cannot follow the new lines.
        var text = Self.header(identity) + "\n"
        for block in blocks { text += Self.line(block) }
        try replace(with: text)
    }

    deinit {
        close(fd)
        if !holdsBlocks { unlink(path) }
    }

    /// Records a finished block (its bytes are already written and flushed).
    func record(_ block: Block) throws(KNNError) {
        try append(Self.line(block))
        holdsBlocks = true
    }

    /// The run is complete and its output in place: the journal goes.
    func remove() {
        unlink(path)
        holdsBlocks = true  // already gone
    }

    private static func header(_ identity: String) -> String { "knnbatch-journal 1 \(identity)" }

    private static func line(_ block: Block) -> String {
        let text = "\(block.number) \(block.outputBytes) \(block.hits) \(block.shortQueries) \(block.churnCompared) \(block.churnChanged) \(block.churnOverlap.bitPattern)"
        return text + " " + checksum(text) + "\n"
    }

    private static func checksum(_ text: String) -> String {
        String(Array(text.utf8).withUnsafeBytes { ContentHash.of($0) }, radix: 16)
    }

    private func replace(with text: String) throws(KNNError) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else { throw KNNError.io(path: path, message: "cannot write: \(systemErrorText(errno))") }
        try append(text)
    }

    private func append(_ text: String) throws(KNNError) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw KNNError.io(path: path, message: "cannot write: \(systemErrorText(errno))")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw KNNError.io(path: path, message: "cannot flush to disk: \(systemErrorText(errno))") }
    }
}
