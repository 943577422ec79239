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
    /// The job needs more memory than a limit allows (exit 75, EX_TEMPFAIL: it may fit later,
    /// or elsewhere).
    case memory(file: String, message: String)
    /// Another run holds the output (exit 75: it will be free later).
    case busy(path: String, message: String)
    /// Anything else (exit 1).
    case failure(String)

    public var exitCode: Int32 {
        switch self {
        case .usage, .spec: return 64
        case .data: return 65
        case .io: return 74
        case .memory, .busy: return 75
        case .failure: return 1
        }
    }

    /// The message on one line, control characters from user data (a header, a path) escaped
    /// so that they cannot break the line or drive a terminal.
    public var description: String { Self.escapingControlCharacters(text) }

    private var text: String {
        switch self {
        case .usage(let message):
            return message
        case .spec(let file, let field, let message):
            return [file, field].compactMap { $0 }.joined(separator: ": ") + ": " + message
        case .data(let file, let location, let message):
            return [file, location].compactMap { $0 }.joined(separator: ": ") + ": " + message
        case .io(let path, let message), .memory(let path, let message), .busy(let path, let message):
            return "\(path): \(message)"
        case .failure(let message):
            return message
        }
    }
}

extension KNNError {
    static func escapingControlCharacters(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                escaped += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// The text of the C library's `errno`, for I/O messages.
func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
