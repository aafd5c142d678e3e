package sds

import (
	"bytes"
	"encoding/json"

	"go.uber.org/zap"

	"github.com/logos-messaging/libsds-go/core/engine"
)

var noCallbacks EventCallbacks

// deliver calls the handlers of one batch, one event at a time, reading the
// registered handlers afresh for each.
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

// nimEvent is the JSON of a nim-sds event, as sds-go-bindings decodes it.
type nimEvent struct {
	EventType   string         `json:"eventType"`
	MessageID   MessageID      `json:"messageId"`
	ChannelID   string         `json:"channelId"`
	MissingDeps []HistoryEntry `json:"missingDeps"`
}

// OnEvent hands the registered handlers one event in nim-sds's JSON
// (message_ready, message_sent, missing_dependencies, periodic_sync), on the
// caller's goroutine, as sds-go-bindings' method of the same name does with
// the events nim-sds sends it. The manager's own events never go through it;
// it exists for code that feeds the bindings recorded or relayed events. A
// malformed event is logged and dropped; other event types are ignored.
func (rm *ReliabilityManager) OnEvent(eventStr string) {
	if !rm.usable() {
		return
	}
	var e nimEvent
	if err := json.Unmarshal([]byte(eventStr), &e); err != nil {
		rm.logger.Error("failed to unmarshal sds event string", zap.Error(err))
		return
	}
	cbs := rm.callbacks.Load()
	if cbs == nil {
		return
	}
	switch e.EventType {
	case "message_ready":
		if cbs.OnMessageReady != nil {
			cbs.OnMessageReady(e.MessageID, e.ChannelID)
		}
	case "message_sent":
		if cbs.OnMessageSent != nil {
			cbs.OnMessageSent(e.MessageID, e.ChannelID)
		}
	case "missing_dependencies":
		if cbs.OnMissingDependencies != nil {
			deps := e.MissingDeps
			if deps == nil {
				deps = []HistoryEntry{}
			}
			cbs.OnMissingDependencies(e.MessageID, deps, e.ChannelID)
		}
	case "periodic_sync":
		if cbs.OnPeriodicSync != nil {
			cbs.OnPeriodicSync()
		}
	}
}

// OnCallbackError logs a failed nim-sds callback (its return code and
// message) at error level, as sds-go-bindings' method of the same name does.
// This library reports failures as returned errors, so it never calls it.
func (rm *ReliabilityManager) OnCallbackError(callerRet int, err string) {
	if !rm.usable() {
		return
	}
	rm.logger.Error("sds callback error", zap.Int("retCode", callerRet), zap.String("errMsg", err))
}
