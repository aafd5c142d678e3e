package sds

import (
	"bytes"

	"go.uber.org/zap"

	"github.com/logos-messaging/libsds-go/core/engine"
)

var noCallbacks EventCallbacks

// post is the engine's event sink. It runs with the engine's lock held, so it
// only queues the batch for the dispatcher goroutine. After Cleanup the queue
// refuses it and the events are dropped.
func (rm *ReliabilityManager) post(events []engine.Event) {
	rm.queue.Post(func() { rm.deliver(events) })
}

// deliver runs on the dispatcher goroutine and calls the handlers, one event
// at a time, reading the registered handlers afresh for each.
func (rm *ReliabilityManager) deliver(events []engine.Event) {
	for _, e := range events {
		if rm.stopDelivery.Load() {
			return // Cleanup was called from a handler
		}
		cbs := rm.callbacks.Load()
		if cbs == nil {
			cbs = &noCallbacks
		}
		id, ch := MessageID(e.MessageID), e.ChannelID
		switch e.Kind {
		case engine.MessageReady:
			if cbs.OnMessageReady != nil {
				cbs.OnMessageReady(id, ch)
			}
		case engine.MessageAcknowledged:
			if cbs.OnMessageSent != nil {
				cbs.OnMessageSent(id, ch)
			}
		case engine.MessageGivenUp:
			// nim-sds reports a give-up as message_sent.
			if cbs.OnMessageGivenUp != nil {
				cbs.OnMessageGivenUp(id, ch)
			} else if cbs.OnMessageSent != nil {
				cbs.OnMessageSent(id, ch)
			}
		case engine.MissingDependencies:
			if cbs.OnMissingDependencies != nil {
				cbs.OnMissingDependencies(id, historyEntries(e.MissingDeps), ch)
			}
		case engine.PeriodicSync:
			if cbs.OnPeriodicSync != nil {
				cbs.OnPeriodicSync()
			}
		case engine.RepairReady:
			if cbs.OnRepairReady != nil {
				cbs.OnRepairReady(bytes.Clone(e.Message), ch)
			}
		case engine.IncomingDropped:
			if cbs.OnIncomingDropped != nil {
				cbs.OnIncomingDropped(id, ch)
			}
		case engine.RepairDropped:
			if cbs.OnRepairDropped != nil {
				cbs.OnRepairDropped(id, ch)
			}
		case engine.StoreFailed:
			rm.logger.Warn("sds store failed; memory went on without it",
				zap.String("channelId", ch), zap.Error(e.Err))
			if cbs.OnStoreFailed != nil {
				cbs.OnStoreFailed(ch, e.Err)
			}
		}
	}
}
