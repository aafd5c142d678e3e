package bloom_test

import (
	"testing"

	"github.com/logos-messaging/libsds-go/core/bloom"
	"github.com/logos-messaging/libsds-go/internal/vectors"
)

func FuzzParseRemote(f *testing.F) {
	g := vectors.LoadGolden(f)
	for _, v := range g.BloomFilters {
		f.Add(mustHex(f, v.SerializedHex))
	}
	f.Add(mustHex(f, g.Rollover.SerializedHex))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 1, 0x18, 1, 0x20, 64, 0x28, 0x40})
	ids := []string{"", "id-0", "msg-1", "a-much-longer-message-identifier-with-more-than-64-bytes-in-it-0123456789"}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := bloom.ParseRemote(data)
		if err != nil {
			if r.Params() != (bloom.Params{}) {
				t.Fatal("non-zero Remote returned with an error")
			}
			return
		}
		p := r.Params()
		if p.K < 1 || p.K > 64 || p.MBits < 1 {
			t.Fatalf("accepted inconsistent params %+v", p)
		}
		for _, id := range ids {
			k := bloom.NewKey(id)
			if r.Contains(id) != r.ContainsKey(&k) {
				t.Fatalf("Contains and ContainsKey disagree on %q", id)
			}
		}
	})
}
