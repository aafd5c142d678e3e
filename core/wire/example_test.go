package wire_test

import (
	"errors"
	"fmt"

	"github.com/logos-messaging/libsds-go/core/wire"
)

func Example() {
	msg := &wire.Message{
		MessageID:     "msg-2",
		Lamport:       1700000002,
		CausalHistory: []wire.HistoryEntry{{MessageID: "msg-1", RetrievalHint: []byte("hint")}},
		ChannelID:     "general",
		Content:       []byte("hello"),
	}
	data := msg.Marshal() // nim-sds's layout; an empty bloom filter is still written
	fmt.Printf("%d bytes: % x\n", len(data), data[:9])

	got, err := wire.Unmarshal(data) // got.Content aliases data
	if err != nil {
		panic(err)
	}
	fmt.Println(got.MessageID, got.Lamport, got.ChannelID, string(got.Content))
	fmt.Println(got.CausalHistory[0].MessageID, string(got.CausalHistory[0].RetrievalHint))

	channel, _ := wire.ExtractChannelID(data)
	fmt.Println(channel)

	_, err = wire.Unmarshal(data[:40]) // cut inside the content field
	fmt.Println(errors.Is(err, wire.ErrMalformed), err)
	// Output:
	// 46 bytes: 0a 05 6d 73 67 2d 32 10 82
	// msg-2 1700000002 general hello
	// msg-1 hint
	// general
	// true wire: malformed SDS message: length exceeds the remaining bytes
}
