package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

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

// refusedV04 reports whether nim-protobuf-serialization refuses field number
// num: 0, the reserved 19000-19999, and 2^29 and above.
func refusedV04(num uint64) bool {
	return num == 0 || num >= 1<<29 || (num >= 19000 && num <= 19999)
}

// shortBytesField reads the field at b[i] if it has the form nearly every 0.4
// field has: length-delimited, a one-byte tag of a number from 1 to 15 (all
// of which 0.4 accepts) and a one-byte length. ok is false for any other
// form, which nextFieldAny then reads.
func shortBytesField(b []byte, i int) (num byte, v []byte, next int, ok bool) {
	if i+1 >= len(b) {
		return 0, nil, 0, false
	}
	t, l := b[i], int(b[i+1])
	end := i + 2 + l
	if t >= 0x80 || t < 1<<3 || t&7 != byte(protowire.BytesType) || l >= 0x80 || end > len(b) {
		return 0, nil, 0, false
	}
	return t >> 3, b[i+2 : end : end], end, true
}

// metaV04 is a field-8 or field-13 entry as parsed, its slices aliasing the
// input.
type metaV04 struct {
	id, hint, sender []byte // the last occurrence of each
	// enc is the entry's length and payload as in the input. When canonical,
	// they are exactly what a 0.3 writer writes for (id, hint, sender) (see
	// parseShort).
	enc       []byte
	canonical bool
	s         string // sender as a string, made once an entry takes it
}

// parse reads a 0.4 HistoryEntry: every field optional, the last
// occurrence of each wins, other fields and wire types skipped; a structural
// error or a refused field number fails it.
func (e *metaV04) parse(b []byte) error {
	if e.parseShort(b) {
		return nil
	}
	for i := 0; i < len(b); {
		num, v, next, ok := shortBytesField(b, i)
		if !ok {
			f, fnext, err := nextFieldAny(b, i)
			if err != nil {
				return err
			}
			if refusedV04(f.num) {
				return errFieldNumberV04
			}
			next = fnext
			if f.typ != protowire.BytesType || f.num > uint64(entryFieldSender) {
				i = next
				continue
			}
			num, v = byte(f.num), f.data
		}
		i = next
		switch num {
		case byte(entryFieldID):
			e.id = v
		case byte(entryFieldHint):
			e.hint = v
		case byte(entryFieldSender):
			e.sender = v
		}
	}
	return nil
}

// parseShort parses b if it is laid out as a writer lays out an entry with
// an id, fields under 128 bytes: field 1, then field 2 and field 3 if not
// empty, each once. It reports false for any other layout. Such an entry has
// nothing to refuse, and its bytes (varints being minimal) are what a 0.3
// writer writes for it: it is canonical.
func (e *metaV04) parseShort(b []byte) bool {
	if len(b) < 2 || b[0] != tagByte(entryFieldID, protowire.BytesType) || b[1] >= 0x80 {
		return false
	}
	i := 2 + int(b[1])
	if i > len(b) {
		return false
	}
	id := b[2:i:i]
	var hint, sender []byte
	if i+1 < len(b) && b[i] == tagByte(entryFieldHint, protowire.BytesType) && b[i+1] > 0 && b[i+1] < 0x80 {
		end := i + 2 + int(b[i+1])
		if end > len(b) {
			return false
		}
		hint, i = b[i+2:end:end], end
	}
	if i+1 < len(b) && b[i] == tagByte(entryFieldSender, protowire.BytesType) && b[i+1] > 0 && b[i+1] < 0x80 {
		end := i + 2 + int(b[i+1])
		if end > len(b) {
			return false
		}
		sender, i = b[i+2:end:end], end
	}
	if i != len(b) {
		return false
	}
	e.id, e.hint, e.sender, e.canonical = id, hint, sender, rejectNonMinimalVarints
	return true
}

// idKey is a cheap fingerprint of an id, its length and up to its last eight
// bytes, so that matching ids to field-8 entries compares whole ids only
// where the fingerprints agree. An id of four to seven bytes is read as two
// overlapping words, a shorter one byte by byte.
func idKey(id []byte) uint64 {
	k := uint64(len(id)) << 56
	switch {
	case len(id) >= 8:
		return k ^ binary.LittleEndian.Uint64(id[len(id)-8:])
	case len(id) >= 4:
		return k ^ uint64(binary.LittleEndian.Uint32(id))<<24 ^ uint64(binary.LittleEndian.Uint32(id[len(id)-4:]))
	}
	for i, c := range id {
		k ^= uint64(c) << (8 * i)
	}
	return k
}

// maxMetaScan bounds the work of matching causal ids to field-8 entries by
// scanning; beyond it (hand-made input only) a map keeps the decode linear.
const maxMetaScan = 1024

// How many causal ids, field-8 entries and repair requests a decode keeps on
// the stack; more go to the heap.
const (
	maxIDsOnStack     = maxSpans
	maxMetasOnStack   = 16
	maxRepairsOnStack = 4
)

// decoderV04 is one 0.4 decode: one walk of the top level, validating every
// field and parsing every field-8 and field-13 entry where it stands, then
// the message built from what the walk found. The lists it fills are the
// caller's, passed in and returned: kept in it, they would make it (and
// their stack arrays) escape.
type decoderV04 struct {
	topFields
	// stringBytes bounds the bytes of the entries' strings (their ids, the
	// repair requests' senders and the field-8 senders).
	stringBytes int
	strings     strings.Builder
	lastSender  string // the last field-8 sender made a string

	// What Scan counts (see decodeV04First): the top-level fields and the
	// longest field 3, 8 or 13.
	fields, largest int
	// With oneWalk set (decodeV04First's walk), the walk gives up
	// (errGiveUp) at field maxFields+1 and where a list would outgrow its
	// stack array, so that nothing is allocated before the shape is checked,
	// and at a first causal id that is a canonical 0.3 entry: the input is
	// then most likely 0.3's, and the general path tells.
	oneWalk   bool
	maxFields int
}

// errGiveUp stops decodeV04First's walk; it is never returned
// to a caller of the package.
var errGiveUp = errors.New("wire: the one-walk 0.4 decode gave up")

// listsV04 are the repeated fields the walk finds, in input order: the
// field-3 ids, the parsed field-8 entries and their ids' idKey, the parsed
// field-13 entries and, once the meta is applied, the field-8 entry each
// causal entry took (or -1).
type listsV04 struct {
	ids            [][]byte
	metas, repairs []metaV04
	keys           []uint64
	matches        []int32
}

// walk validates the top level of data and every field-8 and field-13
// entry, in order, keeping the last occurrence of each singular field and
// appending to l. With validate false it accepts empty causal ids and repair
// requests without an id.
func (d *decoderV04) walk(data []byte, validate bool, l listsV04) (listsV04, error) {
	for i := 0; i < len(data); {
		if d.fields++; d.oneWalk && d.fields > d.maxFields {
			return l, errGiveUp
		}
		num, v, next, ok := shortBytesField(data, i)
		if !ok {
			f, fnext, err := nextFieldAny(data, i)
			if err != nil {
				return l, err
			}
			if refusedV04(f.num) {
				return l, errFieldNumberV04
			}
			next = fnext
			if f.typ == protowire.VarintType && f.num == uint64(fieldLamport) {
				d.lamport = f.val
			}
			if f.typ != protowire.BytesType || f.num > uint64(fieldRepairRequest) {
				i = next
				continue
			}
			num, v = byte(f.num), f.data
		}
		switch num {
		case byte(fieldID):
			d.id = v
		case byte(fieldCausalHistory):
			if len(v) == 0 && validate {
				return l, errEmptyCausalV04
			}
			if d.oneWalk && (len(l.ids) == cap(l.ids) || len(l.ids) == 0 && canonicalEntryV03(v)) {
				return l, errGiveUp
			}
			d.largest = max(d.largest, len(v))
			l.ids = append(l.ids, v)
			d.stringBytes += len(v)
		case byte(fieldChannelID):
			d.channel = v
		case byte(fieldContent):
			d.content = v
		case byte(fieldBloomFilter):
			d.bloom = v
		case byte(fieldSenderID):
			d.sender = v
		case byte(fieldCausalMeta):
			if d.oneWalk && len(l.metas) == cap(l.metas) {
				return l, errGiveUp
			}
			d.largest = max(d.largest, len(v))
			l.metas = grow(l.metas)
			e := &l.metas[len(l.metas)-1]
			// what follows the tag, varints being minimal (see parse)
			e.enc = data[next-protowire.SizeVarint(uint64(len(v)))-len(v) : next]
			if err := e.parse(v); err != nil {
				return l, fmt.Errorf("causal meta entry %d: %w", len(l.metas)-1, err)
			}
			l.keys = append(l.keys, idKey(e.id))
			d.stringBytes += len(e.sender)
		case byte(fieldRepairRequest):
			if d.oneWalk && len(l.repairs) == cap(l.repairs) {
				return l, errGiveUp
			}
			d.largest = max(d.largest, len(v))
			l.repairs = grow(l.repairs)
			e := &l.repairs[len(l.repairs)-1]
			if err := e.parse(v); err != nil {
				return l, fmt.Errorf("repair request entry %d: %w", len(l.repairs)-1, err)
			}
			if len(e.id) == 0 && validate {
				return l, errEmptyRepairV04
			}
			d.stringBytes += len(e.id) + len(e.sender)
		}
		i = next
	}
	return l, nil
}

// grow returns s one zero element longer, without copying one in: the
// elements past a slice's length are zero in the stack arrays the lists
// start in and in what append allocates.
func grow(s []metaV04) []metaV04 {
	if len(s) == cap(s) {
		s = slices.Grow(s, 1)
	}
	return s[:len(s)+1]
}

// cut returns a copy of b as a string cut from d.strings (see cutString).
func (d *decoderV04) cut(b []byte) string { return cutString(&d.strings, b) }

// senderOf returns e's sender as a string, made once per field-8 entry: the
// message's own sender id or the last one made if it is the same, else a new
// one cut from d.strings.
func (d *decoderV04) senderOf(e *metaV04, own string) string {
	switch {
	case e.s != "" || len(e.sender) == 0:
	case string(e.sender) == own:
		e.s = own
	case string(e.sender) == d.lastSender:
		e.s = d.lastSender
	default:
		e.s = d.cut(e.sender)
		d.lastSender = e.s
	}
	return e.s
}

// applyMeta gives each causal entry the hint and sender of the last field-8
// entry with its id, and appends which one it took to l.matches.
func (d *decoderV04) applyMeta(entries []HistoryEntry, own string, l listsV04) listsV04 {
	take := func(i, k int) {
		e := &l.metas[k]
		entries[i].RetrievalHint, entries[i].SenderID = e.hint, d.senderOf(e, own)
	}
	if len(entries)*len(l.metas) <= maxMetaScan {
		// A writer puts the field-8 entries in the order of the ids they
		// follow, one per id: when no two have the same key, the entry after
		// the last one taken is the one to try first. (The check is
		// quadratic: made for a writer's few entries only.)
		distinct := len(l.keys) <= maxMetasOnStack && distinctKeys(l.keys)
		next := 0
		for i := range entries {
			id := l.ids[i]
			key := idKey(id)
			k := next
			if !distinct || k >= len(l.keys) || l.keys[k] != key || string(l.metas[k].id) != string(id) {
				for k = len(l.keys) - 1; k >= 0; k-- {
					if l.keys[k] == key && string(l.metas[k].id) == string(id) {
						break
					}
				}
			}
			if k >= 0 {
				take(i, k)
				next = k + 1
			}
			l.matches = append(l.matches, int32(k))
		}
		return l
	}
	last := make(map[string]int, len(l.metas))
	for k := range l.metas {
		last[string(l.metas[k].id)] = k
	}
	for i := range entries {
		k, ok := last[entries[i].MessageID]
		if ok {
			take(i, k)
		} else {
			k = -1
		}
		l.matches = append(l.matches, int32(k))
	}
	return l
}

// distinctKeys reports whether no two keys are equal. A bitmap of the keys'
// residues settles most lists in one pass; a collision in it is checked pair
// by pair.
func distinctKeys(keys []uint64) bool {
	var seen [4]uint64
	collided := false
	for _, k := range keys {
		r := k % 251 // a prime: the residue depends on every byte of the key
		bit := uint64(1) << (r & 63)
		collided = collided || seen[r>>6]&bit != 0
		seen[r>>6] |= bit
	}
	if !collided {
		return true
	}
	for j := 1; j < len(keys); j++ {
		for _, k := range keys[:j] {
			if k == keys[j] {
				return false
			}
		}
	}
	return true
}

// message builds the decoded message into *m. The entries are one allocation
// and their strings are cut from another.
func (d *decoderV04) message(m *Message, l listsV04) listsV04 {
	*m = d.header()
	nHistory, nRepair := len(l.ids), len(l.repairs)
	if nHistory+nRepair == 0 {
		return l
	}
	entries := make([]HistoryEntry, nHistory+nRepair)
	d.strings.Grow(d.stringBytes)
	for i, id := range l.ids {
		entries[i].MessageID = d.cut(id)
	}
	if nHistory > 0 {
		if len(l.metas) > 0 {
			l = d.applyMeta(entries[:nHistory], m.SenderID, l)
		}
		m.CausalHistory = entries[:nHistory:nHistory]
	}
	for k := range l.repairs {
		e := &l.repairs[k]
		entries[nHistory+k] = HistoryEntry{MessageID: d.cut(e.id), RetrievalHint: e.hint, SenderID: d.cut(e.sender)}
	}
	if nRepair > 0 {
		m.RepairRequest = entries[nHistory:]
	}
	return l
}

// stripped returns m's stripped form (see DecodeChecked), m being what
// message returned with l: the bytes marshalStripped writes for it. A causal
// entry that took a canonical field-8 entry is that entry's bytes from the
// input under field 3's tag, which is what a 0.3 writer writes for it; every
// other field is written from its value.
func stripped(m *Message, l *listsV04) []byte {
	n := tagSize + sizeBytes(len(m.MessageID)) + tagSize + protowire.SizeVarint(uint64(m.Lamport))
	for i := range m.CausalHistory {
		if e := l.took(i); e != nil && e.canonical {
			n += tagSize + len(e.enc)
		} else {
			n += tagSize + sizeBytes(m.CausalHistory[i].Size())
		}
	}
	n += tagSize + sizeBytes(len(m.ChannelID)) + tagSize + sizeBytes(len(m.Content)) + tagSize + 1
	if m.SenderID != "" {
		n += tagSize + sizeBytes(len(m.SenderID))
	}
	b := make([]byte, 0, n)
	b = appendString(b, fieldID, m.MessageID)
	b = appendVarint(append(b, tagByte(fieldLamport, protowire.VarintType)), uint64(m.Lamport))
	for i := range m.CausalHistory {
		if e := l.took(i); e != nil && e.canonical {
			b = append(append(b, tagByte(fieldCausalHistory, protowire.BytesType)), e.enc...)
		} else {
			b = appendEntry(b, fieldCausalHistory, &m.CausalHistory[i])
		}
	}
	b = appendString(b, fieldChannelID, m.ChannelID)
	b = appendBytes(b, fieldContent, m.Content)
	b = append(b, tagByte(fieldBloomFilter, protowire.BytesType), 0)
	if m.SenderID != "" {
		b = appendString(b, fieldSenderID, m.SenderID)
	}
	return b
}

// took is the field-8 entry causal entry i took, or nil.
func (l *listsV04) took(i int) *metaV04 {
	if i < len(l.matches) && l.matches[i] >= 0 {
		return &l.metas[l.matches[i]]
	}
	return nil // no field 8 at all, or none with its id
}

// UnmarshalV04 decodes data as nim-sds 0.4 does (ABI-v0.4 §9.3), whatever the
// input's generation: field 3 values are taken as ids, so a 0.3 message's
// history entries become ids made of their raw bytes. Only a non-empty message
// id and channel id are required; lamport (0), content and bloom filter (nil)
// may be absent. Each causal id gets the hint and sender of the last field-8
// entry with that id. Every error wraps ErrMalformed.
//
// Byte slices alias data. The strings are copies: the message id, channel id
// and sender id one allocation each, the entries' ids and sender ids one
// shared allocation (a causal entry's sender id may also be the message's
// sender id), so keeping an entry's id keeps the other entries' strings
// alive, nothing else.
func UnmarshalV04(data []byte) (*Message, error) {
	m, _, err := unmarshalV04(data, true, false)
	return m, err
}

// unmarshalV04 is UnmarshalV04, also returning the stripped form if strip is
// set. With validate false it skips the checks of empty ids and channel, so
// tests can read what nim-sds 0.4 writes but refuses to read.
func unmarshalV04(data []byte, validate, strip bool) (*Message, []byte, error) {
	var m Message
	stripped, err := unmarshalV04Into(&m, data, validate, strip)
	if err != nil {
		return nil, nil, err
	}
	return onHeap(&m), stripped, nil
}

// stackListsV04 are the stack arrays a decode's lists start in.
type stackListsV04 struct {
	ids     [maxIDsOnStack][]byte
	metas   [maxMetasOnStack]metaV04
	repairs [maxRepairsOnStack]metaV04
	keys    [maxMetasOnStack]uint64
	matches [maxIDsOnStack]int32
}

// lists returns empty lists backed by s.
func (s *stackListsV04) lists() listsV04 {
	return listsV04{s.ids[:0], s.metas[:0], s.repairs[:0], s.keys[:0], s.matches[:0]}
}

// unmarshalV04Into is unmarshalV04 decoding into *m, which it overwrites; on
// error *m is left in an unspecified state.
func unmarshalV04Into(m *Message, data []byte, validate, strip bool) ([]byte, error) {
	var (
		d     decoderV04
		stack stackListsV04
	)
	l, err := d.walk(data, validate, stack.lists())
	if err != nil {
		return nil, err
	}
	if len(d.id) == 0 && validate {
		return nil, errEmptyIDV04
	}
	if len(d.channel) == 0 && validate {
		return nil, errEmptyChannelV04
	}
	l = d.message(m, l)
	if !strip {
		return nil, nil
	}
	return stripped(m, &l), nil
}

// decodeV04First is DecodeCheckedInto for a receiver whose neutral generation
// is V04, where nearly every message is 0.4's: one 0.4 walk that also counts
// Scan's shape, where the general path walks the top level as 0.3 to detect
// the generation and then decodes it as 0.4. done is false, and nothing is
// decided, unless the walk alone settles the whole call: the input is
// well-formed, within the field budget (when there is a check) and its lists
// within their stack arrays, has a non-empty message id and channel id, and
// its first causal id, if it has one, is not a canonical 0.3 entry (so it is
// 0.4's by Detect's rule; without causal ids, by the neutral generation). The
// caller then takes the general path, which returns exactly what it always
// did; where done is true, the result is the general path's too (the tests
// hold the two against each other).
func decodeV04First(m *Message, data []byte, maxFields int, check func(Shape) error) (stored []byte, done bool, err error) {
	var (
		d     decoderV04
		stack stackListsV04
	)
	d.oneWalk, d.maxFields = true, math.MaxInt
	if check != nil {
		d.maxFields = maxFields
	}
	// The walk has given up on a first causal id that is a canonical 0.3
	// entry, so a message it finishes is 0.4's by Detect's rule: it has a
	// field 8, a first id that is not a 0.3 entry, or no field 3.
	l, err := d.walk(data, true, stack.lists())
	if err != nil || len(d.id) == 0 || len(d.channel) == 0 {
		return nil, false, nil
	}
	if check != nil {
		shape := Shape{Fields: d.fields, CausalEntries: len(l.ids), RepairEntries: len(l.repairs),
			LargestEntry: d.largest, ChannelIDLen: len(d.channel), MessageIDLen: len(d.id), SenderIDLen: len(d.sender)}
		if err := check(shape); err != nil {
			return nil, true, err
		}
	}
	l = d.message(m, l)
	return stripped(m, &l), true, nil
}
