import Foundation
import SDS
import Testing

// MARK: - Helpers

private func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A thread-safe list, for what a callback saw.
private final class Recorder<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []

    func add(_ item: T) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [T] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

/// Every event of a stream until it finishes. Consumes the stream.
private func drain(_ events: AsyncStream<SdsEvent>) async -> [SdsEvent] {
    var out: [SdsEvent] = []
    for await event in events {
        out.append(event)
    }
    return out
}

/// The events of `manager` queued so far, in order, or nil after `timeout`.
/// A fence: it runs the sync task, whose periodic_sync event comes after
/// every event already queued (one manager's events are delivered in order),
/// and collects events until that one, which it leaves out. Consumes events.
private func eventsSoFar(
    of manager: ReliabilityManager,
    timeout: Duration = .seconds(5)
) async throws -> [SdsEvent]? {
    try manager.runTasks(.sync)
    return await withTaskGroup(of: [SdsEvent]?.self) { group in
        group.addTask {
            var out: [SdsEvent] = []
            for await event in manager.events {
                if event.kind == SdsEvent.Kind.periodicSync {
                    return out
                }
                out.append(event)
            }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        var found: [SdsEvent]? = nil
        if let first = await group.next() {
            found = first // nil if the timeout came first
        }
        group.cancelAll()
        return found
    }
}

/// The first event that matches, or nil after `timeout`. Consumes the stream.
private func firstEvent(
    in events: AsyncStream<SdsEvent>,
    timeout: Duration = .seconds(5),
    where matches: @escaping @Sendable (SdsEvent) -> Bool
) async -> SdsEvent? {
    await withTaskGroup(of: SdsEvent?.self) { group in
        group.addTask {
            for await event in events where matches(event) {
                return event
            }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        var found: SdsEvent? = nil
        if let first = await group.next() {
            found = first // nil if the timeout came first
        }
        group.cancelAll()
        return found
    }
}

/// Runs `body` and checks that it throws an SdsError with `code`.
private func expectError(_ code: SdsError.Code, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(code), got no error")
    } catch let error as SdsError {
        #expect(error.code == code, "\(error)")
    } catch {
        Issue.record("expected SdsError \(code), got \(error)")
    }
}

// MARK: - Tests

@Test func roundTripBetweenTwoManagers() throws {
    let alice = try ReliabilityManager(participantID: "alice", eventBuffering: .bufferingNewest(0))
    let bob = try ReliabilityManager(participantID: "bob", eventBuffering: .bufferingNewest(0))
    defer {
        try? alice.close()
        try? bob.close()
    }

    let wire = try alice.wrap(utf8("hello bob"), messageID: "a1", channelID: "room")
    #expect(wire.count > "hello bob".utf8.count)
    let received = try bob.unwrap(wire)
    #expect(received.content == utf8("hello bob"))
    #expect(received.channelID == SdsID("room"))
    #expect(received.channelID.string == "room")
    #expect(received.missingDependencies.isEmpty)

    // A duplicate gives its content again.
    #expect(try bob.unwrap(wire).content == utf8("hello bob"))

    // And back: the reply reaches alice.
    let reply = try bob.wrap(utf8("hi alice"), messageID: "b1", channelID: "room")
    #expect(try alice.unwrap(reply).content == utf8("hi alice"))
}

@Test func eventsArrive() async throws {
    let alice = try ReliabilityManager(participantID: "alice")
    let bob = try ReliabilityManager(participantID: "bob")
    defer { try? bob.close() }

    let a1 = try alice.wrap(utf8("one"), messageID: "a1", channelID: "room")
    _ = try bob.unwrap(a1)
    // Live, from a library thread into the stream.
    let ready = await firstEvent(in: bob.events) { $0.kind == SdsEvent.Kind.messageReady }
    let event = try #require(ready)
    #expect(event.messageID == SdsID("a1"))
    #expect(event.channelID == SdsID("room"))
    #expect(event.missingDependencies.isEmpty)
    #expect(event.message == nil)
    #expect(event.error == nil)
    #expect(event.content == utf8("one"))

    // bob's reply acknowledges a1 to alice, then is delivered to her.
    let b1 = try bob.wrap(utf8("two"), messageID: "b1", channelID: "room")
    _ = try alice.unwrap(b1)
    defer { try? alice.close() }
    let events = try #require(try await eventsSoFar(of: alice))
    let kinds = events.map { $0.kind }
    let expectedKinds: [SdsEvent.Kind] = [.messageAcknowledged, .messageReady]
    #expect(kinds == expectedKinds)
    let ids = events.map { $0.messageID }
    #expect(ids == [SdsID("a1"), SdsID("b1")])
}

@Test func readyInCausalOrderWithContent() async throws {
    // The chat case: bob receives a reply before its question.
    let alice = try ReliabilityManager(participantID: "alice", eventBuffering: .bufferingNewest(0))
    defer { try? alice.close() }
    let bob = try ReliabilityManager(participantID: "bob")
    let q = try alice.wrap(utf8("lunch?"), messageID: "q", channelID: "chat")
    let r = try alice.wrap(utf8("at noon"), messageID: "r", channelID: "chat")
    let waiting = try bob.unwrap(r)
    #expect(waiting.messageID == SdsID("r"))
    #expect(waiting.missingDependencies.map { $0.messageID } == [SdsID("q")])
    #expect(try bob.unwrap(q).messageID == SdsID("q"))
    defer { try? bob.close() }
    let ready = try #require(try await eventsSoFar(of: bob)).filter { $0.kind == SdsEvent.Kind.messageReady }
    #expect(ready.map { $0.messageID } == [SdsID("q"), SdsID("r")])
    #expect(ready.map { $0.content } == [utf8("lunch?"), utf8("at noon")])
}

@Test func periodicSyncEvent() async throws {
    let m = try ReliabilityManager()
    defer { try? m.close() }
    try m.runTasks(.sync)
    try m.runTasks([.bufferSweep, .repairSweep]) // nothing to report
    let first = await firstEvent(in: m.events) { _ in true }
    #expect(first?.kind == SdsEvent.Kind.periodicSync)
    #expect(first?.channelID.isEmpty == true)
    // nothing between it and the fence's own periodic_sync: the sweeps were quiet
    #expect(try await eventsSoFar(of: m) == [])
}

@Test func missingDependenciesHintsAndMarkMet() async throws {
    // 300 bytes: over the library's first 256-byte buffer, so it asks twice;
    // the bridge answers the second request without calling the provider.
    let bigHint = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
    let asked = Recorder<SdsID>()
    let alice = try ReliabilityManager(
        participantID: "alice",
        eventBuffering: .bufferingNewest(0),
        hintProvider: { id in
            asked.add(id)
            return bigHint
        }
    )
    let bob = try ReliabilityManager(participantID: "bob")
    defer { try? alice.close() }

    _ = try alice.wrap(utf8("one"), messageID: "m1", channelID: "chain")
    #expect(asked.all.isEmpty) // nothing to cite yet
    let m2 = try alice.wrap(utf8("two"), messageID: "m2", channelID: "chain")
    #expect(asked.all == [SdsID("m1")])

    let waiting = try bob.unwrap(m2)
    #expect(waiting.content == utf8("two"))
    #expect(waiting.messageID == SdsID("m2"))
    let dep = try #require(waiting.missingDependencies.first)
    #expect(waiting.missingDependencies.count == 1)
    #expect(dep.messageID == SdsID("m1"))
    #expect(dep.retrievalHint == bigHint)
    #expect(dep.senderID == SdsID("alice"))

    // The application fetched m1 itself: m2 is released.
    try bob.markDependenciesMet([dep.messageID], channelID: "chain")
    try bob.markDependenciesMet([], channelID: "chain") // an empty list is fine
    defer { try? bob.close() }
    let events = try #require(try await eventsSoFar(of: bob))
    let kinds = events.map { $0.kind }
    let expectedKinds: [SdsEvent.Kind] = [.missingDependencies, .messageReady]
    #expect(kinds == expectedKinds)
    #expect(events.first?.missingDependencies.first?.retrievalHint == bigHint)
    #expect(events.last?.messageID == SdsID("m2"))
    #expect(events.last?.content == utf8("two")) // the content of the message that waited
}

@Test func configIsApplied() throws {
    // No causal history: m2 cites nothing, so it waits for nothing.
    let alice = try ReliabilityManager(
        config: Config(maxCausalHistory: 0, syncInterval: .milliseconds(5), rerequestRepairs: true),
        eventBuffering: .bufferingNewest(0)
    )
    let bob = try ReliabilityManager(eventBuffering: .bufferingNewest(0))
    _ = try alice.wrap(utf8("one"), messageID: "m1", channelID: "c")
    let m2 = try alice.wrap(utf8("two"), messageID: "m2", channelID: "c")
    #expect(try bob.unwrap(m2).missingDependencies.isEmpty)

    // The library checks the ranges and names the field.
    expectError(.invalidArgument) { _ = try ReliabilityManager(config: Config(bloomErrorRate: 2)) }
    expectError(.invalidArgument) {
        _ = try ReliabilityManager(config: Config(repairTMin: .seconds(10), repairTMax: .seconds(1)))
    }
}

@Test func wireGenerationChoosesWhatWrapWrites() throws {
    let new = try ReliabilityManager(participantID: "alice", config: Config(wireGeneration: .v04),
                                     eventBuffering: .bufferingNewest(0))
    let old = try ReliabilityManager(participantID: "bob", eventBuffering: .bufferingNewest(0))
    let n1 = try new.wrap(utf8("1"), messageID: "n1", channelID: "c")
    let n2 = try new.wrap(utf8("2"), messageID: "n2", channelID: "c")
    // 0.4 cites the plain id: 1a 02 "n1"
    let cite: [UInt8] = [0x1a, 0x02, 0x6e, 0x31]
    #expect((0...(n2.count - cite.count)).contains { Array(n2[$0..<$0 + cite.count]) == cite })
    // each generation reads the other, with no bogus dependency
    _ = try old.unwrap(n1)
    #expect(try old.unwrap(n2).missingDependencies.isEmpty)
    let o1 = try old.wrap(utf8("1"), messageID: "o1", channelID: "c")
    let o2 = try old.wrap(utf8("2"), messageID: "o2", channelID: "c")
    _ = try new.unwrap(o1)
    #expect(try new.unwrap(o2).missingDependencies.isEmpty)
}

@Test func errorsAreTyped() throws {
    let m = try ReliabilityManager(eventBuffering: .bufferingNewest(0))
    defer { try? m.close() }

    // A compile-time check: wrap throws exactly SdsError.
    let typed = { () throws(SdsError) -> [UInt8] in
        try m.wrap(utf8("x"), messageID: "t", channelID: "typed")
    }
    let wrapped = try typed()
    #expect(!wrapped.isEmpty)

    expectError(.decode) { _ = try m.unwrap([1, 2, 3]) }
    expectError(.invalidArgument) { _ = try m.wrap([], messageID: "e", channelID: "c") }
    expectError(.invalidArgument) { _ = try m.wrap(utf8("x"), messageID: "e", channelID: "") }
    // NUL bytes cannot cross a NUL-terminated parameter: refused by the bridge.
    expectError(.invalidArgument) { _ = try m.wrap(utf8("x"), messageID: SdsID(bytes: [0x61, 0, 0x62]), channelID: "c") }
    expectError(.tooLarge) { _ = try m.wrap([UInt8](repeating: 7, count: (1 << 20) + 1), messageID: "big", channelID: "c") }
    expectError(.unknownChannel) { try m.markDependenciesMet([SdsID("x")], channelID: "nowhere") }

    do {
        _ = try m.unwrap([0xff])
        Issue.record("expected an error")
    } catch let error as SdsError {
        #expect(error.code == SdsError.Code.decode)
        #expect(!error.message.isEmpty) // libsds_last_error()
        #expect(error.code.description.hasPrefix("LIBSDS_ERR_DECODE"))
    }
}

@Test func closeIsIdempotent() async throws {
    let m = try ReliabilityManager(participantID: "p")
    #expect(!m.isClosed)
    try m.close()
    try m.close()
    #expect(m.isClosed)
    expectError(.closed) { _ = try m.wrap(utf8("x"), messageID: "m", channelID: "c") }
    expectError(.closed) { try m.start() }
    m.setHintProvider(nil) // harmless after close
    let events = await drain(m.events) // finished by close
    #expect(events.isEmpty)
}

@Test func closeFromTheHintProviderIsRefused() throws {
    let m = try ReliabilityManager(eventBuffering: .bufferingNewest(0))
    let codes = Recorder<SdsError.Code>()
    m.setHintProvider { [weak m] _ in
        do {
            try m?.close()
        } catch let error as SdsError {
            codes.add(error.code)
        } catch {}
        return nil
    }
    _ = try m.wrap(utf8("one"), messageID: "m1", channelID: "c")
    _ = try m.wrap(utf8("two"), messageID: "m2", channelID: "c") // cites m1: asks the provider
    #expect(codes.all == [SdsError.Code.reentrant])
    #expect(!m.isClosed)
    try m.close()
    #expect(m.isClosed)
}

@Test func startAndStop() throws {
    let m = try ReliabilityManager(eventBuffering: .bufferingNewest(0))
    try m.start()
    try m.start() // idempotent
    try m.stop()
    try m.stop()
    try m.reset()
    try m.removeChannel("never-used")
    try m.close()
}

@Test func sqliteStateSurvivesReopen() async throws {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("sds-swift-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let storage = Storage.sqlite(path: dir.appendingPathComponent("state.db").path, durability: .full)

    let alice = try ReliabilityManager(participantID: "alice", eventBuffering: .bufferingNewest(0))
    let m1 = try alice.wrap(utf8("first"), messageID: "m1", channelID: "room")
    let m2 = try alice.wrap(utf8("second"), messageID: "m2", channelID: "room")

    let bob: ReliabilityManager
    do {
        bob = try ReliabilityManager(participantID: "bob", storage: storage, eventBuffering: .bufferingNewest(0))
    } catch let error as SdsError where error.code == .unsupported {
        return // a libsds built without SQLite
    }
    #expect(try bob.unwrap(m2).missingDependencies.count == 1) // m2 waits for m1
    try bob.close()

    let bob2 = try ReliabilityManager(participantID: "bob", storage: storage)
    #expect(try bob2.unwrap(m1).missingDependencies.isEmpty)
    defer { try? bob2.close() }
    let events = try #require(try await eventsSoFar(of: bob2))
    // m2 was waiting before the restart; m1 releases it: causal order, with
    // m2's content from the store.
    let ids = events.map { $0.messageID }
    #expect(ids == [SdsID("m1"), SdsID("m2")])
    #expect(events.map { $0.content } == [utf8("first"), utf8("second")])
}

@Test func libraryVersion() {
    #expect(SdsLibrary.abiVersion == 0)
    #expect(SdsLibrary.versionNumber >= 100) // 0.1.0
    #expect(!SdsLibrary.version.isEmpty)
}
