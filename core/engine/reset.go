package engine

// Reset forgets every channel, in memory and in the store (one DropChannel per
// channel, as nim-sds resetReliabilityManager). The hint provider, the event
// sink and any running scheduler are kept.
func (m *Manager) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return err
	}
	for _, id := range m.channelIDs() {
		m.op.touched = append(m.op.touched, id)
		if m.persist() {
			m.check("dropChannel", id, m.store.DropChannel(id))
		}
	}
	if m.op.failed == nil {
		clear(m.channels)
		clear(m.stale)
		clear(m.quarantined)
	}
	return m.finish(nil)
}

// RemoveChannel forgets one channel, in memory and in the store. Removing a
// channel the manager does not have is not an error.
func (m *Manager) RemoveChannel(channelID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return err
	}
	_, inMemory := m.channels[channelID]
	_, isStale := m.stale[channelID]
	_, isQuarantined := m.quarantined[channelID]
	if inMemory || isStale || isQuarantined {
		m.op.touched = append(m.op.touched, channelID)
		if m.persist() {
			m.check("dropChannel", channelID, m.store.DropChannel(channelID))
		}
		if m.op.failed == nil {
			delete(m.channels, channelID)
			delete(m.stale, channelID)
			delete(m.quarantined, channelID)
		}
	}
	return m.finish(nil)
}
