package sqlite

import "bytes"

// entryKey identifies an entry of a channel: its buffer and message id.
type entryKey struct {
	kind int64
	id   string
}

// chanIndex is what the Store knows of one channel's rows: the seq of each
// entry and the seq the next new entry gets (above every seq the channel has
// had since the index was built).
type chanIndex struct {
	seqs map[entryKey]int64
	next int64
}

func newChanIndex() *chanIndex { return &chanIndex{seqs: make(map[entryKey]int64), next: 1} }

// hintCache remembers hints known to be stored: committed ones, and those
// written by the open transaction, which count only once it commits.
type hintCache struct {
	committed map[string][]byte
	pending   map[string][]byte
}

// maxCachedHints bounds the cache; past it the cache starts over.
const maxCachedHints = 4096

func (c *hintCache) has(id string, hint []byte) bool {
	if h, ok := c.pending[id]; ok {
		return bytes.Equal(h, hint)
	}
	h, ok := c.committed[id]
	return ok && bytes.Equal(h, hint)
}

func (c *hintCache) wrote(id string, hint []byte, inTx bool) {
	hint = bytes.Clone(hint)
	if inTx {
		if c.pending == nil {
			c.pending = make(map[string][]byte)
		}
		c.pending[id] = hint
		return
	}
	c.remember(id, hint)
}

func (c *hintCache) remember(id string, hint []byte) {
	if c.committed == nil || len(c.committed) >= maxCachedHints {
		c.committed = make(map[string][]byte)
	}
	c.committed[id] = hint
}

// forget drops what the cache knows of a hint the database no longer has. A
// rollback that brings the row back only costs a redundant write later.
func (c *hintCache) forget(id string) {
	delete(c.pending, id)
	delete(c.committed, id)
}

// forgetAll drops the whole cache.
func (c *hintCache) forgetAll() {
	clear(c.pending)
	clear(c.committed)
}

// commit keeps the transaction's hints; rollback forgets them.
func (c *hintCache) commit() {
	for id, h := range c.pending {
		c.remember(id, h)
	}
	clear(c.pending)
}

func (c *hintCache) rollback() { clear(c.pending) }
