import CSds

/// Tunables of a manager (the configuration part of `libsds_options`).
///
/// Every field is optional: `nil` keeps the library default (in brackets); a
/// set field is passed with its `LIBSDS_CFG_*` bit in `config_set`, so 0 can be
/// asked for where it means something (`maxCausalHistory: 0` sends no causal
/// history). Durations are sent as whole milliseconds, rounded to the nearest
/// (a positive duration under half a millisecond becomes 1 ms, never 0). The
/// library checks every field's range (`bloomErrorRate` in [1e-12, 1),
/// `repairTMax >= repairTMin`, intervals up to a year, ...; docs/limits.md)
/// and answers `.invalidArgument` naming the field.
public struct Config: Hashable, Sendable {
    public var bloomCapacity: UInt32?           // [10000]
    public var bloomErrorRate: Double?          // [0.001]
    public var maxMessageHistory: UInt32?       // [1000]
    public var maxCausalHistory: UInt32?        // [10]
    public var resendInterval: Duration?        // [60 s]
    public var maxResendAttempts: UInt32?       // [5]
    public var syncInterval: Duration?          // [30 s]
    public var bufferSweepInterval: Duration?   // [60 s]
    public var repairTMin: Duration?            // [30 s]
    public var repairTMax: Duration?            // [300 s]
    public var numResponseGroups: UInt32?       // [1]
    public var maxRepairRequests: UInt32?       // [3]
    public var repairSweepInterval: Duration?   // [5 s]
    public var maxChannels: UInt32?             // [10000]
    public var maxIncomingBuffer: UInt32?       // [10000 per channel]
    public var maxOutgoingBuffer: UInt32?       // [10000 per channel]
    public var rerequestRepairs: Bool?          // [false: nim-sds asks once]
    public var wireGeneration: WireGeneration?  // [.v03; unwrap reads both]
    // Hostile-peer budgets (docs/limits.md): what any peer can make the
    // manager hold or compute. An incoming message over a per-message budget
    // fails with `.tooLarge`; a buffer over its byte budget evicts its oldest
    // entries, each reported by an event.
    public var maxIDLength: UInt32?             // [1024 bytes: message and sender ids, in and out]
    public var maxChannelIDLength: UInt32?      // [1024 bytes]
    public var maxHintLength: UInt32?           // [4096 bytes]
    public var maxCausalEntries: UInt32?        // [1000 per incoming message]
    public var maxRepairEntries: UInt32?        // [100 per incoming message]
    public var maxCausalHistoryBytes: UInt32?   // [65536 per outgoing message]
    public var maxPendingRepairs: UInt32?       // [1000 per channel and queue]
    public var maxIncomingBytes: UInt64?        // [8 MiB per channel]
    public var maxHistoryBytes: UInt64?         // [16 MiB per channel]
    public var maxRepairBytes: UInt64?          // [16 MiB per channel]

    public init(
        bloomCapacity: UInt32? = nil,
        bloomErrorRate: Double? = nil,
        maxMessageHistory: UInt32? = nil,
        maxCausalHistory: UInt32? = nil,
        resendInterval: Duration? = nil,
        maxResendAttempts: UInt32? = nil,
        syncInterval: Duration? = nil,
        bufferSweepInterval: Duration? = nil,
        repairTMin: Duration? = nil,
        repairTMax: Duration? = nil,
        numResponseGroups: UInt32? = nil,
        maxRepairRequests: UInt32? = nil,
        repairSweepInterval: Duration? = nil,
        maxChannels: UInt32? = nil,
        maxIncomingBuffer: UInt32? = nil,
        maxOutgoingBuffer: UInt32? = nil,
        rerequestRepairs: Bool? = nil,
        wireGeneration: WireGeneration? = nil,
        maxIDLength: UInt32? = nil,
        maxChannelIDLength: UInt32? = nil,
        maxHintLength: UInt32? = nil,
        maxCausalEntries: UInt32? = nil,
        maxRepairEntries: UInt32? = nil,
        maxCausalHistoryBytes: UInt32? = nil,
        maxPendingRepairs: UInt32? = nil,
        maxIncomingBytes: UInt64? = nil,
        maxHistoryBytes: UInt64? = nil,
        maxRepairBytes: UInt64? = nil
    ) {
        self.bloomCapacity = bloomCapacity
        self.bloomErrorRate = bloomErrorRate
        self.maxMessageHistory = maxMessageHistory
        self.maxCausalHistory = maxCausalHistory
        self.resendInterval = resendInterval
        self.maxResendAttempts = maxResendAttempts
        self.syncInterval = syncInterval
        self.bufferSweepInterval = bufferSweepInterval
        self.repairTMin = repairTMin
        self.repairTMax = repairTMax
        self.numResponseGroups = numResponseGroups
        self.maxRepairRequests = maxRepairRequests
        self.repairSweepInterval = repairSweepInterval
        self.maxChannels = maxChannels
        self.maxIncomingBuffer = maxIncomingBuffer
        self.maxOutgoingBuffer = maxOutgoingBuffer
        self.rerequestRepairs = rerequestRepairs
        self.wireGeneration = wireGeneration
        self.maxIDLength = maxIDLength
        self.maxChannelIDLength = maxChannelIDLength
        self.maxHintLength = maxHintLength
        self.maxCausalEntries = maxCausalEntries
        self.maxRepairEntries = maxRepairEntries
        self.maxCausalHistoryBytes = maxCausalHistoryBytes
        self.maxPendingRepairs = maxPendingRepairs
        self.maxIncomingBytes = maxIncomingBytes
        self.maxHistoryBytes = maxHistoryBytes
        self.maxRepairBytes = maxRepairBytes
    }
}

/// The SDS wire layout a manager writes (`libsds_wire_generation`). Every
/// manager reads both, so a network upgrades by reading both everywhere first
/// and switching writers to `.v04` afterwards.
public enum WireGeneration: UInt32, Hashable, Sendable {
    /// nim-sds 0.3's layout (the default: deployed networks speak it).
    case v03 = 0
    /// nim-sds 0.4's layout.
    case v04 = 1
}

/// SQLite durability (`libsds_durability`).
public enum Durability: UInt32, Hashable, Sendable {
    /// WAL + synchronous=NORMAL: survives a process crash.
    case normal = 0
    /// WAL + synchronous=FULL: also survives power loss.
    case full = 1
}

/// Where a manager keeps its state (`libsds_store_kind`).
public enum Storage: Hashable, Sendable {
    /// Memory only (nim-sds's behaviour).
    case memory
    /// The bundled SQLite store: `path` is created if missing (its directory
    /// must exist); `namespace` separates managers sharing one file (nil: the
    /// participant id). State survives close() and is restored on the next
    /// manager opened with the same path and namespace.
    case sqlite(path: String, namespace: String? = nil, durability: Durability = .normal)
}

// LIBSDS_CFG_* of include/sds.h, written out (see SdsError.Code for why).
private enum ConfigBit {
    static let bloomCapacity: UInt64 = 1 << 0
    static let bloomErrorRate: UInt64 = 1 << 1
    static let maxMessageHistory: UInt64 = 1 << 2
    static let maxCausalHistory: UInt64 = 1 << 3
    static let resendInterval: UInt64 = 1 << 4
    static let maxResendAttempts: UInt64 = 1 << 5
    static let syncInterval: UInt64 = 1 << 6
    static let bufferSweepInterval: UInt64 = 1 << 7
    static let repairTMin: UInt64 = 1 << 8
    static let repairTMax: UInt64 = 1 << 9
    static let numResponseGroups: UInt64 = 1 << 10
    static let maxRepairRequests: UInt64 = 1 << 11
    static let repairSweepInterval: UInt64 = 1 << 12
    static let maxChannels: UInt64 = 1 << 13
    static let maxIncomingBuffer: UInt64 = 1 << 14
    static let maxOutgoingBuffer: UInt64 = 1 << 15
    static let rerequestRepairs: UInt64 = 1 << 16
    static let wireGeneration: UInt64 = 1 << 17
    // Hostile-peer budgets.
    static let maxIDLength: UInt64 = 1 << 18
    static let maxChannelIDLength: UInt64 = 1 << 19
    static let maxHintLength: UInt64 = 1 << 20
    static let maxCausalEntries: UInt64 = 1 << 21
    static let maxRepairEntries: UInt64 = 1 << 22
    static let maxCausalHistoryBytes: UInt64 = 1 << 23
    static let maxPendingRepairs: UInt64 = 1 << 24
    static let maxIncomingBytes: UInt64 = 1 << 25
    static let maxHistoryBytes: UInt64 = 1 << 26
    static let maxRepairBytes: UInt64 = 1 << 27
}

extension Config {
    /// Writes the set fields and their `config_set` bits into `o`.
    func apply(to o: inout libsds_options) throws(SdsError) {
        var set: UInt64 = 0
        if let v = bloomCapacity { o.bloom_capacity = v; set |= ConfigBit.bloomCapacity }
        if let v = bloomErrorRate { o.bloom_error_rate = v; set |= ConfigBit.bloomErrorRate }
        if let v = maxMessageHistory { o.max_message_history = v; set |= ConfigBit.maxMessageHistory }
        if let v = maxCausalHistory { o.max_causal_history = v; set |= ConfigBit.maxCausalHistory }
        if let v = resendInterval {
            o.resend_interval_ms = try milliseconds(v, "resendInterval"); set |= ConfigBit.resendInterval
        }
        if let v = maxResendAttempts { o.max_resend_attempts = v; set |= ConfigBit.maxResendAttempts }
        if let v = syncInterval {
            o.sync_interval_ms = try milliseconds(v, "syncInterval"); set |= ConfigBit.syncInterval
        }
        if let v = bufferSweepInterval {
            o.buffer_sweep_interval_ms = try milliseconds(v, "bufferSweepInterval"); set |= ConfigBit.bufferSweepInterval
        }
        if let v = repairTMin {
            o.repair_t_min_ms = try milliseconds(v, "repairTMin"); set |= ConfigBit.repairTMin
        }
        if let v = repairTMax {
            o.repair_t_max_ms = try milliseconds(v, "repairTMax"); set |= ConfigBit.repairTMax
        }
        if let v = numResponseGroups { o.num_response_groups = v; set |= ConfigBit.numResponseGroups }
        if let v = maxRepairRequests { o.max_repair_requests = v; set |= ConfigBit.maxRepairRequests }
        if let v = repairSweepInterval {
            o.repair_sweep_interval_ms = try milliseconds(v, "repairSweepInterval"); set |= ConfigBit.repairSweepInterval
        }
        if let v = maxChannels { o.max_channels = v; set |= ConfigBit.maxChannels }
        if let v = maxIncomingBuffer { o.max_incoming_buffer = v; set |= ConfigBit.maxIncomingBuffer }
        if let v = maxOutgoingBuffer { o.max_outgoing_buffer = v; set |= ConfigBit.maxOutgoingBuffer }
        if let v = rerequestRepairs { o.rerequest_repairs = v ? 1 : 0; set |= ConfigBit.rerequestRepairs }
        if let v = wireGeneration { o.wire_generation = v.rawValue; set |= ConfigBit.wireGeneration }
        if let v = maxIDLength { o.max_id_length = v; set |= ConfigBit.maxIDLength }
        if let v = maxChannelIDLength { o.max_channel_id_length = v; set |= ConfigBit.maxChannelIDLength }
        if let v = maxHintLength { o.max_hint_length = v; set |= ConfigBit.maxHintLength }
        if let v = maxCausalEntries { o.max_causal_entries = v; set |= ConfigBit.maxCausalEntries }
        if let v = maxRepairEntries { o.max_repair_entries = v; set |= ConfigBit.maxRepairEntries }
        if let v = maxCausalHistoryBytes { o.max_causal_history_bytes = v; set |= ConfigBit.maxCausalHistoryBytes }
        if let v = maxPendingRepairs { o.max_pending_repairs = v; set |= ConfigBit.maxPendingRepairs }
        if let v = maxIncomingBytes { o.max_incoming_bytes = v; set |= ConfigBit.maxIncomingBytes }
        if let v = maxHistoryBytes { o.max_history_bytes = v; set |= ConfigBit.maxHistoryBytes }
        if let v = maxRepairBytes { o.max_repair_bytes = v; set |= ConfigBit.maxRepairBytes }
        o.config_set = set
    }
}

/// A duration as whole milliseconds, rounded to the nearest; a positive
/// duration under half a millisecond becomes 1 (0 would mean something else).
func milliseconds(_ d: Duration, _ name: String) throws(SdsError) -> Int64 {
    let (seconds, attoseconds) = d.components
    let ms = (Double(seconds) * 1000 + Double(attoseconds) / 1e15).rounded()
    // 9.2e18 < Int64.max (~9.223e18): keeps the conversion below from trapping.
    guard ms.magnitude < 9.2e18 else {
        throw SdsError.invalidArgument("Config.\(name) is out of range: \(d)")
    }
    if ms == 0 && d > .zero {
        return 1
    }
    return Int64(ms)
}
