package wire_test

import (
	"errors"
	"testing"

	"github.com/logos-messaging/libsds-go/core/wire"
)

func TestScanCountsEntries(t *testing.T) {
	m := wire.Message{MessageID: "m", Lamport: 1, ChannelID: "chan", Content: []byte{1}, SenderID: "sender",
		CausalHistory: []wire.HistoryEntry{{MessageID: "a"}, {MessageID: "bbb"}, {MessageID: "a"}},
		RepairRequest: []wire.HistoryEntry{{MessageID: "r"}}}
	data := m.Marshal()
	s, err := wire.Scan(data, 100)
	if err != nil {
		t.Fatal(err)
	}
	// id, lamport, 3 history, channel, content, bloom, sender, 1 repair = 10 fields
	want := wire.Shape{Fields: 10, CausalEntries: 3, RepairEntries: 1, LargestEntry: 5,
		ChannelIDLen: 4, MessageIDLen: 1, SenderIDLen: 6}
	if s != want {
		t.Fatalf("shape %+v, want %+v", s, want)
	}
	// Past maxFields the scan stops, even before the channel id.
	if s, err := wire.Scan(data, 3); err != nil || s.Fields != 4 {
		t.Fatalf("early stop: %+v, %v", s, err)
	}
	if _, err := wire.Scan([]byte{0x0a, 0x05, 'a'}, 100); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("truncated field: %v", err)
	}
	noChannel := []byte{0x0a, 0x01, 'a'}
	if _, err := wire.Scan(noChannel, 100); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("no channel: %v", err)
	}
}
