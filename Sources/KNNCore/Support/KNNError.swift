/// Every failure a user can cause, with the exit status it maps to (BSD sysexits).
///
/// All user-facing error text is assembled here, so messages stay uniform: one line that names
/// the file, then the JSON field or the row, then what is wrong.
public enum KNNError: Error, Equatable, CustomStringConvertible {
    /// Bad command-line usage (exit 64).
    case usage(String)
    /// An invalid job spec: `field` is a dotted JSON path such as `dataset.format` (exit 64).
    case spec(file: String, field: String?, message: String)
    /// Bad input data: `location` names the row, line or header part (exit 65).
    case data(file: String, location: String?, message: String)
    /// A missing or unreadable input, or an output that cannot be written (exit 74).
    case io(path: String, message: String)
    /// Anything else (exit 1).
    case failure(String)

    public var exitCode: Int32 {
        switch self {
        case .usage, .spec: return 64
        case .data: return 65
        case .io: return 74
        case .failure: return 1
        }
    }

    public var description: String {
        switch self {
        case .usage(let message):
            return message
        case .spec(let file, let field, let message):
            return [file, field].compactMap { $0 }.joined(separator: ": ") + ": " + message
        case .data(let file, let location, let message):
            return [file, location].compactMap { $0 }.joined(separator: ": ") + ": " + message
        case .io(let path, let message):
            return "\(path): \(message)"
        case .failure(let message):
            return message
        }
    }
}

/// The text of the C library's `errno`, for I/O messages.
func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
