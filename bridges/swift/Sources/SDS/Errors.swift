import CSds

/// A failed libsds call: the `libsds_status` it returned and the text of
/// `libsds_last_error()`, read on the same thread right after the call.
///
/// Every throwing API of this module throws exactly this type
/// (`throws(SdsError)`), so a `catch` knows `error.code` without a cast:
///
/// ```swift
/// do throws(SdsError) {
///     let received = try manager.unwrap(bytes)
///     deliver(received.content)
/// } catch {
///     if error.code == .decode { return }  // not an SDS message
///     log(error)
/// }
/// ```
public struct SdsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A `libsds_status` value (`LIBSDS_ERR_*`). A code this bridge does not
    /// name (from a newer library) is kept as its raw value.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        // The values of `enum libsds_status` in include/sds.h. Written out as
        // literals: the importer's spelling of a C enum's raw type is not
        // something to depend on.

        /// LIBSDS_ERR: an unspecified failure.
        public static let unspecified = Code(rawValue: -1)
        /// LIBSDS_ERR_BAD_HANDLE: a 0, freed, stale or garbage handle.
        public static let badHandle = Code(rawValue: -2)
        /// LIBSDS_ERR_INVALID_ARG: empty content, a bad option, an id with a NUL byte, ...
        public static let invalidArgument = Code(rawValue: -3)
        /// LIBSDS_ERR_TOO_LARGE: content over 1 MiB, or input over 16 MiB.
        public static let tooLarge = Code(rawValue: -4)
        /// LIBSDS_ERR_DECODE: the bytes are not a valid SDS message.
        public static let decode = Code(rawValue: -5)
        /// LIBSDS_ERR_UNKNOWN_CHANNEL: the manager has no such channel.
        public static let unknownChannel = Code(rawValue: -6)
        /// LIBSDS_ERR_TOO_MANY_CHANNELS: the operation would exceed the channel limit.
        public static let tooManyChannels = Code(rawValue: -7)
        /// LIBSDS_ERR_STORE: persistence failed (opening, reading or writing the store).
        public static let store = Code(rawValue: -8)
        /// LIBSDS_ERR_UNSUPPORTED: not available in this build (e.g. SQLite left out).
        public static let unsupported = Code(rawValue: -9)
        /// LIBSDS_ERR_REENTRANT: called from this manager's hint provider.
        public static let reentrant = Code(rawValue: -10)
        /// LIBSDS_ERR_CLOSED: the manager is being freed, or was closed.
        public static let closed = Code(rawValue: -11)
        /// LIBSDS_ERR_INTERNAL: a bug in libsds (reported, never a crash).
        public static let `internal` = Code(rawValue: -12)
        /// LIBSDS_ERR_USER: reserved for host persistence methods.
        public static let user = Code(rawValue: -13)

        /// The library's name for the code, e.g. "LIBSDS_ERR_DECODE: ...".
        public var description: String {
            guard let name = libsds_status_str(rawValue) else { return "libsds status \(rawValue)" }
            return String(cString: name)
        }
    }

    public let code: Code
    /// What failed (from `libsds_last_error()`, or written by the bridge).
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// Builds the error of a native call that returned `status`. Must run on
    /// the calling thread before any other libsds call.
    init(status: Int32) {
        var text = ""
        if let last = libsds_last_error() {
            text = String(cString: last)
        }
        self.init(code: Code(rawValue: status), message: text)
    }

    public var description: String {
        message.isEmpty ? code.description : "\(message) (\(code.rawValue))"
    }

    static func invalidArgument(_ message: String) -> SdsError {
        SdsError(code: .invalidArgument, message: message)
    }

    static let closedManager = SdsError(code: .closed, message: "the manager is closed")
}

/// Throws the error for a non-zero libsds status; call right after the C call.
@inline(__always)
func check(_ status: Int32) throws(SdsError) {
    if status != 0 {
        throw SdsError(status: status)
    }
}
