//go:build cgo

package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logos-messaging/libsds-go/core/clock"
	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// The benchmarks put the database in the test's temporary directory: run
// them where that is on the disk whose cost you want to know (TMPDIR), not on
// a tmpfs, where an fsync costs nothing.

var payload = make([]byte, 100)

func hint(id string) []byte { return []byte("hash-" + id) }

// benchStores returns the sender's and the receiver's store: "memory" is
// memstore; "normal" and "full" are SQLite stores at that durability, each in
// a file of its own, or in two namespaces of one file if shared.
func benchStores(b *testing.B, kind string, shared bool) (alice, bob store.Store, paths []string) {
	b.Helper()
	if kind == "memory" {
		return memstore.New(), memstore.New(), nil
	}
	d := sqlite.DurabilityNormal
	if kind == "full" {
		d = sqlite.DurabilityFull
	}
	dir := b.TempDir()
	open := func(file, ns string) *sqlite.Store {
		s, err := sqlite.Open(filepath.Join(dir, file), sqlite.Options{Namespace: ns, Durability: d})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	if shared {
		return open("shared.db", "alice"), open("shared.db", "bob"), []string{filepath.Join(dir, "shared.db")}
	}
	return open("alice.db", "alice"), open("bob.db", "bob"), []string{filepath.Join(dir, "alice.db"), filepath.Join(dir, "bob.db")}
}

func benchManager(b *testing.B, id string, s store.Store, clk clock.Clock) *engine.Manager {
	b.Helper()
	cfg := engine.DefaultConfig()
	cfg.MaxOutgoingBuffer = 1000 // as the engine's benchmarks: a steady outgoing buffer
	m, err := engine.New(engine.Options{ParticipantID: id, Config: &cfg, Store: s, Clock: clk, HintProvider: hint,
		Events: engine.EventSinkFunc(func([]engine.Event) {})})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func pair(b *testing.B, alice, bob *engine.Manager, id, ch string) {
	msg, err := alice.Wrap(payload, id, ch)
	if err != nil {
		b.Fatal(err)
	}
	res, err := bob.Unwrap(msg)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.MissingDeps) != 0 {
		b.Fatalf("%s: missing %d dependencies", id, len(res.MissingDeps))
	}
}

// BenchmarkWrapUnwrapPair: alice wraps a 100-byte message on one channel, bob
// unwraps it; each has a manager and a store of its own: memstore ("memory"),
// or an SQLite file each at normal or full durability, or ("normal-shared")
// two namespaces of one file. The channel is first brought to a steady state:
// full history, full outgoing buffer (so every wrap also evicts a log entry
// and gives up an unacknowledged message), ten retrieval hints per wrap.
func BenchmarkWrapUnwrapPair(b *testing.B) {
	for _, kind := range []string{"memory", "normal", "full", "normal-shared"} {
		b.Run(kind, func(b *testing.B) {
			sa, sb, _ := benchStores(b, strings.TrimSuffix(kind, "-shared"), strings.HasSuffix(kind, "-shared"))
			clk := clock.NewFake(et.Epoch)
			alice, bob := benchManager(b, "alice", sa, clk), benchManager(b, "bob", sb, clk)
			for i := 0; i < 1200; i++ {
				pair(b, alice, bob, fmt.Sprint("warm-", i), "c")
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				pair(b, alice, bob, fmt.Sprint("m-", i), "c")
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}

// BenchmarkGrowth: wrap+unwrap pairs round-robin over 100 channels until
// alice has wrapped 100,000 messages (bob then holds 100,000 in his logs and
// alice 100,000 in hers and 100,000 unacknowledged), at normal durability,
// each in a file of its own. It
// reports the mean cost of a pair over the first and the last 5% and their
// ratio, which must stay near 1. One iteration takes a while: run it with
// -benchtime=1x.
func BenchmarkGrowth(b *testing.B) {
	const n, channels = 100_000, 100
	const edge = n / 20
	for b.Loop() {
		b.StopTimer()
		sa, sb, paths := benchStores(b, "normal", false)
		clk := clock.NewFake(et.Epoch)
		alice, bob := benchManager(b, "alice", sa, clk), benchManager(b, "bob", sb, clk)
		b.StartTimer()
		var first, last time.Duration
		for i := 0; i < n; i++ {
			t0 := time.Now()
			pair(b, alice, bob, fmt.Sprint("m-", i), fmt.Sprint("channel-", i%channels))
			d := time.Since(t0)
			switch {
			case i < edge:
				first += d
			case i >= n-edge:
				last += d
			}
		}
		b.StopTimer()
		var size int64
		for _, p := range paths {
			for _, suffix := range []string{"", "-wal"} {
				if fi, err := os.Stat(p + suffix); err == nil {
					size += fi.Size()
				}
			}
		}
		b.ReportMetric(float64(first.Microseconds())/edge, "first5%-µs/pair")
		b.ReportMetric(float64(last.Microseconds())/edge, "last5%-µs/pair")
		b.ReportMetric(float64(last)/float64(first), "last/first")
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		b.StartTimer()
	}
}

// BenchmarkFsync: the raw cost of a transaction on this machine, one
// single-row insert per transaction, through the Store (Begin, AppendLogEntry,
// Commit) and through a bare connection with the same pragmas, at both
// durability levels. Beside BenchmarkWrapUnwrapPair it tells how much of a
// pair's cost at FULL is the disk.
func BenchmarkFsync(b *testing.B) {
	for _, kind := range []string{"normal", "full"} {
		b.Run("store/"+kind, func(b *testing.B) {
			s, _, _ := benchStores(b, kind, false)
			rec := make([]byte, 200)
			i := 0
			for b.Loop() {
				if err := s.(*sqlite.Store).Begin(); err != nil {
					b.Fatal(err)
				}
				if err := s.AppendLogEntry("c", fmt.Sprint("m-", i), rec); err != nil {
					b.Fatal(err)
				}
				if err := s.(*sqlite.Store).Commit(); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tx/s")
		})
		b.Run("raw/"+kind, func(b *testing.B) {
			sync := map[string]string{"normal": "NORMAL", "full": "FULL"}[kind]
			db := rawDB(b, filepath.Join(b.TempDir(), "raw.db"))
			db.SetMaxOpenConns(1)
			for _, q := range []string{"PRAGMA journal_mode = WAL", "PRAGMA synchronous = " + sync, "CREATE TABLE t (x BLOB)"} {
				if _, err := db.Exec(q); err != nil {
					b.Fatal(err)
				}
			}
			st, err := db.Prepare("INSERT INTO t VALUES (?)")
			if err != nil {
				b.Fatal(err)
			}
			rec := make([]byte, 200)
			i := 0
			for b.Loop() {
				if _, err := st.Exec(rec); err != nil { // autocommit: one transaction
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
