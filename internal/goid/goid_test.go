package goid_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/internal/goid"
)

func TestDistinctPerGoroutineAndStable(t *testing.T) {
	me := goid.Current()
	require.NotZero(t, me)
	require.Equal(t, me, goid.Current())
	other := make(chan uint64)
	go func() { other <- goid.Current() }()
	id := <-other
	require.NotZero(t, id)
	require.NotEqual(t, me, id)
}
