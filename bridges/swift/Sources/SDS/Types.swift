import CSds

/// A message, channel, sender or participant id.
///
/// Ids travel on the wire as raw bytes and may hold any byte (NUL, invalid
/// UTF-8), so the library hands them back as bytes and this type keeps them
/// as bytes: an id taken from an event or an unwrap result can be passed back
/// unchanged. Build one from a `String` (its UTF-8) or a string literal:
///
/// ```swift
/// try manager.wrap(payload, messageID: "m-1", channelID: SdsID(roomName))
/// ```
public struct SdsID: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The UTF-8 of `string`.
    public init(_ string: String) {
        self.bytes = Array(string.utf8)
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The id decoded as UTF-8; invalid sequences become U+FFFD (so this is
    /// lossy for such ids: keep `bytes` to pass an id back).
    public var string: String {
        String(decoding: bytes, as: UTF8.self)
    }

    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { string }
}

/// One causal-history entry: a message another message depends on.
public struct HistoryEntry: Hashable, Sendable {
    public var messageID: SdsID
    /// The sender's hint for fetching the message (e.g. a transport hash);
    /// empty when it gave none.
    public var retrievalHint: [UInt8]
    /// The original sender (SDS-R); empty if unknown.
    public var senderID: SdsID

    public init(messageID: SdsID, retrievalHint: [UInt8] = [], senderID: SdsID = SdsID(bytes: [])) {
        self.messageID = messageID
        self.retrievalHint = retrievalHint
        self.senderID = senderID
    }
}

/// An event of a manager (`libsds_event`), copied out of the C struct.
///
/// Fields a kind does not use are empty: `channelID` for `.periodicSync`;
/// `messageID` for `.periodicSync`, `.repairReady` and `.storeFailed`.
/// `missingDependencies` is filled only for `.missingDependencies`, `message`
/// only for `.repairReady`, `error` only for `.storeFailed`, `content` only for
/// `.messageReady`.
///
/// `.messageReady` events come in causal order: a message's event after those
/// of the messages it depends on, within one call and across calls, each with
/// the delivered message's `content` (also for a message that waited for its
/// dependencies), so a chat view can append on `.messageReady`.
public struct SdsEvent: Hashable, Sendable {
    /// `libsds_event_type`.
    public enum Kind: Hashable, Sendable {
        /// A received message is delivered, in causal order.
        case messageReady
        /// A peer has seen one of our messages.
        case messageAcknowledged
        /// One of ours ran out of resend attempts (or buffer room) unacknowledged.
        case messageGivenUp
        /// A received message waits for `missingDependencies`.
        case missingDependencies
        /// Time to send something so peers learn what we have.
        case periodicSync
        /// SDS-R: rebroadcast `message` (the wire bytes).
        case repairReady
        /// A waiting message was discarded: the channel's buffer (count or bytes) was full.
        case incomingDropped
        /// A store without transactions failed a write; `error` says which.
        case storeFailed
        /// SDS-R: a pending repair request or response for `messageID` was
        /// discarded because the channel's repair budget was full.
        case repairDropped
        /// A type this bridge does not know (from a newer library).
        case unknown(UInt32)

        init(rawValue: UInt32) {
            switch rawValue {
            case 1: self = .messageReady
            case 2: self = .messageAcknowledged
            case 3: self = .messageGivenUp
            case 4: self = .missingDependencies
            case 5: self = .periodicSync
            case 6: self = .repairReady
            case 7: self = .incomingDropped
            case 8: self = .storeFailed
            case 9: self = .repairDropped
            default: self = .unknown(rawValue)
            }
        }
    }

    public var kind: Kind
    public var channelID: SdsID
    public var messageID: SdsID
    public var missingDependencies: [HistoryEntry]
    /// `.repairReady`: the wire message to broadcast.
    public var message: [UInt8]?
    /// `.storeFailed`: what failed.
    public var error: String?
    /// `.messageReady`: the delivered message's payload.
    public var content: [UInt8]?

    public init(
        kind: Kind,
        channelID: SdsID = SdsID(bytes: []),
        messageID: SdsID = SdsID(bytes: []),
        missingDependencies: [HistoryEntry] = [],
        message: [UInt8]? = nil,
        error: String? = nil,
        content: [UInt8]? = nil
    ) {
        self.kind = kind
        self.channelID = channelID
        self.messageID = messageID
        self.missingDependencies = missingDependencies
        self.message = message
        self.error = error
        self.content = content
    }
}

/// The result of ``ReliabilityManager/unwrap(_:)``.
public struct Unwrapped: Hashable, Sendable {
    /// The payload, returned even for duplicates and for waiting messages.
    public var content: [UInt8]
    public var channelID: SdsID
    /// Non-empty: the message waits for these (its `.messageReady` event, with
    /// the same `messageID` and the content, comes once they arrive or are
    /// marked met).
    public var missingDependencies: [HistoryEntry]
    /// The message's id, as its `.messageReady` event carries it.
    public var messageID: SdsID

    public init(
        content: [UInt8], channelID: SdsID, missingDependencies: [HistoryEntry] = [],
        messageID: SdsID = SdsID(bytes: [])
    ) {
        self.content = content
        self.channelID = channelID
        self.missingDependencies = missingDependencies
        self.messageID = messageID
    }
}

/// The periodic tasks, for ``ReliabilityManager/runTasks(_:)`` (`LIBSDS_TASK_*`).
public struct Tasks: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Count resend attempts; give up the exhausted.
    public static let bufferSweep = Tasks(rawValue: 1 << 0)
    /// Fire a `.periodicSync` event.
    public static let sync = Tasks(rawValue: 1 << 1)
    /// Fire due SDS-R rebroadcasts, expire old requests.
    public static let repairSweep = Tasks(rawValue: 1 << 2)
    public static let all: Tasks = [.bufferSweep, .sync, .repairSweep]
}

/// The loaded library.
public enum SdsLibrary {
    /// `libsds_version()`, e.g. "0.1.0".
    public static var version: String {
        guard let v = libsds_version() else { return "" }
        return String(cString: v)
    }

    /// `libsds_version_number()`: MAJOR * 10000 + MINOR * 100 + PATCH.
    public static var versionNumber: Int { Int(libsds_version_number()) }

    /// `libsds_abi_version()`: the soname major (libsds.so.0).
    public static var abiVersion: Int { Int(libsds_abi_version()) }
}

// MARK: - Copying out of C (pointers are valid only during the call/callback)

/// The bytes of a `libsds_str`, by its length (ids may contain NUL: no strlen).
func copyBytes(of s: libsds_str) -> [UInt8] {
    guard s.len > 0, let data = s.data else { return [] }
    return Array(UnsafeRawBufferPointer(start: data, count: s.len))
}

/// `len` bytes at `data` (NULL or 0 gives []).
func copyBytes(_ data: UnsafePointer<UInt8>?, _ len: Int) -> [UInt8] {
    guard len > 0, let data else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: len))
}

func historyEntries(_ entries: UnsafePointer<libsds_history_entry>?, _ count: Int) -> [HistoryEntry] {
    guard count > 0, let entries else { return [] }
    return UnsafeBufferPointer(start: entries, count: count).map { e in
        HistoryEntry(
            messageID: SdsID(bytes: copyBytes(of: e.message_id)),
            retrievalHint: copyBytes(e.retrieval_hint, e.retrieval_hint_len),
            senderID: SdsID(bytes: copyBytes(of: e.sender_id))
        )
    }
}

extension SdsEvent {
    /// Copies a `libsds_event`. The fields up to `error` exist in every libsds
    /// of ABI 0 (later ones only append); `content` is read only when `e.size`
    /// says the library has it.
    init(copying e: libsds_event) {
        var message: [UInt8]? = nil
        if let m = e.message {
            message = copyBytes(m, e.message_len)
        }
        var error: String? = nil
        if let text = e.error {
            error = String(cString: text)
        }
        var content: [UInt8]? = nil
        let contentEnd = MemoryLayout<libsds_event>.offset(of: \libsds_event.content_len)! + MemoryLayout<Int>.size
        if Int(e.size) >= contentEnd, let c = e.content {
            content = copyBytes(c, e.content_len)
        }
        self.init(
            kind: Kind(rawValue: e.type),
            channelID: SdsID(bytes: copyBytes(of: e.channel_id)),
            messageID: SdsID(bytes: copyBytes(of: e.message_id)),
            missingDependencies: historyEntries(e.missing_deps, e.missing_deps_len),
            message: message,
            error: error,
            content: content
        )
    }
}

extension Unwrapped {
    init(copying u: libsds_unwrapped) {
        self.init(
            content: copyBytes(u.content.data, u.content.len),
            channelID: SdsID(bytes: copyBytes(of: u.channel_id)),
            missingDependencies: historyEntries(u.missing_deps, u.missing_deps_len),
            messageID: SdsID(bytes: copyBytes(of: u.message_id))
        )
    }
}

// MARK: - Handing ids to C

extension SdsID {
    /// The id as a NUL-terminated C string, for a `const char *` parameter
    /// (pass the array itself: Swift's array-to-pointer conversion keeps it
    /// alive for the call). The C API takes these ids NUL-terminated, so an id
    /// holding a NUL byte is refused (`.invalidArgument`) instead of cut short.
    func cString(_ what: String) throws(SdsError) -> [CChar] {
        if bytes.contains(0) {
            throw SdsError.invalidArgument("\(what) must not contain NUL bytes (the C API takes it NUL-terminated)")
        }
        // truncatingIfNeeded: CChar is Int8 on some platforms, UInt8 on others.
        var c = bytes.map { CChar(truncatingIfNeeded: $0) }
        c.append(0)
        return c
    }
}

/// A heap copy of a NUL-terminated C string, for a struct field that must
/// stay valid across a call (libsds_options). Release with `deallocate()`.
func heapCString(_ c: [CChar]?) -> UnsafeMutablePointer<CChar>? {
    guard let c else { return nil }
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: c.count)
    p.initialize(from: c, count: c.count)
    return p
}
