/// Why a compressed buffer could not be decoded. The message names the format and what was
/// wrong with the input, so that a user can tell a truncated file from a corrupt or unsupported one.
struct DecompressionError: Error, Equatable, CustomStringConvertible {
    var message: String

    init(message: String) { self.message = message }
    init(_ message: String) { self.message = message }

    var description: String { message }
}
