import Testing
@testable import KNNCore

@Suite struct ResultWriterTests {
    let folder = TemporaryFolder()

    func table() -> ResultTable {
        let table = ResultTable(capacity: 2, k: 2)
        table.ids[0] = 4; table.distances[0] = 0.5
        table.ids[1] = 1; table.distances[1] = 1.25
        table.ids[2] = 0; table.distances[2] = 3
        table.ids[3] = -1; table.distances[3] = .infinity
        return table
    }

    @Test func csvWithLabelsQuotesWhatNeedsQuoting() throws {
        let file = try AtomicOutputFile(path: folder.file("r.csv"))
        let writer = try CSVResultWriter(file: file, labels: OutputLabels(queries: ["q,0", "q1"], dataset: ["a", "b", "c", "d", "say \"hi\""]))
        try writer.write(table(), rows: 2, firstQuery: 0)
        try writer.finish()
        try file.publish()
        #expect(String(decoding: folder.contents("r.csv"), as: UTF8.self) == """
        query,rank,id,distance,query_label,label
        0,1,4,0.5,"q,0","say ""hi\"\"\"
        0,2,1,1.25,"q,0",b
        1,1,0,3.0,q1,a

        """)
    }

    @Test func npyHeaderIsWhatNumPyWrites() {
        let header = NPYResultWriter.header(queryCount: 3, k: 10)
        #expect(header.count == 128)
        #expect(Array(header.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let text = String(decoding: header[10...], as: UTF8.self)
        #expect(text.hasPrefix("{'descr': [('id', '<i8'), ('distance', '<f4')], 'fortran_order': False, 'shape': (3, 10), }"))
        #expect(text.hasSuffix(" \n"))
    }

    @Test func uncommittedFileLeavesNothingBehind() throws {
        do {
            let file = try AtomicOutputFile(path: folder.file("sub/dir/r.npy"))
            try file.write([1, 2, 3])
            #expect(folder.entries == ["sub"])
        }
        #expect(!FileManagerLike.exists(folder.file("sub/dir/r.npy")))
        #expect(FileManagerLike.list(folder.file("sub/dir")).isEmpty)
    }

    @Test func unwritableFolderIsAnIOErrorNamingTheOutput() throws {
        folder.write("plain-file", text: "x")
        let error = knnError { _ = try AtomicOutputFile(path: folder.file("plain-file/r.csv")) }
        #expect(error?.exitCode == 74)
        #expect(error?.description.hasPrefix(folder.file("plain-file/r.csv")) == true)
    }
}

import Foundation
enum FileManagerLike {
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
    static func list(_ path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
}
