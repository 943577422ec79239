/// A parsed JSON document that keeps what the job spec and the report need and Foundation's
/// `JSONSerialization` loses: the order of object keys, whether a number was written as an
/// integer, and the line of every error.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// `text` is the number as written, so `10` and `10.0` stay distinguishable.
    case number(Double, text: String)
    case string(String)
    case array([JSONValue])
    /// Keys in document order.
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a, _), .number(b, _)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// A name for the value's kind, for messages such as "expected a string, found an array".
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    public static func integer(_ value: Int) -> JSONValue { .number(Double(value), text: String(value)) }

    public static func double(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        return .number(value, text: "\(value)")
    }
}
