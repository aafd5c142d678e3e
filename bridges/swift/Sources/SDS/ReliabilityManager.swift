import CSds
import Foundation // NSLock only

/// Given the id of a message an outgoing message cites, returns that
/// message's retrieval hint (e.g. the transport's hash of it), or nil.
public typealias HintProvider = @Sendable (SdsID) -> [UInt8]?

/// An SDS reliability manager: one libsds handle (`libsds_handle`).
///
/// ```swift
/// let alice = try ReliabilityManager(participantID: "alice")
/// Task {
///     for await event in alice.events {          // ends when alice is closed
///         if event.kind == .messageReady { deliver(event.messageID) }
///     }
/// }
/// let wire = try alice.wrap(Array("hello".utf8), messageID: "m1", channelID: "room")
/// broadcast(wire)
/// let received = try alice.unwrap(incoming)      // for each message received
/// try alice.close()                              // or let deinit do it
/// ```
///
/// **Threads.** Every method may be called from any thread or task. The class
/// is `Sendable` through a lock that guards only the handle value (0 once
/// closed); it is never held across a libsds call. The library serializes the
/// calls on one manager itself, and a Swift lock held across them could
/// deadlock: the hint provider runs inside `wrap` with the library's lock held,
/// and a call it makes into the same manager must come back as
/// `.reentrant`, not hang. An actor was not chosen for the same reason, and
/// because every call is synchronous and short: an actor would make each one
/// `await` without making anything safer.
public final class ReliabilityManager: @unchecked Sendable {
    /// The manager's events, in order, copied out of the C structs.
    ///
    /// Iterate it from one task only (an `AsyncStream` has a single consumer).
    /// It finishes when the manager is closed; events not yet delivered then
    /// are discarded (to see everything a call caused first, run the sync
    /// task and read up to its `.periodicSync`: one manager's events arrive
    /// in order). Events are buffered until read, per the `eventBuffering`
    /// policy given at creation.
    public let events: AsyncStream<SdsEvent>

    /// The participant id given at creation (nil: SDS-R disabled).
    public let participantID: SdsID?

    private let lock = NSLock()
    private var handle: libsds_handle // guarded by lock; 0 once closed
    // The user_data of the C callbacks. Each is retained once more for the
    // library (passRetained) when installed, and released in close(), after
    // libsds_free has returned: then no callback of this manager runs any more.
    private let eventSink: EventSink
    private let hintSource: HintSource

    /// Creates a manager (`libsds_new`).
    ///
    /// - Parameters:
    ///   - participantID: this participant's id; nil or empty disables SDS-R (repair).
    ///   - config: tunables; nil fields keep the library defaults.
    ///   - storage: `.memory`, or `.sqlite(path:namespace:durability:)`.
    ///   - eventBuffering: how many unread events ``events`` keeps. The default
    ///     keeps all; a manager whose events are never read should pass
    ///     `.bufferingNewest(0)` so they do not pile up.
    ///   - hintProvider: see ``setHintProvider(_:)``.
    /// - Throws: `.invalidArgument` (a bad option; the message names it),
    ///   `.store` (the SQLite store could not be opened or loaded),
    ///   `.unsupported` (a library built without SQLite).
    public init(
        participantID: SdsID? = nil,
        config: Config = Config(),
        storage: Storage = .memory,
        eventBuffering: AsyncStream<SdsEvent>.Continuation.BufferingPolicy = .unbounded,
        hintProvider: HintProvider? = nil
    ) throws(SdsError) {
        let h = try newManagerHandle(participantID: participantID, config: config, storage: storage)
        let (stream, continuation) = AsyncStream.makeStream(of: SdsEvent.self, bufferingPolicy: eventBuffering)
        let sink = EventSink(continuation)
        let source = HintSource(hintProvider)
        let sinkData = Unmanaged.passRetained(sink).toOpaque()
        let sourceData = Unmanaged.passRetained(source).toOpaque()

        // Both trampolines are installed for the manager's whole life: the
        // library swaps handlers without waiting for a running callback, so
        // their user_data must outlive every install. setHintProvider swaps the
        // Swift closure inside `source` instead of calling C.
        var rc = libsds_set_event_handler(h, { event, userData in
            deliverEvent(event, userData)
        }, sinkData)
        if rc == 0 {
            rc = libsds_set_hint_provider(h, { messageID, buf, capacity, userData in
                provideHint(messageID, buf, capacity, userData)
            }, sourceData)
        }
        if rc != 0 {
            let error = SdsError(status: rc) // before any other libsds call
            _ = libsds_free(h)
            Unmanaged<EventSink>.fromOpaque(sinkData).release()
            Unmanaged<HintSource>.fromOpaque(sourceData).release()
            continuation.finish()
            throw error
        }

        self.handle = h
        self.participantID = participantID
        self.events = stream
        self.eventSink = sink
        self.hintSource = source
    }

    deinit {
        // Nothing else references self, so nothing can race this close. Its
        // error (a store that failed to close) has no one to go to.
        try? close()
    }

    // MARK: Lifetime

    /// True once ``close()`` has run.
    public var isClosed: Bool {
        locked { handle == 0 }
    }

    /// Stops the periodic tasks, discards the events not yet delivered, closes
    /// the store (its data stays on disk) and releases the manager
    /// (`libsds_free`); then finishes ``events``. No callback of this manager
    /// runs after it returns. Calling it again does nothing. Every other method
    /// throws `.closed` afterwards.
    ///
    /// - Throws: `.reentrant` if called from this manager's hint provider (the
    ///   manager stays open); `.store` if closing the store failed (the
    ///   manager is released anyway).
    public func close() throws(SdsError) {
        let h = locked { () -> libsds_handle in
            let current = handle
            handle = 0
            return current
        }
        guard h != 0 else { return }
        let rc = libsds_free(h)
        guard rc != 0 else {
            releaseCallbacks()
            return
        }
        let error = SdsError(status: rc)
        switch error.code {
        case .reentrant:
            locked { handle = h } // still open: called from our own hint provider
            throw error
        case .badHandle:
            releaseCallbacks() // already gone (cannot happen through this class)
        case .store:
            releaseCallbacks() // released anyway; report the store's failure
            throw error
        default:
            // The manager's state is unknown: keep the callback boxes alive
            // (a small leak) rather than risk a callback into freed memory.
            throw error
        }
    }

    private func releaseCallbacks() {
        eventSink.continuation.finish()
        hintSource.set(nil) // drops a provider that captured self: no cycle left
        Unmanaged.passUnretained(eventSink).release()
        Unmanaged.passUnretained(hintSource).release()
    }

    // MARK: Handlers

    /// Installs (or with nil removes) the retrieval-hint provider.
    ///
    /// It is called with the id of each message an outgoing message cites
    /// (synchronously, inside ``wrap(_:messageID:channelID:)`` or a periodic
    /// task, on that thread) and returns the message's retrieval hint or nil.
    /// It runs with the library's lock on this manager held: a call from it
    /// into the same manager throws `.reentrant`. A hint over 256 bytes is
    /// asked for once; the library's second, larger request is answered from
    /// the first answer. After ``close()`` this does nothing.
    public func setHintProvider(_ provider: HintProvider?) {
        if !isClosed {
            hintSource.set(provider)
        }
    }

    // MARK: Protocol

    /// Wraps an outgoing payload with SDS metadata (`libsds_wrap`); broadcast
    /// the result.
    ///
    /// - Parameters:
    ///   - content: 1 byte to 1 MiB.
    ///   - messageID: unique per message (may be empty; no NUL byte).
    ///   - channelID: non-empty, no NUL byte; the channel is created on first use.
    /// - Returns: the wire message.
    /// - Throws: `.invalidArgument`, `.tooLarge`, `.tooManyChannels`, `.store`, `.closed`.
    public func wrap(_ content: [UInt8], messageID: SdsID, channelID: SdsID) throws(SdsError) -> [UInt8] {
        let mid = try messageID.cString("messageID")
        let cid = try channelID.cString("channelID")
        var out = libsds_buffer()
        defer { libsds_buffer_free(&out) }
        try call { h in libsds_wrap(h, content, content.count, mid, cid, &out) }
        return copyBytes(out.data, out.len)
    }

    /// Processes a received wire message, up to 16 MiB (`libsds_unwrap`).
    ///
    /// Acknowledges our messages it confirms, handles repair requests, and
    /// delivers it (a `.messageReady` event, after those of any waiting
    /// messages it releases) or reports what it waits for
    /// (`missingDependencies`, and a `.missingDependencies` event).
    ///
    /// - Throws: `.decode`, `.tooLarge`, `.tooManyChannels`, `.store`, `.closed`.
    public func unwrap(_ data: [UInt8]) throws(SdsError) -> Unwrapped {
        var out: UnsafeMutablePointer<libsds_unwrapped>? = nil
        defer { libsds_unwrapped_free(out) }
        try call { h in libsds_unwrap(h, data, data.count, &out) }
        guard let result = out else {
            throw SdsError(code: .internal, message: "libsds_unwrap succeeded without a result")
        }
        return Unwrapped(copying: result.pointee)
    }

    /// Tells the manager the application obtained these messages itself (e.g.
    /// through their retrieval hints), so messages waiting for them can be
    /// delivered (`libsds_mark_dependencies_met`). Ids may hold any byte: pass
    /// `HistoryEntry.messageID`.
    ///
    /// - Throws: `.unknownChannel`, `.invalidArgument`, `.store`, `.closed`.
    public func markDependenciesMet(_ messageIDs: [SdsID], channelID: SdsID) throws(SdsError) {
        let cid = try channelID.cString("channelID")
        // Every id in one buffer, so that each libsds_str points into memory
        // that stays put for the whole call. Each is followed by a NUL, as
        // libsds_str promises (the library reads `len` bytes).
        var flat: [UInt8] = []
        var spans: [(offset: Int, count: Int)] = []
        for id in messageIDs {
            spans.append((offset: flat.count, count: id.bytes.count))
            flat.append(contentsOf: id.bytes)
            flat.append(0)
        }
        try call { h in
            flat.withUnsafeBufferPointer { buf -> Int32 in
                let strs = spans.map { span in
                    libsds_str(
                        data: UnsafeRawPointer(buf.baseAddress! + span.offset).assumingMemoryBound(to: CChar.self),
                        len: span.count
                    )
                }
                return libsds_mark_dependencies_met(h, strs, strs.count, cid)
            }
        }
    }

    /// Forgets every channel, in memory and in the store (`libsds_reset`).
    /// The hint provider, ``events`` and the periodic tasks are kept.
    public func reset() throws(SdsError) {
        try call { h in libsds_reset(h) }
    }

    /// Forgets one channel, in memory and in the store
    /// (`libsds_remove_channel`). An unknown channel is not an error.
    public func removeChannel(_ channelID: SdsID) throws(SdsError) {
        let cid = try channelID.cString("channelID")
        try call { h in libsds_remove_channel(h, cid) }
    }

    /// Starts the periodic tasks: buffer sweep, sync notification, repair
    /// sweep (`libsds_start`). Each runs once at once, then at its interval.
    /// Idempotent.
    public func start() throws(SdsError) {
        try call { h in libsds_start(h) }
    }

    /// Stops the periodic tasks and waits for a running one (`libsds_stop`).
    /// Idempotent.
    public func stop() throws(SdsError) {
        try call { h in libsds_stop(h) }
    }

    /// Runs the chosen periodic tasks once now, for hosts that drive their own
    /// timers (`libsds_run_tasks`).
    public func runTasks(_ tasks: Tasks = .all) throws(SdsError) {
        try call { h in libsds_run_tasks(h, tasks.rawValue) }
    }

    // MARK: Plumbing

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Runs one native call on the live handle and throws its status.
    private func call(_ body: (libsds_handle) -> Int32) throws(SdsError) {
        let h = locked { handle }
        if h == 0 {
            throw SdsError.closedManager
        }
        let rc = body(h)
        if rc != 0 {
            let error = SdsError(status: rc) // right after the call, same thread
            if error.code == .badHandle && isClosed {
                throw SdsError.closedManager // closed by another thread meanwhile
            }
            throw error
        }
    }
}

// MARK: - libsds_new

private func newManagerHandle(participantID: SdsID?, config: Config, storage: Storage) throws(SdsError) -> libsds_handle {
    var o = libsds_options()
    libsds_options_init(&o) // the defaults and the size, as LIBSDS_OPTIONS_INIT
    try config.apply(to: &o)

    var pid: [CChar]? = nil
    if let participantID {
        pid = try participantID.cString("participantID")
    }
    var path: [CChar]? = nil
    var namespace: [CChar]? = nil
    switch storage {
    case .memory:
        o.store_kind = 0 // LIBSDS_STORE_NONE
    case let .sqlite(sqlitePath, sqliteNamespace, durability):
        if sqlitePath.isEmpty {
            throw SdsError.invalidArgument("the SQLite path must not be empty")
        }
        path = try SdsID(sqlitePath).cString("the SQLite path")
        if let sqliteNamespace {
            namespace = try SdsID(sqliteNamespace).cString("the SQLite namespace")
        }
        o.store_kind = 2 // LIBSDS_STORE_SQLITE
        o.sqlite_durability = durability.rawValue
    }

    // The struct's string fields must stay valid across libsds_new, which
    // copies them: heap copies released when this function returns.
    let cPid = heapCString(pid)
    let cPath = heapCString(path)
    let cNamespace = heapCString(namespace)
    defer {
        cPid?.deallocate()
        cPath?.deallocate()
        cNamespace?.deallocate()
    }
    o.participant_id = UnsafePointer(cPid)
    o.sqlite_path = UnsafePointer(cPath)
    o.sqlite_namespace = UnsafePointer(cNamespace)

    var h: libsds_handle = 0
    try check(libsds_new(&o, &h))
    return h
}

// MARK: - Callbacks (C function pointers: no captures, state via user_data)

/// The events' user_data: the stream's continuation.
private final class EventSink: Sendable {
    let continuation: AsyncStream<SdsEvent>.Continuation

    init(_ continuation: AsyncStream<SdsEvent>.Continuation) {
        self.continuation = continuation
    }
}

/// Called on a library thread, serially for one manager. The event and all it
/// points to are valid only during the call, so everything is copied before
/// it is handed to the stream.
private func deliverEvent(_ event: UnsafePointer<libsds_event>?, _ userData: UnsafeMutableRawPointer?) {
    guard let event, let userData else { return }
    let sink = Unmanaged<EventSink>.fromOpaque(userData).takeUnretainedValue()
    sink.continuation.yield(SdsEvent(copying: event.pointee))
}

/// The hint provider's user_data: the current Swift provider, and the hint
/// too large for the library's first buffer, kept for its second request.
/// `@unchecked Sendable`: its mutable state is guarded by `lock`, which is
/// never held while the provider runs (the provider may call setHintProvider).
private final class HintSource: @unchecked Sendable {
    private let lock = NSLock()
    private var provider: HintProvider?
    private var pending: (id: [UInt8], hint: [UInt8])?

    init(_ provider: HintProvider?) {
        self.provider = provider
    }

    func set(_ provider: HintProvider?) {
        lock.lock()
        self.provider = provider
        pending = nil
        lock.unlock()
    }

    /// The hint for `id` ([] for none).
    func hint(for id: [UInt8], capacity: Int) -> [UInt8] {
        lock.lock()
        let provider = self.provider
        let pending = self.pending
        self.pending = nil
        lock.unlock()

        if let pending, pending.id == id {
            return pending.hint // the library's second request for this id
        }
        guard let provider, let hint = provider(SdsID(bytes: id)) else { return [] }
        if hint.count > capacity {
            lock.lock()
            self.pending = (id: id, hint: hint)
            lock.unlock()
        }
        return hint
    }
}

/// libsds_hint_provider: copies up to `capacity` bytes into `buf` and returns
/// the hint's full length (the library asks again with a buffer that large if
/// it exceeds `capacity`); 0 for no hint. Runs on the thread of the operation.
private func provideHint(
    _ messageID: libsds_str,
    _ buf: UnsafeMutablePointer<UInt8>?,
    _ capacity: Int,
    _ userData: UnsafeMutableRawPointer?
) -> Int64 {
    guard let userData else { return 0 }
    let source = Unmanaged<HintSource>.fromOpaque(userData).takeUnretainedValue()
    let hint = source.hint(for: copyBytes(of: messageID), capacity: capacity)
    if hint.isEmpty {
        return 0
    }
    if let buf, capacity > 0 {
        hint.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(buf).copyMemory(from: raw.baseAddress!, byteCount: min(hint.count, capacity))
        }
    }
    return Int64(hint.count)
}
