/// NumPy's .npz: a zip archive of .npy members (`numpy.savez` stores them, `savez_compressed`
/// deflates them). One member is read, by name, into memory, and from there is an .npy file.
///
/// Zip layout, as read here (all integers little-endian): at the end, the end-of-central-
/// directory record (signature PK\5\6: entry count at +10, directory size at +12, offset at
/// +16), preceded for large archives by a zip64 locator (PK\6\7, the zip64 record's offset at
/// +8) whose record (PK\6\6) has the 64-bit count at +32 and offset at +48. Each directory entry
/// (PK\1\2): flags at +8, method at +10 (0 stored, 8 deflated), CRC-32 at +16, sizes at +20 and
/// +24, name length +28, extra +30, comment +32, local header offset +42, the name at +46; sizes
/// and offset of 0xFFFFFFFF are in the zip64 extra field (id 1). A local header (PK\3\4) has
/// its own name and extra lengths at +26 and +28; the member's bytes follow it.
enum NPZFormat {
    struct Member {
        var name: String
        var method: Int
        var flags: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeader: Int
    }

    /// The archive's members, in directory order.
    static func members(of file: MappedFile) throws(KNNError) -> [Member] {
        let bytes = file.bytes
        func fail(_ message: String) -> KNNError { .data(file: file.path, location: "zip directory", message: message) }
        func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        func u32(_ at: Int) -> Int { Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        func u64(_ at: Int) -> Int { Int(clamping: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))) }
        guard bytes.count >= 22 else { throw fail("not a zip archive (too short); an .npz is written by numpy.savez") }
        // The record is 22 bytes plus a comment of up to 65535.
        var end = -1
        for at in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65535), by: -1) where u32(at) == 0x0605_4B50 {
            end = at
            break
        }
        guard end >= 0 else { throw fail("not a zip archive (no end-of-directory record); an .npz is written by numpy.savez") }
        var count = u16(end + 10), offset = u32(end + 16)
        if (count == 0xFFFF || offset == 0xFFFF_FFFF), end >= 20, u32(end - 20) == 0x0706_4B50 {
            let record = u64(end - 20 + 8)
            guard record <= bytes.count - 56, u32(record) == 0x0606_4B50 else { throw fail("the zip64 end-of-directory record is missing") }
            count = u64(record + 32)
            offset = u64(record + 48)
        }
        var members: [Member] = []
        var at = offset
        for _ in 0..<min(count, bytes.count / 46) {
            guard at <= bytes.count - 46, u32(at) == 0x0201_4B50 else { throw fail("a directory entry is missing or damaged") }
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            guard nameLength + extraLength + commentLength <= bytes.count - at - 46 else { throw fail("a directory entry runs past the file") }
            var member = Member(name: String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self),
                                method: u16(at + 10), flags: u16(at + 8), crc: UInt32(u32(at + 16)),
                                compressedSize: u32(at + 20), size: u32(at + 24), localHeader: u32(at + 42))
            // Zip64: the 64-bit values present are those whose 32-bit fields are saturated, in this order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), length = u16(extra + 2)
                guard length <= extraEnd - extra - 4 else { break }
                if id == 1 {
                    var field = extra + 4
                    for keyPath in [\Member.size, \Member.compressedSize, \Member.localHeader] where member[keyPath: keyPath] == 0xFFFF_FFFF && field + 8 <= extra + 4 + length {
                        member[keyPath: keyPath] = u64(field)
                        field += 8
                    }
                }
                extra += 4 + length
            }
            members.append(member)
            at += 46 + nameLength + extraLength + commentLength
        }
        return members
    }

    /// The array named `name` (without ".npy"), or the only one, as an .npy file in memory.
    static func open(_ file: MappedFile, array name: String?) throws(KNNError) -> MappedFile {
        let member = try choose(file, array: name)
        return try read(file, member: member)
    }

    /// The directory entry of the array named `name`, or of the only one.
    static func choose(_ file: MappedFile, array name: String?) throws(KNNError) -> Member {
        let members = try members(of: file)
        let arrays = members.map { $0.name.hasSuffix(".npy") ? String($0.name.dropLast(4)) : $0.name }
        let listed = arrays.map { "\"\($0)\"" }.joined(separator: ", ")
        let index: Int
        if let name {
            guard let found = arrays.firstIndex(of: name) else { throw KNNError.data(file: file.path, location: nil, message: "no array \"\(name)\" in the archive (it holds \(listed.isEmpty ? "none" : listed))") }
            index = found
        } else {
            guard arrays.count == 1 else {
                throw KNNError.data(file: file.path, location: nil, message: arrays.isEmpty ? "the archive holds no arrays" : "the archive holds \(arrays.count) arrays (\(listed)); name one with \"array\"")
            }
            index = 0
        }
        return members[index]
    }

    private static func read(_ file: MappedFile, member: Member) throws(KNNError) -> MappedFile {
        let label = "\(file.path): \(member.name)"
        func fail(_ message: String) -> KNNError { .data(file: label, location: nil, message: message) }
        guard member.flags & 1 == 0 else { throw fail("the member is encrypted") }
        let bytes = file.bytes
        guard member.localHeader <= bytes.count - 30, bytes.loadUnaligned(fromByteOffset: member.localHeader, as: UInt32.self) == UInt32(0x0403_4B50).littleEndian else {
            throw fail("the member's local header is missing or damaged")
        }
        let nameLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: member.localHeader + 26, as: UInt16.self)))
        let extraLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: member.localHeader + 28, as: UInt16.self)))
        let start = member.localHeader + 30 + nameLength + extraLength
        guard start <= bytes.count, member.compressedSize <= bytes.count - start else { throw fail("the member runs past the end of the archive") }
        let stored = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + member.compressedSize)])
        // Sizes checked before they size a buffer: deflate expands at most about 1032 to 1.
        guard member.method != 0 || member.compressedSize == member.size else { throw fail("a stored member whose sizes differ") }
        guard member.method != 8 || member.size <= member.compressedSize * 1032 + 64 else {
            throw fail("claims \(member.size) bytes, more than its \(member.compressedSize) deflated bytes can hold")
        }
        let buffer = AlignedBuffer<UInt8>(count: member.size, zeroed: false)
        let output = UnsafeMutableRawBufferPointer(start: buffer.pointer, count: member.size)
        switch member.method {
        case 0:
            guard member.compressedSize == member.size else { throw fail("a stored member whose sizes differ") }
            if member.size > 0 { output.copyMemory(from: stored) }
        case 8:
            do {
                let (_, written) = try Inflate.inflate(stored, into: output)
                guard written == member.size else { throw fail("inflates to \(written) bytes where the directory says \(member.size)") }
            } catch let error as DecompressionError {
                throw fail("does not inflate: \(error.message)")
            } catch let error as KNNError {
                throw error
            } catch {
                throw fail("\(error)")
            }
        default:
            throw fail("compression method \(member.method) is not supported (stored and deflated are, as numpy.savez and savez_compressed write)")
        }
        guard Checksums.crc32(UnsafeRawBufferPointer(output)) == member.crc else { throw fail("CRC-32 mismatch: the archive is damaged") }
        return MappedFile(name: label, holding: buffer, count: member.size)
    }
}
