package wire

import (
	"bytes"
	"unsafe"
)

// HistoryEncoder encodes causal histories in the 0.3 layout for
// Message.EncodedHistory, keeping the last one it encoded. A sender's
// successive messages cite mostly the same entries (each cites the newest
// messages of its log, a window that moves by the message sent in between),
// so the run of entries found again, with the same ids and hint, is kept from
// the last encoding instead of being written again. The zero value is ready
// to use; it is not safe for concurrent use.
type HistoryEncoder struct {
	// The last history is entries[head:], encoded in buf from
	// entries[head].start to the end. What lies before it (a window that
	// moved on) is dropped once it is as long as the history, so that moving
	// costs no copy most of the time.
	buf     []byte
	entries []encodedEntry
	head    int
}

// encodedEntry is what Encode compares an entry with: its ids, and where its
// field and its hint lie in buf (the hint is read there, so that the encoder
// holds no reference to the caller's hints).
type encodedEntry struct {
	id, sender    string
	start, end    int // the entry's field
	hint, hintEnd int // the hint's bytes
}

// Encode returns es encoded as causal-history fields, the bytes
// Message.EncodedHistory takes: what the 0.3 encoder writes for a
// CausalHistory of es. They are valid until the next call.
func (h *HistoryEncoder) Encode(es []HistoryEntry) []byte {
	from, n := h.overlap(es)
	start := 0
	if n == 0 {
		clear(h.entries)
		h.buf, h.entries, h.head = h.buf[:0], h.entries[:0], 0
	} else {
		// Keep the run found again and forget the rest.
		last := h.head + from + n
		clear(h.entries[last:])
		h.entries, h.head = h.entries[:last], h.head+from
		h.buf = h.buf[:h.entries[last-1].end]
		if h.head >= n {
			h.compact()
		}
		start = h.entries[h.head].start
	}
	for i := n; i < len(es); i++ {
		h.add(&es[i])
	}
	return h.buf[start:]
}

// overlap finds the longest run of es's first entries that the last history
// holds in a row: es[:n] is entries[head+from:][:n]. The run starts at the
// entry of es[0]'s id, if there is one.
func (h *HistoryEncoder) overlap(es []HistoryEntry) (from, n int) {
	last := h.entries[h.head:]
	if len(es) == 0 {
		return 0, 0
	}
	for from < len(last) && !sameString(last[from].id, es[0].MessageID) {
		from++
	}
	run := last[from:]
	es = es[:min(len(es), len(run))]
	buf := h.buf
	for n = range es {
		c, e := &run[n], &es[n]
		if !sameString(c.id, e.MessageID) || !sameString(c.sender, e.SenderID) ||
			!bytes.Equal(buf[c.hint:c.hintEnd], e.RetrievalHint) {
			return from, n
		}
	}
	return from, len(es)
}

// sameString is a == b without a call when both are the same memory, as a
// sender's ids usually are from one history to the next.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// compact drops what lies before the last history.
func (h *HistoryEncoder) compact() {
	start := h.entries[h.head].start
	h.buf = h.buf[:copy(h.buf, h.buf[start:])]
	n := copy(h.entries, h.entries[h.head:])
	clear(h.entries[n:])
	h.entries, h.head = h.entries[:n], 0
	for i := range h.entries {
		e := &h.entries[i]
		e.start, e.end, e.hint, e.hintEnd = e.start-start, e.end-start, e.hint-start, e.hintEnd-start
	}
}

// add appends e's field to the history.
func (h *HistoryEncoder) add(e *HistoryEntry) {
	start := len(h.buf)
	h.buf = appendEntry(h.buf, fieldCausalHistory, e)
	end := len(h.buf)
	// The hint is the entry's second field, before the sender id if any.
	hintEnd := end
	if e.SenderID != "" {
		hintEnd -= tagSize + sizeBytes(len(e.SenderID))
	}
	h.entries = append(h.entries, encodedEntry{id: e.MessageID, sender: e.SenderID,
		start: start, end: end, hint: hintEnd - len(e.RetrievalHint), hintEnd: hintEnd})
}
