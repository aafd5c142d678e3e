import CSds

/// Tunables of a manager (the configuration part of `libsds_options`).
///
/// Every field is optional: `nil` keeps the library default (in brackets); a
/// set field is passed with its `LIBSDS_CFG_*` bit in `config_set`, so 0 can be
/// asked for where it means something (`maxCausalHistory: 0` sends no causal
/// history). Durations are sent as whole milliseconds, rounded to the nearest
/// (a positive duration under half a millisecond becomes 1 ms, never 0). The
/// library checks the ranges (`bloomErrorRate` in (0, 1), `repairTMax >=
/// repairTMin`, no negative interval, ...) and answers `.invalidArgument`
/// naming the field.
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
        wireGeneration: WireGeneration? = nil
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
