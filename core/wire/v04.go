package wire

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// fieldCausalMeta is 0.4's field 8: a HistoryEntry carrying the retrieval hint
// and sender id of a causal-history id listed in field 3.
const fieldCausalMeta protowire.Number = 8

// 0.4 decode errors.
var (
	errFieldNumberV04  = fmt.Errorf("%w: field number 0, reserved (19000-19999) or too large (0.4)", ErrMalformed)
	errEmptyIDV04      = fmt.Errorf("%w: message_id (1) missing or empty (0.4)", ErrMalformed)
	errEmptyChannelV04 = fmt.Errorf("%w: channel_id (4) missing or empty (0.4)", ErrMalformed)
	errEmptyCausalV04  = fmt.Errorf("%w: empty causal history id in field 3 (0.4)", ErrMalformed)
	errEmptyRepairV04  = fmt.Errorf("%w: repair request entry without message_id (0.4)", ErrMalformed)
)

// nextFieldV04 is nextField with nim-protobuf-serialization's extra refusals:
// field number 0, numbers of 2^29 and above, and the reserved 19000-19999.
func nextFieldV04(b []byte, i int) (field, int, error) {
	f, next, err := nextField(b, i)
	if err != nil {
		return f, 0, err
	}
	if f.num == 0 || f.num >= 1<<29 || (f.num >= 19000 && f.num <= 19999) {
		return f, 0, errFieldNumberV04
	}
	return f, next, nil
}

// sizeV04 is the length of e's 0.4 encoding: each field only if non-empty.
func (e *HistoryEntry) sizeV04() int {
	n := 0
	if e.MessageID != "" {
		n += tagSize + protowire.SizeBytes(len(e.MessageID))
	}
	if len(e.RetrievalHint) > 0 {
		n += tagSize + protowire.SizeBytes(len(e.RetrievalHint))
	}
	if e.SenderID != "" {
		n += tagSize + protowire.SizeBytes(len(e.SenderID))
	}
	return n
}

func (e *HistoryEntry) appendV04(b []byte) []byte {
	if e.MessageID != "" {
		b = protowire.AppendTag(b, entryFieldID, protowire.BytesType)
		b = protowire.AppendString(b, e.MessageID)
	}
	if len(e.RetrievalHint) > 0 {
		b = protowire.AppendTag(b, entryFieldHint, protowire.BytesType)
		b = protowire.AppendBytes(b, e.RetrievalHint)
	}
	if e.SenderID != "" {
		b = protowire.AppendTag(b, entryFieldSender, protowire.BytesType)
		b = protowire.AppendString(b, e.SenderID)
	}
	return b
}

// hasMeta reports whether a causal entry gets a field-8 entry in 0.4.
func (e *HistoryEntry) hasMeta() bool { return len(e.RetrievalHint) > 0 || e.SenderID != "" }

func (m *Message) sizeV04() int {
	n := tagSize + protowire.SizeVarint(uint64(m.Lamport))
	if m.MessageID != "" {
		n += tagSize + protowire.SizeBytes(len(m.MessageID))
	}
	for i := range m.CausalHistory {
		e := &m.CausalHistory[i]
		n += tagSize + protowire.SizeBytes(len(e.MessageID))
		if e.hasMeta() {
			n += tagSize + protowire.SizeBytes(e.sizeV04())
		}
	}
	for _, s := range [...]int{len(m.ChannelID), len(m.Content), m.filterSize(), len(m.SenderID)} {
		if s > 0 {
			n += tagSize + protowire.SizeBytes(s)
		}
	}
	for i := range m.RepairRequest {
		n += tagSize + protowire.SizeBytes(m.RepairRequest[i].sizeV04())
	}
	return n
}

// appendV04 writes m in nim-sds 0.4's field order (ABI-v0.4 §9.2). The caller
// has reserved the room.
func (m *Message) appendV04(b []byte) []byte {
	if m.MessageID != "" {
		b = protowire.AppendTag(b, fieldID, protowire.BytesType)
		b = protowire.AppendString(b, m.MessageID)
	}
	// Always written, even 0, as nim-sds 0.4 does.
	b = protowire.AppendTag(b, fieldLamport, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.Lamport))
	// Every id, even an empty one (which 0.4 receivers then refuse): nim-sds
	// writes it so, and byte identity matters more than the refusal.
	for i := range m.CausalHistory {
		b = protowire.AppendTag(b, fieldCausalHistory, protowire.BytesType)
		b = protowire.AppendString(b, m.CausalHistory[i].MessageID)
	}
	if m.ChannelID != "" {
		b = protowire.AppendTag(b, fieldChannelID, protowire.BytesType)
		b = protowire.AppendString(b, m.ChannelID)
	}
	if len(m.Content) > 0 {
		b = protowire.AppendTag(b, fieldContent, protowire.BytesType)
		b = protowire.AppendBytes(b, m.Content)
	}
	if n := m.filterSize(); n > 0 {
		b = protowire.AppendTag(b, fieldBloomFilter, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		if m.Filter != nil {
			b = m.Filter.AppendSerialized(b)
		} else {
			b = append(b, m.BloomFilter...)
		}
	}
	if m.SenderID != "" {
		b = protowire.AppendTag(b, fieldSenderID, protowire.BytesType)
		b = protowire.AppendString(b, m.SenderID)
	}
	for i := range m.CausalHistory {
		e := &m.CausalHistory[i]
		if !e.hasMeta() {
			continue
		}
		b = protowire.AppendTag(b, fieldCausalMeta, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(e.sizeV04()))
		b = e.appendV04(b)
	}
	for i := range m.RepairRequest {
		e := &m.RepairRequest[i]
		b = protowire.AppendTag(b, fieldRepairRequest, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(e.sizeV04()))
		b = e.appendV04(b)
	}
	return b
}

// SizeAs returns the exact length of m's encoding in generation g (V03 for
// anything else).
func (m *Message) SizeAs(g Generation) int {
	if g == V04 {
		return m.sizeV04()
	}
	return m.Size()
}

// AppendMarshalAs appends m's encoding in generation g to b, growing b at most
// once. The output is byte-identical to that nim-sds release's for the same
// message. A g other than V04 encodes V03.
func (m *Message) AppendMarshalAs(b []byte, g Generation) []byte {
	if g == V04 {
		b = slices.Grow(b, m.sizeV04())
		return m.appendV04(b)
	}
	return m.AppendMarshal(b)
}

// MarshalAs returns m's encoding in generation g in a new slice of exactly
// SizeAs(g) bytes.
func (m *Message) MarshalAs(g Generation) []byte {
	return m.AppendMarshalAs(make([]byte, 0, m.SizeAs(g)), g)
}

// checkEntryV04 validates a 0.4 HistoryEntry (every field optional, last
// occurrence wins, other fields and wire types skipped, structural errors
// fail) and reports whether its message id is non-empty.
func checkEntryV04(b []byte) (hasID bool, err error) {
	for i := 0; i < len(b); {
		f, next, err := nextFieldV04(b, i)
		if err != nil {
			return false, err
		}
		i = next
		if f.typ == protowire.BytesType && f.num == uint64(entryFieldID) {
			hasID = len(f.data) > 0
		}
	}
	return hasID, nil
}

// rawEntry is a parsed 0.4 HistoryEntry whose fields still alias the input.
type rawEntry struct{ id, hint, sender []byte }

// parseRawEntryV04 parses a 0.4 HistoryEntry that checkEntryV04 accepted,
// without copying.
func parseRawEntryV04(b []byte) rawEntry {
	var e rawEntry
	for i := 0; i < len(b); {
		f, next, _ := nextFieldV04(b, i)
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(entryFieldID):
			e.id = f.data
		case uint64(entryFieldHint):
			e.hint = f.data
		case uint64(entryFieldSender):
			e.sender = f.data
		}
	}
	return e
}

// maxMetaScan bounds the work of matching causal ids to field-8 entries by
// scanning; beyond it (hand-made input only) a map keeps the decode linear.
const maxMetaScan = 1024

// applyMeta gives each causal entry the hint and sender of the last field-8
// entry with its id. Each field-8 entry's sender becomes one string, shared by
// the causal entries it applies to.
func applyMeta(entries []HistoryEntry, metas []rawEntry) {
	if len(metas) == 0 {
		return
	}
	senders := make([]string, len(metas))
	for k := range metas {
		senders[k] = string(metas[k].sender)
	}
	if len(entries)*len(metas) <= maxMetaScan {
		for i := range entries {
			for k := len(metas) - 1; k >= 0; k-- {
				if string(metas[k].id) == entries[i].MessageID {
					entries[i].RetrievalHint, entries[i].SenderID = metas[k].hint, senders[k]
					break
				}
			}
		}
		return
	}
	last := make(map[string]int, len(metas))
	for k := range metas {
		last[string(metas[k].id)] = k
	}
	for i := range entries {
		if k, ok := last[entries[i].MessageID]; ok {
			entries[i].RetrievalHint, entries[i].SenderID = metas[k].hint, senders[k]
		}
	}
}

// UnmarshalV04 decodes data as nim-sds 0.4 does (ABI-v0.4 §9.3), whatever the
// input's generation: field 3 values are taken as ids, so a 0.3 message's
// history entries become ids made of their raw bytes. Only a non-empty message
// id and channel id are required; lamport (0), content and bloom filter (nil)
// may be absent. Each causal id gets the hint and sender of the last field-8
// entry with that id. Byte slices alias data, strings are copies; every error
// wraps ErrMalformed.
func UnmarshalV04(data []byte) (*Message, error) {
	return unmarshalV04(data, true)
}

// unmarshalV04 is UnmarshalV04; with validate false it skips the checks made
// after parsing (empty ids and channel), so tests can read what nim-sds 0.4
// writes but refuses to read.
func unmarshalV04(data []byte, validate bool) (*Message, error) {
	var (
		id, channel, content, bloom, sender []byte
		lamport                             uint64
		nHistory, nMeta, nRepair            int
	)
	for i := 0; i < len(data); {
		f, next, err := nextFieldV04(data, i)
		if err != nil {
			return nil, err
		}
		i = next
		switch f.typ {
		case protowire.VarintType:
			if f.num == uint64(fieldLamport) {
				lamport = f.val
			}
		case protowire.BytesType:
			switch f.num {
			case uint64(fieldID):
				id = f.data
			case uint64(fieldCausalHistory):
				if len(f.data) == 0 && validate {
					return nil, errEmptyCausalV04
				}
				nHistory++
			case uint64(fieldChannelID):
				channel = f.data
			case uint64(fieldContent):
				content = f.data
			case uint64(fieldBloomFilter):
				bloom = f.data
			case uint64(fieldSenderID):
				sender = f.data
			case uint64(fieldCausalMeta):
				if _, err := checkEntryV04(f.data); err != nil {
					return nil, fmt.Errorf("causal meta entry %d: %w", nMeta, err)
				}
				nMeta++
			case uint64(fieldRepairRequest):
				hasID, err := checkEntryV04(f.data)
				if err != nil {
					return nil, fmt.Errorf("repair request entry %d: %w", nRepair, err)
				}
				if !hasID && validate {
					return nil, errEmptyRepairV04
				}
				nRepair++
			}
		}
	}
	if len(id) == 0 && validate {
		return nil, errEmptyIDV04
	}
	if len(channel) == 0 && validate {
		return nil, errEmptyChannelV04
	}
	m := &Message{
		MessageID:   string(id),
		Lamport:     int64(lamport),
		ChannelID:   string(channel),
		Content:     content,
		BloomFilter: bloom,
		SenderID:    string(sender),
	}
	if nHistory+nRepair == 0 {
		return m, nil
	}
	// Second pass over a buffer known to be well-formed.
	entries := make([]HistoryEntry, 0, nHistory+nRepair)
	var (
		metaBuf [maxSpans]rawEntry
		metas   = metaBuf[:0]
	)
	for i := 0; i < len(data); {
		f, next, _ := nextFieldV04(data, i)
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(fieldCausalHistory):
			entries = append(entries, HistoryEntry{MessageID: string(f.data)})
		case uint64(fieldCausalMeta):
			if nHistory > 0 {
				metas = append(metas, parseRawEntryV04(f.data))
			}
		}
	}
	applyMeta(entries, metas)
	if nRepair > 0 {
		for i := 0; i < len(data); {
			f, next, _ := nextFieldV04(data, i)
			i = next
			if f.typ == protowire.BytesType && f.num == uint64(fieldRepairRequest) {
				e := parseRawEntryV04(f.data)
				entries = append(entries, HistoryEntry{MessageID: string(e.id), RetrievalHint: e.hint, SenderID: string(e.sender)})
			}
		}
	}
	if nHistory > 0 {
		m.CausalHistory = entries[:nHistory:nHistory]
	}
	if nRepair > 0 {
		m.RepairRequest = entries[nHistory:]
	}
	return m, nil
}
