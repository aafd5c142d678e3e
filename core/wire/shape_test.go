package wire_test

import (
	"errors"
	"testing"

	"github.com/logos-messaging/libsds-go/core/wire"
)

func TestScanCountsEntries(t *testing.T) {
	m := wire.Message{MessageID: "m", Lamport: 1, ChannelID: "chan", Content: []byte{1},
		CausalHistory: []wire.HistoryEntry{{MessageID: "a"}, {MessageID: "b"}, {MessageID: "a"}},
		RepairRequest: []wire.HistoryEntry{{MessageID: "r"}}}
	s, err := wire.Scan(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if s != (wire.Shape{CausalEntries: 3, RepairEntries: 1, ChannelIDLen: 4}) {
		t.Fatalf("shape %+v", s)
	}
	if _, err := wire.Scan([]byte{0x0a, 0x05, 'a'}); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("truncated field: %v", err)
	}
	noChannel := []byte{0x0a, 0x01, 'a'}
	if _, err := wire.Scan(noChannel); !errors.Is(err, wire.ErrMalformed) {
		t.Fatalf("no channel: %v", err)
	}
}
