package engine

import "fmt"

// MarkDependenciesMet tells the manager the application obtained the given
// messages by other means (for example through their retrieval hints), so
// messages waiting for them may be delivered (nim-sds markDependenciesMet).
// The ids join the channel's bloom filter but not its log. The channel must
// already exist, else ErrUnknownChannel.
func (m *Manager) MarkDependenciesMet(messageIDs []string, channelID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.start(); err != nil {
		return err
	}
	return m.finish(m.markDependenciesMet(messageIDs, channelID))
}

func (m *Manager) markDependenciesMet(ids []string, channelID string) error {
	for _, id := range ids {
		if err := m.cfg.checkID("message id", id); err != nil {
			return err // no message waits for it, and it must not enter the filter
		}
	}
	c, err := m.channelFor(channelID, false)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: %q", ErrUnknownChannel, channelID)
	}
	m.touch(c)
	var ready []*incomingMsg
	for _, id := range ids {
		if !c.bloom.Contains(id) {
			c.bloom.Add(id)
		}
		ready = append(ready, m.resolve(c, id)...)
		m.cancelRepairs(c, id)
	}
	m.release(c, ready)
	return nil
}
