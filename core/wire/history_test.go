package wire

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// refHistory is the causal history fields of es, written with protowire.
func refHistory(es []HistoryEntry) []byte {
	var b []byte
	for _, e := range es {
		inner := fBytes(entryFieldID, e.MessageID)
		if len(e.RetrievalHint) > 0 {
			inner = append(inner, fBytes(entryFieldHint, string(e.RetrievalHint))...)
		}
		if e.SenderID != "" {
			inner = append(inner, fBytes(entryFieldSender, e.SenderID)...)
		}
		b = append(b, fBytes(fieldCausalHistory, string(inner))...)
	}
	return b
}

// checkEncode encodes es with h and checks the bytes, and that a message
// written with them is the one written from the entries.
func checkEncode(t testing.TB, h *HistoryEncoder, es []HistoryEntry) {
	t.Helper()
	got := h.Encode(es)
	if want := refHistory(es); !bytes.Equal(got, want) {
		t.Fatalf("Encode(%v) = %x, want %x", es, got, want)
	}
	m := Message{MessageID: "m", ChannelID: "c", Content: []byte{1}, SenderID: "s", CausalHistory: es,
		RepairRequest: []HistoryEntry{{MessageID: "r"}}}
	want := m.Marshal()
	m.EncodedHistory = got
	if m.Size() != len(want) || !bytes.Equal(m.Marshal(), want) {
		t.Fatalf("a message with EncodedHistory encodes differently")
	}
	out, stripped := m.AppendMarshalStripped(nil)
	m.EncodedHistory = nil
	wantOut, wantStripped := m.AppendMarshalStripped(nil)
	if !bytes.Equal(out, wantOut) || !bytes.Equal(stripped, wantStripped) {
		t.Fatalf("AppendMarshalStripped with EncodedHistory differs")
	}
}

// The usual sequence, a window sliding by one entry per message, and every
// departure from it: hints changing in content or length, a sender changing,
// entries left out or reordered, long fields, empty histories. The caller's
// hint buffer is reused and changed between calls, which the encoder must see.
func TestHistoryEncoder(t *testing.T) {
	var h HistoryEncoder
	hint := []byte("hint-0")
	entry := func(i int) HistoryEntry {
		return HistoryEntry{MessageID: fmt.Sprintf("m-%d", i), RetrievalHint: hint, SenderID: "alice"}
	}
	window := func(first, n int) []HistoryEntry {
		var es []HistoryEntry
		for i := first; i < first+n; i++ {
			es = append(es, entry(i))
		}
		return es
	}
	checkEncode(t, &h, nil)
	for i := range 15 { // the window fills up, then slides
		checkEncode(t, &h, window(max(0, i-9), min(i+1, 10)))
	}
	es := window(6, 10)
	checkEncode(t, &h, es)
	hint[5] = '1' // same buffer, new content
	checkEncode(t, &h, es)
	hint = []byte("a longer hint")
	checkEncode(t, &h, window(6, 10))
	es = window(7, 10)
	es[4].RetrievalHint = nil
	es[6].SenderID = "bob"
	checkEncode(t, &h, es)
	checkEncode(t, &h, window(7, 10))
	es = window(8, 10)
	es = append(es[:3], es[5:]...) // two left out
	checkEncode(t, &h, es)
	es[0], es[1] = es[1], es[0]
	checkEncode(t, &h, es)
	checkEncode(t, &h, window(20, 10)) // nothing in common
	checkEncode(t, &h, window(25, 3))
	checkEncode(t, &h, nil)
	checkEncode(t, &h, window(26, 4))
	long := strings.Repeat("x", 200)
	es = window(30, 5)
	es[2] = HistoryEntry{MessageID: long, RetrievalHint: []byte(long), SenderID: long}
	es[3].SenderID = ""
	checkEncode(t, &h, es)
	checkEncode(t, &h, es[1:])
	es = append(es[1:], entry(35))
	es[2].RetrievalHint = []byte(long + "y")
	checkEncode(t, &h, es)
}

// FuzzHistoryEncoder encodes a sequence of histories the input describes and
// checks each against protowire (see checkEncode).
func FuzzHistoryEncoder(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 1, 0, 0, 2, 0, 0, 3, 0, 0})
	f.Add([]byte{2, 0, 1, 1, 1, 2, 2, 2, 1, 1, 2, 7, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		ids := []string{"a", "b", "c", "d", "e", strings.Repeat("l", 130)}
		hints := [][]byte{nil, []byte("h"), []byte("hint"), bytes.Repeat([]byte{7}, 140)}
		senders := []string{"", "s", "t", strings.Repeat("s", 128)}
		var h HistoryEncoder
		for len(data) > 0 {
			n := int(data[0] % 8)
			data = data[1:]
			var es []HistoryEntry
			for ; n > 0 && len(data) >= 3; n, data = n-1, data[3:] {
				hint := bytes.Clone(hints[int(data[1])%len(hints)]) // a fresh buffer, as a host's
				es = append(es, HistoryEntry{MessageID: ids[int(data[0])%len(ids)], RetrievalHint: hint,
					SenderID: senders[int(data[2])%len(senders)]})
			}
			checkEncode(t, &h, es)
		}
	})
}
