package engine

import (
	"bytes"
	"sort"
	"time"

	"github.com/logos-messaging/libsds-go/core/wire"
)

// ChannelState is a copy of one channel's protocol state, for tests, tools and
// diagnostics. Lists are in the engine's order (log and buffers oldest first,
// repair entries by due time).
type ChannelState struct {
	ID              string
	Lamport         int64
	Log             []string // message ids, oldest first
	Outgoing        []OutgoingState
	Incoming        []IncomingState
	OutgoingRepairs []RepairState
	IncomingRepairs []RepairState
	// BloomIDs are the ids backing the rolling bloom filter, oldest first.
	BloomIDs []string
}

// OutgoingState is an unacknowledged message.
type OutgoingState struct {
	ID             string
	SendTime       time.Time
	ResendAttempts int
}

// IncomingState is a message waiting for dependencies.
type IncomingState struct {
	ID      string
	Missing []string // in citation order
}

// RepairState is a pending SDS-R request (ours) or response (for another
// participant). Message is set for responses.
type RepairState struct {
	Entry   wire.HistoryEntry
	Due     time.Time
	Message []byte
}

// ChannelState returns a copy of the channel's state, loading it from the store
// if needed; ok is false if the manager does not have the channel.
func (m *Manager) ChannelState(channelID string) (state ChannelState, ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return state, false, ErrClosed
	}
	c, err := m.channelFor(channelID, false)
	if err != nil || c == nil {
		return state, false, err
	}
	state = ChannelState{ID: c.id, Lamport: c.lamport}
	c.log.All(func(id string, _ logEntry) bool {
		state.Log = append(state.Log, id)
		return true
	})
	for _, o := range c.outgoing {
		state.Outgoing = append(state.Outgoing, OutgoingState{ID: o.id, SendTime: o.sendTime, ResendAttempts: o.attempts})
	}
	c.incoming.All(func(id string, in *incomingMsg) bool {
		missing := []string{}
		for _, d := range in.stillMissing() {
			missing = append(missing, d.MessageID)
		}
		state.Incoming = append(state.Incoming, IncomingState{ID: id, Missing: missing})
		return true
	})
	c.outRepairs.All(func(_ string, due time.Time, e wire.HistoryEntry) bool {
		state.OutgoingRepairs = append(state.OutgoingRepairs, RepairState{Entry: cloneEntry(e), Due: due})
		return true
	})
	c.inRepairs.All(func(_ string, due time.Time, r inRepair) bool {
		state.IncomingRepairs = append(state.IncomingRepairs,
			RepairState{Entry: cloneEntry(r.entry), Due: due, Message: bytes.Clone(r.message)})
		return true
	})
	for _, rs := range [][]RepairState{state.OutgoingRepairs, state.IncomingRepairs} {
		sort.Slice(rs, func(i, j int) bool {
			if !rs[i].Due.Equal(rs[j].Due) {
				return rs[i].Due.Before(rs[j].Due)
			}
			return rs[i].Entry.MessageID < rs[j].Entry.MessageID
		})
	}
	state.BloomIDs = c.bloom.Messages() // a new slice
	return state, true, nil
}

// BloomContains reports whether the channel's bloom filter contains id (false
// for an unknown channel).
func (m *Manager) BloomContains(channelID, id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.channels[channelID]; ok {
		return c.bloom.Contains(id)
	}
	return false
}
