package engine

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// SweepBuffers runs the buffer sweep once over every channel (nim-sds
// periodicBufferSweep): overdue unacknowledged messages count a resend attempt
// or, after the last one, are given up (MessageGivenUp). Each channel is one
// operation; the errors of failed channels are joined.
func (m *Manager) SweepBuffers() error {
	return m.eachChannel(m.sweepOutgoing)
}

// SyncTick fires one PeriodicSync event: the application's cue to send a
// message so peers learn what it has seen (nim-sds builds no sync message).
func (m *Manager) SyncTick() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return err
	}
	m.emit(Event{Kind: PeriodicSync})
	return m.finish(nil)
}

// SweepRepairs runs the SDS-R repair sweep once over every channel: due repair
// responses fire RepairReady with the message to rebroadcast, and repair
// requests more than RepairTMax past their time are dropped.
func (m *Manager) SweepRepairs() error {
	return m.eachChannel(m.sweepRepairs)
}

// loadDue loads the stored channels a sweep has work on now; the caller holds mu.
func (m *Manager) loadDue() error {
	if m.due == nil {
		return m.reloadStale()
	}
	if len(m.stale) == 0 {
		return nil
	}
	ids, err := m.due.ChannelsDue(m.clock.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("%w: listing due channels: %v", ErrStore, err)
	}
	for _, id := range ids {
		if _, ok := m.stale[id]; !ok {
			continue
		}
		if _, err := m.channelFor(id, false); err != nil && !errors.Is(err, ErrChannelQuarantined) {
			return err
		}
	}
	return nil
}

func (m *Manager) sweepRepairs(c *channel) {
	now := m.clock.Now()
	for {
		id, due, r, ok := c.inRepairs.Peek()
		if !ok || now.Before(due) {
			break
		}
		m.touch(c)
		c.deleteInRepair(id)
		if m.persist() {
			m.check("removeIncomingRepair", c.id, m.store.RemoveIncomingRepair(c.id, id))
		}
		m.emit(Event{Kind: RepairReady, ChannelID: c.id, Message: m.sendForm(r.message)})
	}
	for {
		id, due, _, ok := c.outRepairs.Peek()
		if !ok || now.Sub(due) <= m.cfg.RepairTMax {
			break
		}
		m.touch(c)
		c.outRepairs.Delete(id)
		if m.persist() {
			m.check("removeOutgoingRepair", c.id, m.store.RemoveOutgoingRepair(c.id, id))
		}
	}
	if m.cfg.RerequestRepairs && m.participantID != "" {
		m.rerequest(c, now)
	}
}

// rerequest schedules a repair request for every message that buffered messages
// still wait for and that has no request pending, in arrival order.
func (m *Manager) rerequest(c *channel, now time.Time) {
	c.incoming.All(func(_ string, in *incomingMsg) bool {
		for _, dep := range in.deps {
			if _, missing := in.missing[dep.MessageID]; missing && !c.outRepairs.Has(dep.MessageID) {
				m.touch(c)
				m.requestRepair(c, dep, now)
			}
		}
		return true
	})
	m.enforceRepairBounds(c)
}

// eachChannel runs f as one operation per channel in memory, in id order,
// loading first the stored channels whose timers are due (all of them without
// a store.DueIndex), so that the timers of channels that see no traffic run.
func (m *Manager) eachChannel(f func(*channel)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	var errs []error
	if err := m.loadDue(); err != nil {
		errs = append(errs, err)
	}
	ids := make([]string, 0, len(m.channels))
	for id := range m.channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c, ok := m.channels[id]
		if !ok {
			continue
		}
		_ = m.start()
		if m.due != nil && c.dueMs < 0 {
			m.touch(c) // its due time is not known yet: record it with this sweep
		}
		f(c)
		if err := m.finish(nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
