package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/clock"
)

func TestFake(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	f := clock.NewFake(start)
	require.Equal(t, start, f.Now())
	require.Equal(t, start.Add(time.Minute), f.Advance(time.Minute))
	require.Equal(t, start.Add(time.Minute), f.Now())
	f.Set(start)
	require.Equal(t, start, f.Now())
}

func TestSystemMovesForward(t *testing.T) {
	var c clock.Clock = clock.System{}
	a := c.Now()
	require.False(t, c.Now().Before(a))
}
