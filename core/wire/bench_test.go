package wire

import (
	"errors"
	"fmt"
	"testing"
)

// realisticMessage has what nim-sds sends in steady state: 10 causal-history
// entries with 20-byte ids and a small hint, 100 bytes of content and the
// 18768-byte default bloom filter.
func realisticMessage() *Message {
	m := &Message{
		MessageID:   "msg-000000000000042",
		Lamport:     1700000001234,
		ChannelID:   "general/chat-room-1",
		Content:     make([]byte, 100),
		BloomFilter: defaultEmptyBloom(),
	}
	for i := range m.Content {
		m.Content[i] = byte(i)
	}
	for i := 0; i < 10; i++ {
		m.CausalHistory = append(m.CausalHistory, HistoryEntry{
			MessageID:     fmt.Sprintf("msg-%016d", i),
			RetrievalHint: []byte(fmt.Sprintf("hint:%03d", i)),
		})
	}
	return m
}

func BenchmarkMarshal(b *testing.B) {
	m := realisticMessage()
	b.SetBytes(int64(m.Size()))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Marshal()
	}
}

func BenchmarkAppendMarshalReuse(b *testing.B) {
	m := realisticMessage()
	buf := make([]byte, 0, m.Size())
	b.SetBytes(int64(m.Size()))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendMarshal(buf[:0])
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := realisticMessage().Marshal()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalV03(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtractChannelID(b *testing.B) {
	data := realisticMessage().Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ExtractChannelID(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocCopyBaseline is the floor for Marshal: allocate a buffer of the
// encoded size and copy that many bytes into it.
func BenchmarkAllocCopyBaseline(b *testing.B) {
	src := realisticMessage().Marshal()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		dst := make([]byte, len(src))
		copy(dst, src)
	}
}

// BenchmarkDecode is what the engine runs on every unwrap: generation
// detection, then the generation's decoder, for each generation's bytes.
func BenchmarkDecode(b *testing.B) {
	m := realisticMessage()
	for _, g := range []Generation{V03, V04} {
		b.Run(g.String(), func(b *testing.B) {
			m.SenderID = "alice"
			for i := range m.CausalHistory {
				m.CausalHistory[i].SenderID = "bob"
			}
			data := m.MarshalAs(g)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, got, err := Decode(data, V03); err != nil || got != g {
					b.Fatal(got, err)
				}
			}
		})
	}
}

// BenchmarkDecodeChecked is what the engine's Unwrap runs: DecodeChecked with
// a shape check, which also makes the stored form, on a message as a peer in
// steady state writes it in each generation (every cited entry with a hint
// and a sender).
func BenchmarkDecodeChecked(b *testing.B) {
	m := realisticMessage()
	m.SenderID = "alice"
	for i := range m.CausalHistory {
		m.CausalHistory[i].RetrievalHint = make([]byte, 32)
		m.CausalHistory[i].SenderID = "alice"
	}
	check := func(s Shape) error {
		if s.CausalEntries > 1000 {
			return errors.New("over budget")
		}
		return nil
	}
	for _, g := range []Generation{V03, V04} {
		b.Run(g.String(), func(b *testing.B) {
			data := m.MarshalAs(g)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, got, stored, err := DecodeChecked(data, g, 10000, check); err != nil || got != g || len(stored) == 0 {
					b.Fatal(got, err)
				}
			}
		})
	}
}

func BenchmarkMarshalV04(b *testing.B) {
	m := realisticMessage()
	b.SetBytes(int64(m.SizeAs(V04)))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.MarshalAs(V04)
	}
}
