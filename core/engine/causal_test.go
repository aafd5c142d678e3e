package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
)

// nativeDelivery is the configuration of the native C API: READY in causal order,
// with the message's content.
func nativeDelivery() et.Option {
	return et.WithConfig(func(c *engine.Config) { c.CausalReadyOrder, c.ReadyContent = true, true })
}

// readyIDs lists the MessageReady events' ids, and checks each one's content
// is the body MustWrap gave it.
func readyIDs(t *testing.T, evs []engine.Event) []string {
	t.Helper()
	var ids []string
	for _, e := range evs {
		if e.Kind == engine.MessageReady {
			require.Equal(t, "body of "+e.MessageID, string(e.Content), "content of %s", e.MessageID)
			ids = append(ids, e.MessageID)
		}
	}
	return ids
}

func TestCausalOrderAcrossCalls(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t, nativeDelivery())
	m1, m2 := a.MustWrap("m1", "c"), a.MustWrap("m2", "c")
	res := b.MustUnwrap(m2)
	require.Equal(t, "m2", res.MessageID)
	require.Equal(t, []string{"m1"}, et.IDsOf(res.MissingDeps))
	require.Empty(t, readyIDs(t, b.Events.Take()))
	res = b.MustUnwrap(m1)
	require.Equal(t, "m1", res.MessageID)
	require.Equal(t, []string{"m1", "m2"}, readyIDs(t, b.Events.Take()), "m2 cites m1: READY m1 first")
}

func TestCausalOrderOfAChainReleasedInOneCall(t *testing.T) {
	// The chain of TestOutOfOrderChainReleasesLikeNimSds: nim-sds reports
	// m2, m3, m4, m1; the causal order is m1, m2, m3, m4.
	a, c := et.NewPeer(t), et.NewPeer(t, nativeDelivery())
	w := map[string][]byte{}
	for _, id := range []string{"m1", "m2", "m3", "m4"} {
		w[id] = a.MustWrap(id, "c1")
	}
	for _, id := range []string{"m4", "m3", "m2"} {
		c.MustUnwrap(w[id])
	}
	require.Empty(t, readyIDs(t, c.Events.Take()))
	c.MustUnwrap(w["m1"])
	require.Equal(t, []string{"m1", "m2", "m3", "m4"}, readyIDs(t, c.Events.Take()))
	require.Equal(t, []string{"m1", "m2", "m3", "m4"}, c.MustState("c1").Log)
}

func TestCausalOrderAfterMarkDependenciesMet(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t, nativeDelivery())
	_ = a.MustWrap("m1", "c")
	m2, m3 := a.MustWrap("m2", "c"), a.MustWrap("m3", "c")
	b.MustUnwrap(m3)
	b.MustUnwrap(m2)
	b.Events.Take()
	require.NoError(t, b.MarkDependenciesMet([]string{"m1"}, "c"))
	require.Equal(t, []string{"m2", "m3"}, readyIDs(t, b.Events.Take()))
}

func TestReadyContentOfBufferedMessagesSurvivesARestart(t *testing.T) {
	st := memstore.New()
	a, b := et.NewPeer(t), et.NewPeer(t, nativeDelivery(), et.WithStore(st))
	m1, m2 := a.MustWrap("m1", "c"), a.MustWrap("m2", "c")
	b.MustUnwrap(m2)
	b = b.Restart(func() store.Store { return st })
	b.MustUnwrap(m1)
	require.Equal(t, []string{"m1", "m2"}, readyIDs(t, b.Events.Take()))
}

func TestCompatibleOrderAndNoContentByDefault(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t)
	m1, m2 := a.MustWrap("m1", "c"), a.MustWrap("m2", "c")
	b.MustUnwrap(m2)
	b.MustUnwrap(m1)
	evs := b.Events.Take()
	require.Equal(t, []string{"missing_dependencies:m2[m1]@c", "message_ready:m2@c", "message_ready:m1@c"}, et.Summary(evs))
	for _, e := range evs {
		require.Nil(t, e.Content, "no content unless ReadyContent")
	}
}

func TestReadyContentIsACopy(t *testing.T) {
	a, b := et.NewPeer(t), et.NewPeer(t, nativeDelivery())
	m1 := a.MustWrap("m1", "c")
	res := b.MustUnwrap(m1)
	for i := range m1 {
		m1[i] = 0 // the caller reuses its receive buffer
	}
	require.Equal(t, "m1", res.MessageID)
	require.Equal(t, []string{"m1"}, readyIDs(t, b.Events.Take()))
}
