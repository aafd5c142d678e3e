package memstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/memstore"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Conformance(t, func(*testing.T) store.Store { return memstore.New() }, nil)
}

func TestPlainConformance(t *testing.T) {
	storetest.Conformance(t, func(*testing.T) store.Store { return storetest.Plain(memstore.New()) }, nil)
}

func TestTransactionMisuse(t *testing.T) {
	s := memstore.New()
	require.ErrorIs(t, s.Commit(), memstore.ErrNoTransaction)
	require.ErrorIs(t, s.Rollback(), memstore.ErrNoTransaction)
	require.NoError(t, s.Begin())
	require.ErrorIs(t, s.Begin(), memstore.ErrNestedTransaction)
	require.NoError(t, s.Commit())
}

func TestRetrievalHintsKept(t *testing.T) {
	s := memstore.New()
	h := []byte("hash")
	require.NoError(t, s.SetRetrievalHint("m", h))
	h[0] = 'X' // the store keeps its own copy
	got, ok := s.RetrievalHint("m")
	require.True(t, ok)
	require.Equal(t, []byte("hash"), got)
}
