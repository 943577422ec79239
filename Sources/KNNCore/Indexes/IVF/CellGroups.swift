/// A slice's (query, cell) pairs grouped by cell, for scanning each probed cell once for all the
/// queries that probe it: cell `c`'s pairs, queries in increasing order, are
/// `members[starts[c] ..< starts[c + 1]]`, each the pair's index `q × probe + rank` in the
/// probe lists (so its query is `index / probe`). Scratch of one worker, reused for every slice.
final class CellGroups {
    let lists: Int
    let starts: AlignedBuffer<Int>
    private(set) var members = AlignedBuffer<Int>(count: 0)

    init(lists: Int) {
        self.lists = lists
        starts = AlignedBuffer(count: lists + 1)
    }

    /// Groups `queries` rows of `probed` (per query `probe` cell numbers, −1 for none) by cell.
    func group(probed: UnsafePointer<Int64>, queries: Int, probe: Int) {
        if members.count < queries * probe { members = AlignedBuffer(count: queries * probe) }
        let starts = starts.pointer, members = members.pointer
        starts.update(repeating: 0, count: lists + 1)
        for p in 0..<(queries * probe) where probed[p] >= 0 { starts[Int(probed[p]) + 1] += 1 }
        for c in 0..<lists { starts[c + 1] += starts[c] }
        // Filled by advancing each cell's start, then shifted back.
        for q in 0..<queries {
            for r in 0..<probe {
                let cell = Int(probed[q * probe + r])
                guard cell >= 0 else { continue }
                members[starts[cell]] = q * probe + r
                starts[cell] += 1
            }
        }
        for c in stride(from: lists, to: 0, by: -1) { starts[c] = starts[c - 1] }
        starts[0] = 0
    }

    /// Cell `c`'s pairs.
    @inline(__always)
    func pairs(ofCell c: Int) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(start: members.pointer + starts.pointer[c], count: starts.pointer[c + 1] - starts.pointer[c])
    }
}
