// Package sds is a pure-Go Scalable Data Sync reliability manager with the API
// of sds-go-bindings (github.com/logos-messaging/sds-go-bindings, package sds,
// at the revision that speaks nim-sds's libsds.h), so that a Go program
// switches from nim-sds over cgo to this library by changing one import path:
//
//	import "github.com/logos-messaging/libsds-go/core/sds"
//
// and dropping the cgo flags that located libsds. There is no cgo here, and no
// shared library to load — a Go program must not load libsds.so, whatever
// language built it, and this package makes that unnecessary.
//
// The behaviour is the bindings' over nim-sds: the same wire bytes, the same
// results and errors, the same events in the same order, delivered one at a
// time, and, as with the bindings, a call returns once the handlers of the
// events it caused have run. Unlike with the bindings, the handlers run on the
// goroutine of a call waiting for them (the call that caused them, unless
// another call is delivering the manager's events already; the periodic
// tasks' events on a goroutine started for them), not on a thread of the
// library's own, and a handler may call the manager (even Cleanup; such a call
// returns at once and its events run after the handler; nim-sds deadlocks);
// StartPeriodicTasks is idempotent, and no handler runs after Cleanup returns. The queue of undelivered events is bounded
// (EventChanBufferSize). The bindings' OnEvent and OnCallbackError methods
// exist too, and a nil or zero-value ReliabilityManager answers every call
// with an error.
//
// Received messages may be in either nim-sds wire generation (0.3 or 0.4);
// Options.Config.WireGeneration chooses the one written (0.3 by default, as
// the bindings over nim-sds 0.3).
//
// Beyond the bindings, NewReliabilityManagerWithOptions takes a participant id
// (which enables SDS-R repair), a Config, a store (state that survives a
// restart: core/store/memstore, the SQLite store, or any store.Store) and a
// clock; and EventCallbacks has optional handlers for the events nim-sds does
// not report: give-ups told apart from acknowledgements, SDS-R rebroadcasts,
// dropped messages and store failures.
//
// The protocol itself is in package engine; this package queues its typed
// events, delivers them to the bindings' callbacks, and runs the periodic
// tasks of package scheduler.
package sds
