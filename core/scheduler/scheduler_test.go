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

// manualTicker is a Ticker the test drives: tick hands one tick to the loop
// (an unbuffered send, so it returns once the loop took it), and stopped is
// closed when the loop stops the ticker on its way out.
type manualTicker struct {
	every   time.Duration
	c       chan time.Time
	stopped chan struct{}
}

func (m *manualTicker) C() <-chan time.Time { return m.c }
func (m *manualTicker) Stop()               { close(m.stopped) }

// tick gives the loop one tick and fails t if no loop takes it within 5 s.
func (m *manualTicker) tick(t *testing.T) {
	t.Helper()
	select {
	case m.c <- time.Now():
	case <-time.After(5 * time.Second):
		t.Fatalf("no loop took the %v tick", m.every)
	}
}

// taken reports whether a loop takes a tick now, without waiting.
func (m *manualTicker) taken() bool {
	select {
	case m.c <- time.Now():
		return true
	default:
		return false
	}
}

// tickers makes manual tickers and keeps them by interval.
type tickers struct {
	mu sync.Mutex
	by map[time.Duration]*manualTicker
}

func (ts *tickers) new(every time.Duration) scheduler.Ticker {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	m := &manualTicker{every: every, c: make(chan time.Time), stopped: make(chan struct{})}
	if ts.by == nil {
		ts.by = map[time.Duration]*manualTicker{}
	}
	ts.by[every] = m
	return m
}

func (ts *tickers) get(every time.Duration) *manualTicker {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.by[every]
}

// signalling counts task calls and reports each one on a channel.
type signalling struct {
	counting
	called chan string
}

func (c *signalling) SweepBuffers() error {
	err := c.counting.SweepBuffers()
	c.called <- "sweep"
	return err
}
func (c *signalling) SyncTick() error { err := c.counting.SyncTick(); c.called <- "sync"; return err }
func (c *signalling) SweepRepairs() error {
	err := c.counting.SweepRepairs()
	c.called <- "repair"
	return err
}

var distinct = scheduler.Intervals{BufferSweep: 1 * time.Second, Sync: 2 * time.Second, RepairSweep: 3 * time.Second}

func TestLoopsTickAndStopCompletely(t *testing.T) {
	c := &signalling{called: make(chan string, 16)}
	var ts tickers
	r := scheduler.NewWithTicker(c, distinct, nil, ts.new)
	r.Start()
	require.Equal(t, []string{"sweep", "sync", "repair"}, []string{<-c.called, <-c.called, <-c.called})
	for i := 0; i < 3; i++ {
		ts.get(distinct.BufferSweep).tick(t)
		require.Equal(t, "sweep", <-c.called)
		ts.get(distinct.Sync).tick(t)
		require.Equal(t, "sync", <-c.called)
		ts.get(distinct.RepairSweep).tick(t)
		require.Equal(t, "repair", <-c.called)
	}
	require.EqualValues(t, 4, c.syncs.Load())
	first := ts.get(distinct.Sync)
	r.Stop()
	// Stop returned: every loop has exited and stopped its ticker, and none
	// takes a tick any more.
	for _, every := range []time.Duration{distinct.BufferSweep, distinct.Sync, distinct.RepairSweep} {
		m := ts.get(every)
		select {
		case <-m.stopped:
		default:
			t.Fatalf("the %v loop's ticker was not stopped when Stop returned", every)
		}
		require.False(t, m.taken(), "a loop took a tick after Stop returned")
	}
	require.EqualValues(t, 4, c.syncs.Load(), "no tick after Stop returned")
	require.Empty(t, c.called)
	// restartable, with new tickers
	require.True(t, r.Start())
	require.Equal(t, []string{"sweep", "sync", "repair"}, []string{<-c.called, <-c.called, <-c.called})
	require.NotSame(t, first, ts.get(distinct.Sync))
	ts.get(distinct.Sync).tick(t)
	require.Equal(t, "sync", <-c.called)
	r.Stop()
}

func TestErrorsReportedAndClosedManagerEndsLoop(t *testing.T) {
	errs := make(chan error, 4)
	boom := errors.New("boom")
	c := &signalling{counting: counting{fail: boom}, called: make(chan string, 16)}
	var ts tickers
	r := scheduler.NewWithTicker(c, distinct, func(err error) { errs <- err }, ts.new)
	r.Start()
	require.ErrorIs(t, <-errs, boom, "the first run's error")
	ts.get(distinct.BufferSweep).tick(t)
	require.ErrorIs(t, <-errs, boom, "a tick's error")
	r.Stop()
	require.Len(t, errs, 0)

	// closed at the first run: the task's loop never starts
	closed := &signalling{counting: counting{fail: engine.ErrClosed}, called: make(chan string, 16)}
	ts = tickers{}
	r = scheduler.NewWithTicker(closed, distinct, nil, ts.new)
	r.Start()
	require.Nil(t, ts.get(distinct.BufferSweep), "no loop for a task of a closed manager")
	require.NotNil(t, ts.get(distinct.Sync))
	require.Equal(t, int32(1), closed.sweeps.Load())
	r.Stop()

	// closed later: the loop ends at the tick that finds it closed
	later := &closingLater{called: make(chan struct{}, 4)}
	ts = tickers{}
	r = scheduler.NewWithTicker(later, distinct, nil, ts.new)
	r.Start()
	<-later.called
	later.closed.Store(true)
	sweep := ts.get(distinct.BufferSweep)
	sweep.tick(t)
	<-later.called
	select {
	case <-sweep.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop of a closed manager did not end")
	}
	require.False(t, sweep.taken())
	require.True(t, r.Running(), "the other loops go on")
	r.Stop()
}

// closingLater's buffer sweep succeeds until closed is set, then returns
// engine.ErrClosed.
type closingLater struct {
	closed atomic.Bool
	called chan struct{}
}

func (c *closingLater) SweepBuffers() error {
	defer func() { c.called <- struct{}{} }()
	if c.closed.Load() {
		return engine.ErrClosed
	}
	return nil
}
func (c *closingLater) SyncTick() error     { return nil }
func (c *closingLater) SweepRepairs() error { return nil }
