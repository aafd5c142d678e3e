package bloom_test

import (
	"fmt"
	"testing"

	"github.com/logos-messaging/libsds-go/core/bloom"
)

func benchIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%08d-0123456789abcdef", prefix, i)
	}
	return ids
}

func defaultFilterWith(n int) *bloom.Filter {
	f := bloom.NewFilter(bloom.NewParams(bloom.DefaultCapacity, bloom.DefaultErrorRate))
	for _, id := range benchIDs("in", n) {
		f.Add(id)
	}
	return f
}

func BenchmarkAdd(b *testing.B) {
	ids := benchIDs("add", 4096)
	f := bloom.NewFilter(bloom.NewParams(bloom.DefaultCapacity, bloom.DefaultErrorRate))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.Add(ids[i&4095])
		i++
	}
}

func BenchmarkRollingAdd(b *testing.B) {
	ids := benchIDs("roll", 1<<15)
	r := bloom.NewRolling(bloom.DefaultCapacity, bloom.DefaultErrorRate)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Add(ids[i&(1<<15-1)])
		i++
	}
}

func BenchmarkContains(b *testing.B) {
	f := defaultFilterWith(5000)
	present := benchIDs("in", 5000)
	absent := benchIDs("out", 5000)
	b.Run("present", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f.Contains(present[i%5000])
			i++
		}
	})
	b.Run("absent", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f.Contains(absent[i%5000])
			i++
		}
	})
}

// BenchmarkRemoteContainsKey is ack review: 1000 of our outgoing ids (absent from
// the peer's filter), with cached Keys, against a received default filter holding
// 5000 ids. One op is the 1000 lookups.
func BenchmarkRemoteContainsKey(b *testing.B) {
	r, err := bloom.ParseRemote(defaultFilterWith(5000).Serialized())
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]bloom.Key, 1000)
	for i, id := range benchIDs("ours", 1000) {
		keys[i] = bloom.NewKey(id)
	}
	b.ReportAllocs()
	fp := 0
	for b.Loop() {
		for i := range keys {
			if r.ContainsKey(&keys[i]) {
				fp++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/lookup")
	_ = fp
}

// BenchmarkRemoteContains is the same without cached Keys (hashing every time).
func BenchmarkRemoteContains(b *testing.B) {
	r, err := bloom.ParseRemote(defaultFilterWith(5000).Serialized())
	if err != nil {
		b.Fatal(err)
	}
	ids := benchIDs("ours", 1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, id := range ids {
			r.Contains(id)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/lookup")
}

func BenchmarkParseRemote(b *testing.B) {
	data := defaultFilterWith(5000).Serialized()
	if len(data) != 18768 {
		b.Fatal(len(data))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := bloom.ParseRemote(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSerialized(b *testing.B) {
	r := bloom.NewRolling(bloom.DefaultCapacity, bloom.DefaultErrorRate)
	ids := benchIDs("ser", 4096)
	var buf []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Add(ids[i&4095]) // one Add per outgoing message, then its serialization
		buf = r.AppendSerialized(buf[:0])
		i++
	}
}

func BenchmarkNewKey(b *testing.B) {
	ids := benchIDs("key", 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := bloom.NewKey(ids[i&1023])
		_ = k
		i++
	}
}
