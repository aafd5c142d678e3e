package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/vectors"
)

// The four messages nim-sds wrapped in a two-manager smoke run (vectors/README.md).
var binVectors = []struct {
	file    string
	id      string
	history []string
	content string
}{
	{"wire/A_m1.bin", "m1", nil, "hello"},
	{"wire/A_m2.bin", "m2", []string{"m1"}, "second"},
	{"wire/A_m3.bin", "m3", []string{"m1", "m2"}, "third"},
	{"wire/B_r1.bin", "r1", []string{"m1", "m3"}, "reply"},
}

func TestNimWireVectors(t *testing.T) {
	emptyBloom := defaultEmptyBloom()
	for _, v := range binVectors {
		t.Run(v.file, func(t *testing.T) {
			data := vectors.Read(t, v.file)
			m := mustUnmarshal(t, data)

			assert.Equal(t, v.id, m.MessageID)
			assert.Greater(t, m.Lamport, int64(0))
			var ids []string
			for _, e := range m.CausalHistory {
				ids = append(ids, e.MessageID)
				assert.Empty(t, e.SenderID)
			}
			assert.Equal(t, v.history, ids)
			assert.Equal(t, "chan-1", m.ChannelID)
			assert.Equal(t, v.content, string(m.Content))
			assert.Empty(t, m.SenderID, "no sender id (field 7)")
			assert.Nil(t, m.RepairRequest, "no repair requests")
			require.NotNil(t, m.BloomFilter)
			assert.Len(t, m.BloomFilter, 18768, "default filter")
			if v.history == nil {
				assert.Equal(t, emptyBloom, m.BloomFilter, "m1 carries the empty default filter of PROTOCOL.md §1.3")
			} else {
				assert.NotEqual(t, emptyBloom, m.BloomFilter)
			}

			assert.Equal(t, len(data), m.Size())
			assert.Equal(t, data, m.Marshal(), "re-encoding must reproduce nim-sds's bytes")

			ch, err := ExtractChannelID(data)
			require.NoError(t, err)
			assert.Equal(t, "chan-1", ch)

			ref, ok := refDecode(data)
			require.True(t, ok)
			assert.Equal(t, normalize(ref), normalize(m))
		})
	}
}

// TestProtocolExample is the worked example at the end of PROTOCOL.md §1.3.
func TestProtocolExample(t *testing.T) {
	m := &Message{
		MessageID:     "msg-1",
		Lamport:       1700000001,
		CausalHistory: []HistoryEntry{{MessageID: "msg-0"}},
		ChannelID:     "ch",
		Content:       []byte{1, 2, 3},
		BloomFilter:   defaultEmptyBloom(),
	}
	b := m.Marshal()
	require.Len(t, b, 18803)
	assert.Equal(t, 18803, m.Size())
	head := hx("0a056d73672d31 1081e2cfaa06 1a070a056d73672d30 22026368 2a03010203 32d09201 0ac09201 00")
	assert.Equal(t, head, b[:len(head)])
	tail := hx("0010904e18e807200a28f09309")
	assert.Equal(t, tail, b[len(b)-len(tail):])
	assert.Equal(t, normalize(m), normalize(mustUnmarshal(t, b)))
}
