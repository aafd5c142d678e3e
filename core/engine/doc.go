// Package engine is the Scalable Data Sync protocol engine: the behaviour of
// nim-sds (commit 35a33ad) with its SDS-R repair extension, in pure Go, bounded,
// and safe to call from many goroutines.
//
// A Manager holds any number of channels. For each it keeps a lamport clock, a
// local log of delivered and own messages (FIFO-bounded), a rolling bloom filter
// of seen ids, the buffer of our unacknowledged messages, the buffer of received
// messages waiting for dependencies, and the two SDS-R repair buffers.
//
//   - Wrap stamps outgoing content with causal history, the channel's filter and
//     due repair requests, and returns the wire bytes to broadcast.
//   - Unwrap decodes a received message, acknowledges our messages it confirms,
//     schedules repairs, and delivers it — or buffers it until its dependencies
//     arrive (or MarkDependenciesMet says the application fetched them).
//   - SweepBuffers, SyncTick and SweepRepairs are the periodic work; package
//     scheduler runs them on timers, tests call them directly with a fake clock.
//
// Events (message ready, acknowledged, given up, missing dependencies, periodic
// sync, repair ready, …) go to the EventSink given at construction, in the order
// they happen; in one call, messages released from the dependency buffer are
// reported before the message that released them, as nim-sds does — or, with
// Config.CausalReadyOrder, after it (causal order, what an application that
// appends on MessageReady needs; Config.ReadyContent adds the content).
//
// # Compatibility
//
// Wire bytes, bloom filters, causal histories, lamport rules (seconds, +1 after
// max), ack review and SDS-R timing are nim-sds's, so Go and Nim peers interoperate.
// Unwrap reads both wire generations (nim-sds 0.3's and 0.4's, see package wire);
// Wrap and repair rebroadcasts write Config.WireGeneration's. A message without
// causal history is judged by the required fields of that generation.
// Where nim-sds's order depends on its hash-table layout — one arrival releasing
// several independent buffered messages — the engine releases them in arrival
// order. Deliberate differences, all for safety or memory: malformed remote
// filters count as no filter (nim-sds crashes), lamport saturates at MaxInt64,
// unwrap input is limited to MaxWireSize, channels and buffers are bounded (see
// Config), history keeps each message without its bloom filter and repair
// requests (so a repair rebroadcast carries neither), a message held in the
// dependency buffer is not asked for by SDS-R, a message delivered
// directly also leaves the dependency buffer if an older copy of it waited
// there, and with RerequestRepairs a repeated repair request keeps the pending
// response's time.
//
// # Persistence
//
// Every state change calls the matching store.Store method right after the
// in-memory change (PROTOCOL.md §2.10). With a store.Transactional store each
// operation is one transaction; if any write fails the transaction is rolled
// back, the operation returns ErrStore, its events are discarded and the
// channel's memory is dropped and reloaded from the store on next use — memory
// never runs ahead of disk. A store without transactions has failures reported
// as StoreFailed events while memory goes on. A manager built on a store that
// holds state restores it: channels load on first use; a store.ChannelLister
// makes every stored channel known at construction (loaded then, or, if the
// store is also a store.DueIndex, lazily: when a sweep finds its timers due or
// on first use). A channel whose stored state has a bad record is quarantined
// (ErrChannelQuarantined), not the manager. After any operation a restart
// reproduces memory exactly.
//
// # Concurrency
//
// All methods are safe for concurrent use; calls on one manager are serialized.
// The hint provider, the store and the event sink run while the manager's lock is
// held and must not call back into the same manager.
package engine
