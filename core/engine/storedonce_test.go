package engine_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/record"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

func storedBytes(t *testing.T, s store.Store, ch string) (total int) {
	t.Helper()
	snap, err := s.LoadAllForChannel(ch)
	require.NoError(t, err)
	for _, recs := range [][][]byte{snap.Log, snap.Outgoing, snap.Incoming, snap.OutgoingRepairs, snap.IncomingRepairs} {
		for _, r := range recs {
			total += len(r)
		}
	}
	return total
}

// A sender stores each of its messages once: the outgoing record names the
// log record instead of repeating the message, so the sender's store is about
// the receiver's size (it was twice).
func TestSenderStoresEachMessageOnce(t *testing.T) {
	sa, sb := memstore.New(), memstore.New()
	alice := et.NewPeer(t, et.WithID("alice"), et.WithStore(sa), et.WithHints(func(id string) []byte { return []byte("hint-" + id) }))
	bob := et.NewPeer(t, et.WithID("bob"), et.WithStore(sb))
	const n = 200
	for i := range n {
		bob.MustUnwrap(alice.MustWrap(fmt.Sprintf("m-%d", i), "c"))
	}
	require.Len(t, alice.MustState("c").Outgoing, n, "nothing acknowledged: every message is also outgoing")
	sender, receiver := storedBytes(t, sa, "c"), storedBytes(t, sb, "c")
	t.Logf("bytes per message: sender %d, receiver %d", sender/n, receiver/n)
	require.LessOrEqual(t, float64(sender), 1.2*float64(receiver))
}

// An outgoing message the log evicts is written into its outgoing record
// first (the form every outgoing record had before); one still in the log is
// restored from the log record.
func TestOutgoingSurvivesLogEvictionAcrossRestart(t *testing.T) {
	s := memstore.New()
	small := et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = 5 })
	alice := et.NewPeer(t, et.WithID("alice"), et.WithStore(s), small)
	var sent [][]byte
	for i := range 12 {
		sent = append(sent, alice.MustWrap(fmt.Sprintf("m-%d", i), "c"))
	}
	before := alice.MustState("c")
	require.Len(t, before.Outgoing, 12)
	require.Len(t, before.Log, 5)
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	full := 0
	for _, rec := range snap.Outgoing {
		r, err := record.UnmarshalOutgoing(rec)
		require.NoError(t, err)
		if len(r.Message) > 0 {
			full++
		}
	}
	require.Equal(t, 7, full, "the evicted messages, and only those, are in their outgoing records")

	alice2 := restart(alice, s, small)
	et.RequireReloaded(t, before, alice2.MustState("c"))
	// the restored messages are the ones sent: a peer that cites them acknowledges them
	bob := et.NewPeer(t, et.WithID("bob"))
	for _, m := range sent {
		bob.MustUnwrap(m)
	}
	alice2.Events.Take()
	alice2.MustUnwrap(bob.MustWrap("ack", "c"))
	require.Empty(t, alice2.MustState("c").Outgoing)
}

// An outgoing record that names a log record the store does not have comes
// from a store that cannot group writes and lost the second write of a wrap
// that never returned: the message was never sent, and loading skips it.
func TestOutgoingRecordWithoutItsLogRecord(t *testing.T) {
	s := memstore.New()
	alice := et.NewPeer(t, et.WithID("alice"), et.WithStore(s))
	alice.MustWrap("kept", "c")
	require.NoError(t, s.SaveOutgoing("c", "lost", record.Outgoing{SendTimeMs: 1, ID: "lost"}.Marshal()))
	alice2 := restart(alice, s)
	var ids []string
	for _, o := range alice2.MustState("c").Outgoing {
		ids = append(ids, o.ID)
	}
	require.Equal(t, []string{"kept"}, ids)
}

// The two budgets meet: the log lets go of an own message's body
// (MaxHistoryBytes) while its outgoing record names the log record, then
// evicts the log record (MaxMessageHistory). The outgoing record is written in
// full before that, so a restart still tracks every unacknowledged message.
func TestOutgoingSurvivesBodyLetGoThenEviction(t *testing.T) {
	s := memstore.New()
	tight := et.WithConfig(func(c *engine.Config) {
		c.MaxMessageHistory = 3
		c.MaxHistoryBytes = 1 // every body is let go as soon as the next arrives
	})
	alice := et.NewPeer(t, et.WithID("alice"), et.WithStore(s), tight)
	for i := range 8 {
		alice.MustWrap(fmt.Sprintf("m-%d", i), "c")
	}
	before := alice.MustState("c")
	require.Len(t, before.Outgoing, 8)
	restarted := alice.Restart(func() store.Store { return s })
	after := restarted.MustState("c")
	require.Equal(t, before.Outgoing, after.Outgoing, "every unacknowledged message survives the restart")
}
