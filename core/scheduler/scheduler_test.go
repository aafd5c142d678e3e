package scheduler_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/scheduler"
)

type counting struct {
	sweeps, syncs, repairs atomic.Int32
	fail                   error
}

func (c *counting) SweepBuffers() error { c.sweeps.Add(1); return c.fail }
func (c *counting) SyncTick() error     { c.syncs.Add(1); return nil }
func (c *counting) SweepRepairs() error { c.repairs.Add(1); return nil }

func TestStartRunsFirstTickAtOnceAndIsIdempotent(t *testing.T) {
	c := &counting{}
	r := scheduler.New(c, scheduler.Intervals{BufferSweep: time.Hour, Sync: time.Hour, RepairSweep: time.Hour}, nil)
	require.True(t, r.Start())
	require.False(t, r.Start(), "second start must not start a second set of loops")
	require.Equal(t, int32(1), c.sweeps.Load())
	require.Equal(t, int32(1), c.syncs.Load())
	require.Equal(t, int32(1), c.repairs.Load())
	require.True(t, r.Running())
	r.Stop()
	r.Stop()
	require.False(t, r.Running())
}

func TestLoopsTickAndStopCompletely(t *testing.T) {
	c := &counting{}
	r := scheduler.New(c, scheduler.Intervals{BufferSweep: time.Millisecond, Sync: time.Millisecond, RepairSweep: time.Millisecond}, nil)
	r.Start()
	require.Eventually(t, func() bool { return c.syncs.Load() >= 5 && c.sweeps.Load() >= 5 && c.repairs.Load() >= 5 },
		5*time.Second, time.Millisecond)
	r.Stop()
	after := c.syncs.Load()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, after, c.syncs.Load(), "no tick after Stop returned")
	// restartable
	require.True(t, r.Start())
	r.Stop()
}

func TestErrorsReportedAndClosedManagerEndsLoop(t *testing.T) {
	var mu sync.Mutex
	var got []error
	boom := errors.New("boom")
	c := &counting{fail: boom}
	r := scheduler.New(c, scheduler.Intervals{BufferSweep: time.Millisecond, Sync: time.Hour, RepairSweep: time.Hour},
		func(err error) { mu.Lock(); got = append(got, err); mu.Unlock() })
	r.Start()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 }, 5*time.Second, time.Millisecond)
	r.Stop()
	mu.Lock()
	require.ErrorIs(t, got[0], boom)
	mu.Unlock()

	closed := &counting{fail: engine.ErrClosed}
	r = scheduler.New(closed, scheduler.Intervals{BufferSweep: time.Millisecond, Sync: time.Hour, RepairSweep: time.Hour}, nil)
	r.Start()
	time.Sleep(10 * time.Millisecond)
	require.Equal(t, int32(1), closed.sweeps.Load(), "a closed manager stops its loop")
	r.Stop()
}
