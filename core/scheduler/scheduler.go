// Package scheduler runs a manager's periodic work on timers: the buffer sweep,
// the sync notification and the SDS-R repair sweep. Protocol time comes from the
// manager's clock; this package only decides when to call, with real timers
// (or, in tests, tickers the test drives: NewWithTicker).
package scheduler

import (
	"errors"
	"sync"
	"time"

	"github.com/logos-messaging/libsds-go/core/engine"
)

// Tasks is the periodic work; *engine.Manager implements it.
type Tasks interface {
	SweepBuffers() error
	SyncTick() error
	SweepRepairs() error
}

// Intervals pace the three tasks.
type Intervals struct {
	BufferSweep time.Duration
	Sync        time.Duration
	RepairSweep time.Duration
}

// IntervalsOf takes the intervals from a manager's configuration.
func IntervalsOf(cfg engine.Config) Intervals {
	return Intervals{BufferSweep: cfg.BufferSweepInterval, Sync: cfg.SyncInterval, RepairSweep: cfg.RepairSweepInterval}
}

// Ticker paces one task's loop: a tick on C runs the task once.
type Ticker interface {
	// C delivers the ticks.
	C() <-chan time.Time
	// Stop ends the ticks; the loop calls it when it exits.
	Stop()
}

// TickerFunc makes the ticker of a loop that runs every interval.
type TickerFunc func(every time.Duration) Ticker

// timeTicker is a Ticker on a *time.Ticker.
type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

// TimeTicker is the TickerFunc of real time: a *time.Ticker.
func TimeTicker(every time.Duration) Ticker { return timeTicker{time.NewTicker(every)} }

// Runner calls the tasks periodically between Start and Stop.
type Runner struct {
	tasks     Tasks
	intervals Intervals
	onError   func(error)
	newTicker TickerFunc

	mu      sync.Mutex
	stop    chan struct{}
	stopped sync.WaitGroup
}

// New returns a stopped runner. onError (may be nil) receives the errors the
// tasks return, from the runner's goroutines; it must not call Stop.
func New(t Tasks, iv Intervals, onError func(error)) *Runner {
	return NewWithTicker(t, iv, onError, TimeTicker)
}

// NewWithTicker is New with the loops paced by tickers from newTicker instead
// of real time, so that a test can tick them itself.
func NewWithTicker(t Tasks, iv Intervals, onError func(error), newTicker TickerFunc) *Runner {
	if onError == nil {
		onError = func(error) {}
	}
	return &Runner{tasks: t, intervals: iv, onError: onError, newTicker: newTicker}
}

// Start runs each task once, synchronously (as nim-sds's loops run their first
// iteration at once), then keeps running them every interval. It is idempotent:
// it returns false, doing nothing, if the runner is already running.
func (r *Runner) Start() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return false
	}
	stop := make(chan struct{})
	r.stop = stop
	for _, job := range []struct {
		run   func() error
		every time.Duration
	}{
		{r.tasks.SweepBuffers, r.intervals.BufferSweep},
		{r.tasks.SyncTick, r.intervals.Sync},
		{r.tasks.SweepRepairs, r.intervals.RepairSweep},
	} {
		if !r.call(job.run) {
			continue
		}
		r.stopped.Add(1)
		go r.loop(job.run, r.newTicker(job.every), stop)
	}
	return true
}

// call runs one task and reports whether its loop should go on.
func (r *Runner) call(run func() error) bool {
	err := run()
	if errors.Is(err, engine.ErrClosed) {
		return false
	}
	if err != nil {
		r.onError(err)
	}
	return true
}

func (r *Runner) loop(run func() error, t Ticker, stop chan struct{}) {
	defer r.stopped.Done()
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C():
			if !r.call(run) {
				return
			}
		}
	}
}

// Stop halts the loops and waits until no task is running. It is idempotent.
func (r *Runner) Stop() {
	r.mu.Lock()
	stop := r.stop
	r.stop = nil
	r.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	r.stopped.Wait()
}

// Running reports whether the runner is started.
func (r *Runner) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stop != nil
}
