/// Reads one JSON object of a job spec field by field and rejects every key nobody asked for, so
/// a typo in a cron job is an error that names the key rather than a silent default.
///
/// Errors name the job file and the dotted path of the field (`dataset.format`).
struct SpecObject {
    let file: String
    /// Dotted path of this object inside the document; empty for the top level.
    let path: String
    private let members: [(key: String, value: JSONValue)]
    private var read: Set<String> = []

    init(_ value: JSONValue, file: String, path: String) throws(KNNError) {
        guard case .object(let members) = value else {
            throw KNNError.spec(file: file, field: path.isEmpty ? nil : path, message: "expected a JSON object, found \(value.kindName)")
        }
        self.file = file
        self.path = path
        self.members = members
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> KNNError {
        .spec(file: file, field: fieldPath(key), message: message)
    }

    /// The raw value of `key`, or nil when absent; marks the key as known.
    mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        return members.first(where: { $0.key == key })?.value
    }

    mutating func required(_ key: String) throws(KNNError) -> JSONValue {
        guard let value = value(key) else { throw error(key, "missing required key") }
        return value
    }

    mutating func string(_ key: String) throws(KNNError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw error(key, "expected a string, found \(value.kindName)") }
        guard !text.isEmpty else { throw error(key, "must not be empty") }
        return text
    }

    mutating func requiredString(_ key: String) throws(KNNError) -> String {
        guard let text = try string(key) else { throw error(key, "missing required key") }
        return text
    }

    /// A file path: a non-empty string without control characters (a NUL would cut the path
    /// short for the operating system after every check had looked at the whole string).
    mutating func path(_ key: String) throws(KNNError) -> String? {
        guard let text = try string(key) else { return nil }
        guard Paths.isWithinLimits(text) else {
            throw error(key, "the path is longer than the system allows (\(text.utf8.count) bytes; at most \(PATH_MAX - 1), \(NAME_MAX) per name)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw error(key, "contains a control character; paths must be plain text")
        }
        return text
    }

    mutating func requiredPath(_ key: String) throws(KNNError) -> String {
        guard let text = try path(key) else { throw error(key, "missing required key") }
        return text
    }

    mutating func bool(_ key: String) throws(KNNError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw error(key, "expected true or false, found \(value.kindName)") }
        return flag
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(KNNError) -> Int? {
        guard let value = value(key) else { return nil }
        return try Self.integer(value, range: range) { message throws(KNNError) in throw error(key, message) }
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(KNNError) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number, _) = value else { throw error(key, "expected a number, found \(value.kindName)") }
        guard range.contains(number) else { throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)") }
        return number
    }

    mutating func object(_ key: String) throws(KNNError) -> SpecObject? {
        guard let value = value(key) else { return nil }
        return try SpecObject(value, file: file, path: fieldPath(key))
    }

    /// Fails on the first key that no reader asked for, suggesting the nearest known key.
    func rejectUnknownKeys() throws(KNNError) {
        for member in members where !read.contains(member.key) {
            let known = read.sorted()
            let suggestion = known.min { editDistance($0, member.key) < editDistance($1, member.key) }
            var message = "unknown key"
            if let suggestion, editDistance(suggestion, member.key) <= max(2, member.key.count / 3) {
                message += " (did you mean \"\(suggestion)\"?)"
            } else if !known.isEmpty {
                message += " (known keys here: \(known.joined(separator: ", ")))"
            }
            throw KNNError.spec(file: file, field: fieldPath(member.key), message: message)
        }
    }

    static func integer(_ value: JSONValue, range: ClosedRange<Int>, fail: (String) throws(KNNError) -> Never) throws(KNNError) -> Int {
        guard case .number(let number, let text) = value else { try fail("expected an integer, found \(value.kindName)") }
        guard let integer = Int(text) else {
            try fail(number.rounded() == number && abs(number) < 1e18 ? "expected an integer written without a fraction or exponent, found \(text)" : "expected an integer, found \(text)")
        }
        guard range.contains(integer) else {
            try fail(range.upperBound == Int.max ? "must be at least \(range.lowerBound), found \(integer)" : "must be between \(range.lowerBound) and \(range.upperBound), found \(integer)")
        }
        return integer
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var row = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = row
    }
    return a.isEmpty ? b.count : previous[b.count]
}
