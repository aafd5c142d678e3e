package storetest

import (
	"slices"
	"testing"

	"github.com/logos-messaging/libsds-go/core/store"
)

// Conformance checks that a store keeps the persistence contract: what is
// written comes back from LoadAllForChannel, in insertion order, with updates
// in place; removals and DropChannel take effect; channels are independent; and,
// if the store has them, transactions and channel listing behave. open returns
// a fresh, empty store; reopen (may be nil) returns the same store after a
// simulated restart (for example closing and reopening a database file).
func Conformance(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	if reopen == nil {
		reopen = func(_ *testing.T, s store.Store) store.Store { return s }
	}
	rec := func(s string) []byte { return append([]byte{1, 0, 0xff}, s...) }

	t.Run("UnknownChannelLoadsEmpty", func(t *testing.T) {
		s := open(t)
		snap := load(t, s, "nope")
		if snap.Lamport != 0 || len(snap.Log)+len(snap.Outgoing)+len(snap.Incoming)+
			len(snap.OutgoingRepairs)+len(snap.IncomingRepairs) != 0 {
			t.Fatalf("unknown channel: %+v", snap)
		}
	})

	t.Run("EveryBufferRoundTripsInOrder", func(t *testing.T) {
		s := open(t)
		must(t, s.SaveLamport("c", 7))
		must(t, s.SaveLamport("c", 42))
		for _, id := range []string{"a", "b", "c"} {
			must(t, s.AppendLogEntry("c", id, rec("log-"+id)))
			must(t, s.SaveOutgoing("c", id, rec("out-"+id)))
			must(t, s.SaveIncoming("c", id, rec("in-"+id)))
			must(t, s.SaveOutgoingRepair("c", id, rec("oreq-"+id)))
			must(t, s.SaveIncomingRepair("c", id, rec("iresp-"+id)))
		}
		// updates keep their position
		must(t, s.AppendLogEntry("c", "a", rec("log-a2")))
		must(t, s.SaveOutgoing("c", "a", rec("out-a2")))
		must(t, s.SaveIncoming("c", "a", rec("in-a2")))
		must(t, s.SetRetrievalHint("a", []byte("hint")))
		s = reopen(t, s)
		snap := load(t, s, "c")
		if snap.Lamport != 42 {
			t.Fatalf("lamport %d, want 42", snap.Lamport)
		}
		expect(t, "log", snap.Log, rec("log-a2"), rec("log-b"), rec("log-c"))
		expect(t, "outgoing", snap.Outgoing, rec("out-a2"), rec("out-b"), rec("out-c"))
		expect(t, "incoming", snap.Incoming, rec("in-a2"), rec("in-b"), rec("in-c"))
		expectSet(t, "outgoing repairs", snap.OutgoingRepairs, rec("oreq-a"), rec("oreq-b"), rec("oreq-c"))
		expectSet(t, "incoming repairs", snap.IncomingRepairs, rec("iresp-a"), rec("iresp-b"), rec("iresp-c"))
	})

	t.Run("RemovalsTakeEffect", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"a", "b"} {
			must(t, s.AppendLogEntry("c", id, rec(id)))
			must(t, s.SaveOutgoing("c", id, rec(id)))
			must(t, s.SaveIncoming("c", id, rec(id)))
			must(t, s.SaveOutgoingRepair("c", id, rec(id)))
			must(t, s.SaveIncomingRepair("c", id, rec(id)))
		}
		must(t, s.RemoveLogEntry("c", "a"))
		must(t, s.RemoveOutgoing("c", "b"))
		must(t, s.RemoveIncoming("c", "a"))
		must(t, s.RemoveOutgoingRepair("c", "a"))
		must(t, s.RemoveIncomingRepair("c", "b"))
		must(t, s.RemoveLogEntry("c", "missing")) // removing what is not there is fine
		s = reopen(t, s)
		snap := load(t, s, "c")
		expect(t, "log", snap.Log, rec("b"))
		expect(t, "outgoing", snap.Outgoing, rec("a"))
		expect(t, "incoming", snap.Incoming, rec("b"))
		expect(t, "outgoing repairs", snap.OutgoingRepairs, rec("b"))
		expect(t, "incoming repairs", snap.IncomingRepairs, rec("a"))
	})

	t.Run("ChannelsAreIndependentAndDropWipesOne", func(t *testing.T) {
		s := open(t)
		for _, ch := range []string{"x", "y"} {
			must(t, s.SaveLamport(ch, 5))
			must(t, s.AppendLogEntry(ch, "m", rec(ch)))
			must(t, s.SaveOutgoing(ch, "m", rec(ch)))
			must(t, s.SaveIncoming(ch, "n", rec(ch)))
			must(t, s.SaveOutgoingRepair(ch, "o", rec(ch)))
			must(t, s.SaveIncomingRepair(ch, "p", rec(ch)))
		}
		must(t, s.DropChannel("x"))
		s = reopen(t, s)
		if snap := load(t, s, "x"); snap.Lamport != 0 || len(snap.Log)+len(snap.Outgoing)+len(snap.Incoming)+
			len(snap.OutgoingRepairs)+len(snap.IncomingRepairs) != 0 {
			t.Fatalf("dropped channel still has state: %+v", snap)
		}
		snap := load(t, s, "y")
		expect(t, "log", snap.Log, rec("y"))
		expect(t, "incoming repairs", snap.IncomingRepairs, rec("y"))
		if snap.Lamport != 5 {
			t.Fatalf("lamport %d", snap.Lamport)
		}
		if l, ok := s.(store.ChannelLister); ok {
			ids, err := l.ListChannels()
			must(t, err)
			if !slices.Contains(ids, "y") || slices.Contains(ids, "x") {
				t.Fatalf("ListChannels = %v, want y and not x", ids)
			}
		}
	})

	t.Run("OpaqueBytesAndOddKeys", func(t *testing.T) {
		s := open(t)
		odd := "ch\x00\"'\\é\xff"
		blob := []byte{0, 1, 2, 0xff, 0, 0}
		must(t, s.AppendLogEntry(odd, "id\x00\xfe", blob))
		must(t, s.SaveLamport(odd, -1))
		s = reopen(t, s)
		snap := load(t, s, odd)
		expect(t, "log", snap.Log, blob)
		if snap.Lamport != -1 {
			t.Fatalf("lamport %d, want -1", snap.Lamport)
		}
	})

	t.Run("Transactions", func(t *testing.T) {
		s := open(t)
		tx, ok := s.(store.Transactional)
		if !ok {
			t.Skip("store has no transactions")
		}
		must(t, tx.Begin())
		must(t, s.SaveLamport("t", 1))
		must(t, s.AppendLogEntry("t", "a", rec("a")))
		must(t, tx.Rollback())
		if snap := load(t, s, "t"); snap.Lamport != 0 || len(snap.Log) != 0 {
			t.Fatalf("rolled-back writes visible: %+v", snap)
		}
		must(t, tx.Begin())
		must(t, s.SaveLamport("t", 2))
		must(t, s.AppendLogEntry("t", "b", rec("b")))
		must(t, tx.Commit())
		s = reopen(t, s)
		snap := load(t, s, "t")
		if snap.Lamport != 2 {
			t.Fatalf("lamport %d, want 2", snap.Lamport)
		}
		expect(t, "log", snap.Log, rec("b"))
	})

	t.Run("DueTimes", func(t *testing.T) {
		s := open(t)
		if _, ok := s.(store.DueIndex); !ok {
			t.Skip("store keeps no due times")
		}
		due := func(s store.Store, now int64) []string {
			t.Helper()
			ids, err := s.(store.DueIndex).ChannelsDue(now)
			must(t, err)
			return ids
		}
		for ch, ms := range map[string]int64{"late": 300, "early": 100, "mid": 200, "never": 0} {
			must(t, s.SaveLamport(ch, 1))
			must(t, s.(store.DueIndex).SaveChannelDue(ch, ms))
		}
		must(t, s.(store.DueIndex).SaveChannelDue("mid", 250)) // moved
		s = reopen(t, s)
		if got := due(s, 99); len(got) != 0 {
			t.Fatalf("due at 99: %q", got)
		}
		if got := due(s, 250); !slices.Equal(got, []string{"early", "mid"}) {
			t.Fatalf("due at 250: %q, want [early mid]", got)
		}
		must(t, s.(store.DueIndex).SaveChannelDue("early", 0))
		must(t, s.DropChannel("mid"))
		if got := due(s, 1000); !slices.Equal(got, []string{"late"}) {
			t.Fatalf("due at 1000 after clearing one and dropping one: %q, want [late]", got)
		}
		if tx, ok := s.(store.Transactional); ok {
			must(t, tx.Begin())
			must(t, s.(store.DueIndex).SaveChannelDue("early", 5))
			must(t, tx.Rollback())
			if got := due(s, 1000); !slices.Equal(got, []string{"late"}) {
				t.Fatalf("a rolled-back due time counts: %q", got)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s store.Store, ch string) *store.Snapshot {
	t.Helper()
	snap, err := s.LoadAllForChannel(ch)
	must(t, err)
	if snap == nil {
		t.Fatal("nil snapshot")
	}
	return snap
}

func expect(t *testing.T, what string, got [][]byte, want ...[]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("%s[%d] = %q, want %q", what, i, got[i], want[i])
		}
	}
}

func expectSet(t *testing.T, what string, got [][]byte, want ...[]byte) {
	t.Helper()
	g := make([]string, len(got))
	for i := range got {
		g[i] = string(got[i])
	}
	w := make([]string, len(want))
	for i := range want {
		w[i] = string(want[i])
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s = %q, want %q", what, g, w)
	}
}
