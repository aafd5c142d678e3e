package bloom_test

import (
	"fmt"

	"github.com/logos-messaging/libsds-go/core/bloom"
)

func Example() {
	// Our side: a rolling filter with nim-sds' defaults, serialized into every
	// outgoing message (SdsMessage field 6).
	ours := bloom.NewRolling(bloom.DefaultCapacity, bloom.DefaultErrorRate)
	ours.Add("msg-1")
	ours.Add("msg-2")
	wire := ours.Serialized()
	fmt.Println(len(wire), "bytes")

	// Their side: parse the received bytes as a view and check our outgoing ids.
	remote, err := bloom.ParseRemote(wire)
	if err != nil {
		fmt.Println("no filter:", err)
		return
	}
	fmt.Printf("%+v\n", remote.Params())
	for _, id := range []string{"msg-1", "msg-2", "msg-3"} {
		k := bloom.NewKey(id) // reusable across filters: hashes are computed once
		fmt.Println(id, remote.ContainsKey(&k))
	}

	// Garbage, or a filter nim-sds would crash on, is treated as no filter.
	_, err = bloom.ParseRemote([]byte{0x0a, 0x00, 0x10, 1, 0x18, 1, 0x20, 10, 0x28, 0})
	fmt.Println(err)
	// Output:
	// 18768 bytes
	// {Capacity:10000 ErrorRate:0.001 K:10 MBits:150000}
	// msg-1 true
	// msg-2 true
	// msg-3 false
	// bloom: invalid or inconsistent filter
}
