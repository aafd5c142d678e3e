package wire

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// refNextFieldV04 is nextField with nim-protobuf-serialization's extra refusals:
// field number 0, numbers of 2^29 and above, and the reserved 19000-19999.
func refNextFieldV04(b []byte, i int) (field, int, error) {
	f, next, err := nextField(b, i)
	if err != nil {
		return f, 0, err
	}
	if f.num == 0 || f.num >= 1<<29 || (f.num >= 19000 && f.num <= 19999) {
		return f, 0, errFieldNumberV04
	}
	return f, next, nil
}

// refCheckEntryV04 validates a 0.4 HistoryEntry (every field optional, last
// occurrence wins, other fields and wire types skipped, structural errors
// fail) and reports whether its message id is non-empty.
func refCheckEntryV04(b []byte) (hasID bool, err error) {
	for i := 0; i < len(b); {
		f, next, err := refNextFieldV04(b, i)
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

// refRawEntry is a parsed 0.4 HistoryEntry whose fields still alias the input.
type refRawEntry struct{ id, hint, sender []byte }

// refParseRawEntryV04 parses a 0.4 HistoryEntry that refCheckEntryV04 accepted,
// without copying.
func refParseRawEntryV04(b []byte) refRawEntry {
	var e refRawEntry
	for i := 0; i < len(b); {
		f, next, _ := refNextFieldV04(b, i)
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

// refMaxMetaScan bounds the work of matching causal ids to field-8 entries by
// scanning; beyond it (hand-made input only) a map keeps the decode linear.
const refMaxMetaScan = 1024

// refApplyMeta gives each causal entry the hint and sender of the last field-8
// entry with its id. Each field-8 entry's sender becomes one string, shared by
// the causal entries it applies to.
func refApplyMeta(entries []HistoryEntry, metas []refRawEntry) {
	if len(metas) == 0 {
		return
	}
	senders := make([]string, len(metas))
	for k := range metas {
		senders[k] = string(metas[k].sender)
	}
	if len(entries)*len(metas) <= refMaxMetaScan {
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

// refUnmarshalV04 is the 0.4 decoder as first written, in three walks with
// the generic field reader, kept as the oracle of the differential fuzz test
// (FuzzUnmarshalV04Oracle); validate is unmarshalV04's.
func refUnmarshalV04(data []byte, validate bool) (*Message, error) {
	var (
		id, channel, content, bloom, sender []byte
		lamport                             uint64
		nHistory, nMeta, nRepair            int
	)
	for i := 0; i < len(data); {
		f, next, err := refNextFieldV04(data, i)
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
				if _, err := refCheckEntryV04(f.data); err != nil {
					return nil, fmt.Errorf("causal meta entry %d: %w", nMeta, err)
				}
				nMeta++
			case uint64(fieldRepairRequest):
				hasID, err := refCheckEntryV04(f.data)
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
		metaBuf [maxSpans]refRawEntry
		metas   = metaBuf[:0]
	)
	for i := 0; i < len(data); {
		f, next, _ := refNextFieldV04(data, i)
		i = next
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case uint64(fieldCausalHistory):
			entries = append(entries, HistoryEntry{MessageID: string(f.data)})
		case uint64(fieldCausalMeta):
			if nHistory > 0 {
				metas = append(metas, refParseRawEntryV04(f.data))
			}
		}
	}
	refApplyMeta(entries, metas)
	if nRepair > 0 {
		for i := 0; i < len(data); {
			f, next, _ := refNextFieldV04(data, i)
			i = next
			if f.typ == protowire.BytesType && f.num == uint64(fieldRepairRequest) {
				e := refParseRawEntryV04(f.data)
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

// FuzzUnmarshalV04Oracle checks the one-walk 0.4 decoder against the oracle
// for any input, with and without validation: the same message (nil and
// empty slices told apart), the same error text; and the stripped form it
// makes, partly cut from the input, is byte for byte marshalStripped's.
func FuzzUnmarshalV04Oracle(f *testing.F) {
	for _, b := range generationSeeds() {
		f.Add(b)
	}
	for _, b := range v04LayoutSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		for _, validate := range []bool{true, false} {
			m, stripped, err := unmarshalV04(data, validate, true)
			want, wantErr := refUnmarshalV04(orig, validate)
			if !bytes.Equal(data, orig) {
				t.Fatal("input modified")
			}
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("validate %v: error %v, oracle %v", validate, err, wantErr)
			}
			if err != nil {
				if m != nil || stripped != nil {
					t.Fatalf("validate %v: message %+v with error %v", validate, m, err)
				}
				continue
			}
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("validate %v: decoded\n%+v\noracle\n%+v", validate, m, want)
			}
			if want := want.marshalStripped(); !bytes.Equal(stripped, want) || len(stripped) != cap(stripped) {
				t.Fatalf("validate %v: stripped form %x (cap %d), marshalStripped %x", validate, stripped, cap(stripped), want)
			}
			if m2, s2, err := unmarshalV04(data, validate, false); err != nil || s2 != nil || !reflect.DeepEqual(m2, m) {
				t.Fatalf("validate %v: without strip: %v, %x, %+v", validate, err, s2, m2)
			}
		}
	})
}

// v04LayoutSeeds are 0.4 messages whose field-8 entries the stripped form
// can cut (as the encoder writes them) and cannot (other layouts), with more
// ids and entries than the decoder keeps on the stack.
func v04LayoutSeeds() [][]byte {
	many := &Message{MessageID: "m", ChannelID: "c", SenderID: "alice"}
	for i := range maxIDsOnStack + 3 {
		many.CausalHistory = append(many.CausalHistory, HistoryEntry{MessageID: fmt.Sprintf("id-%d", i),
			RetrievalHint: []byte{byte(i)}, SenderID: []string{"alice", "bob", "bob"}[i%3]})
		many.RepairRequest = append(many.RepairRequest, HistoryEntry{MessageID: fmt.Sprintf("r-%d", i)})
	}
	head := []byte{0x0a, 1, 'a', 0x10, 1, 0x1a, 1, 'q', 0x1a, 1, 'p', 0x22, 1, 'c'}
	return [][]byte{
		many.MarshalAs(V04),
		// canonical, then sender before hint, then a repeated id field
		cat(head, []byte{0x42, 6, 0x0a, 1, 'q', 0x12, 1, 'h', 0x42, 6, 0x0a, 1, 'p', 0x1a, 1, 's'}),
		cat(head, []byte{0x42, 6, 0x0a, 1, 'q', 0x1a, 1, 's', 0x42, 6, 0x1a, 1, 's', 0x0a, 1, 'p'}),
		cat(head, []byte{0x42, 9, 0x0a, 1, 'x', 0x0a, 1, 'q', 0x12, 1, 'h'}),
		// a two-byte length inside field 8, an unknown field in it, a varint lamport of two bytes
		cat(head, fBytes(8, string(cat(fBytes(1, "q"), fBytes(2, string(make([]byte, 130)))))),
			[]byte{0x42, 5, 0x0a, 1, 'p', 0x20, 1}, []byte{0x10, 0x80, 1}),
	}
}

// FuzzParseEntryV04 checks metaV04.parse against the oracle's entry reader,
// that it calls canonical the layout parseShortEntry reads, and that such an
// entry is, after field 3's tag, what the 0.3 writer writes for the entry it
// read.
func FuzzParseEntryV04(f *testing.F) {
	for _, e := range []HistoryEntry{
		{MessageID: "m"}, {MessageID: "m", RetrievalHint: []byte("h")}, {MessageID: "m", SenderID: "s"},
		{MessageID: "m", RetrievalHint: []byte("h"), SenderID: "s"}, {MessageID: string(make([]byte, 200))},
	} {
		f.Add(e.appendV04(nil))
	}
	for _, b := range [][]byte{{}, {0x12, 1, 'h'}, {0x0a, 0}, {0x0a, 1, 'm', 0x0a, 1, 'n'}, {0x0a, 1, 'm', 0x1a, 1, 's', 0x12, 1, 'h'}, {0x0a, 1, 'm', 0x12, 0}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e metaV04
		err := e.parse(b)
		hasID, wantErr := refCheckEntryV04(b)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("%x: error %v, oracle %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		want := refParseRawEntryV04(b)
		if got := (refRawEntry{e.id, e.hint, e.sender}); !reflect.DeepEqual(got, want) || hasID != (len(e.id) > 0) {
			t.Fatalf("%x: read %q, oracle %q", b, got, want)
		}
		if _, short := parseShortEntry(b); short != e.canonical {
			t.Fatalf("%x: canonical %v; the 0.3 reader's short form: %v", b, e.canonical, short)
		}
		if e.canonical {
			h := HistoryEntry{MessageID: string(e.id), RetrievalHint: e.hint, SenderID: string(e.sender)}
			if enc := protowire.AppendBytes(nil, b); !bytes.Equal(appendEntry(nil, fieldCausalHistory, &h), append([]byte{0x1a}, enc...)) {
				t.Fatalf("%x: canonical, but the 0.3 writer writes %x", b, appendEntry(nil, fieldCausalHistory, &h))
			}
		}
	})
}

// TestV04StrippedFormCutsCanonicalMeta: the stored form of a 0.4 message as
// the encoder writes it takes each causal entry's bytes from its field-8
// entry; every layout gives marshalStripped's bytes.
func TestV04StrippedFormCutsCanonicalMeta(t *testing.T) {
	m := genMsg(HistoryEntry{MessageID: "m1", RetrievalHint: []byte("h"), SenderID: "bob"}, HistoryEntry{MessageID: "m2"})
	data := m.MarshalAs(V04)
	var (
		d         decoderV04
		idBuf     [maxIDsOnStack][]byte
		metaBuf   [maxMetasOnStack]metaV04
		repairBuf [maxRepairsOnStack]metaV04
	)
	l, err := d.walk(data, true, listsV04{ids: idBuf[:0], metas: metaBuf[:0], repairs: repairBuf[:0]})
	require.Len(t, l.keys, 1)
	require.NoError(t, err)
	got := new(Message)
	l = d.message(got, l)
	require.Equal(t, []int32{0, -1}, l.matches)
	require.True(t, l.took(0).canonical)
	require.Nil(t, l.took(1))
	require.Equal(t, got.marshalStripped(), stripped(got, &l))
	for _, in := range append(v04LayoutSeeds(), data) {
		m, s, err := unmarshalV04(in, true, true)
		require.NoError(t, err)
		require.Equal(t, m.marshalStripped(), s)
	}
}

// TestV04MetaMatchingAgreesWithOracle covers the ways a causal id finds its
// field-8 entry: in the writer's order, out of order, past an id without
// one, with ids whose keys collide, and with more field-8 entries than the
// distinct-key check takes; each decodes as the oracle decodes it.
func TestV04MetaMatchingAgreesWithOracle(t *testing.T) {
	meta := func(id, sender string) []byte {
		return fBytes(8, string(cat(fBytes(1, id), fBytes(2, "h-"+id), fBytes(3, sender))))
	}
	build := func(ids []string, metas ...[]byte) []byte {
		b := cat(fBytes(1, "m"), fBytes(4, "c"), fBytes(7, "alice"))
		for _, id := range ids {
			b = append(b, fBytes(3, id)...)
		}
		return cat(append([][]byte{b}, metas...)...)
	}
	collide := []string{"x-abcdefgh", "y-abcdefgh", "abcdefgh"} // the same last eight bytes
	var many []string
	var manyMetas [][]byte
	reversed := func(s [][]byte) [][]byte {
		s = slices.Clone(s)
		slices.Reverse(s)
		return s
	}
	for i := range maxMetasOnStack + 4 {
		many = append(many, fmt.Sprintf("id-%02d", i))
		manyMetas = append(manyMetas, meta(many[i], []string{"alice", "bob"}[i%2]))
	}
	for name, in := range map[string][]byte{
		"writer's order":   build([]string{"a", "b", "c"}, meta("a", "alice"), meta("b", "bob"), meta("c", "alice")),
		"reversed":         build([]string{"a", "b", "c"}, meta("c", "bob"), meta("b", "bob"), meta("a", "carol")),
		"gap":              build([]string{"a", "b", "c"}, meta("a", "bob"), meta("c", "bob")),
		"unknown first":    build([]string{"a", "b"}, meta("z", "bob"), meta("a", "bob"), meta("b", "alice")),
		"colliding keys":   build(collide, meta(collide[1], "bob"), meta(collide[0], "carol")),
		"one of colliding": build(collide, meta(collide[1], "bob")),
		"repeated":         build([]string{"a", "b"}, meta("a", "bob"), meta("b", "bob"), meta("a", "carol")),
		"many":             build(many, manyMetas...),
		"many, reversed":   build(many, reversed(manyMetas)...),
	} {
		m, stored, err := unmarshalV04(in, true, true)
		require.NoError(t, err, name)
		want, err := refUnmarshalV04(in, true)
		require.NoError(t, err, name)
		require.Equal(t, want, m, name)
		require.Equal(t, want.marshalStripped(), stored, name)
	}
}
