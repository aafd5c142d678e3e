//go:build cgo

package crash

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/logos-messaging/libsds-go/core/engine"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// What crash_child.c uses.
const (
	channelID   = "crash-ch"
	namespace   = "crash"
	participant = "crash"
	maxResend   = 3
)

// minKills is the number of kills, each while an operation was in flight, the
// test must reach; it aims for defaultKills (SDS_CRASH_KILLS overrides) within
// budget.
const (
	minKills     = 50
	defaultKills = 100
	budget       = 100 * time.Second
)

// The child's configuration of M, for the Go engine that reads the state back.
func childConfig() engine.Config {
	cfg := engine.DefaultConfig()
	cfg.MaxMessageHistory = 1000000
	cfg.ResendInterval = 20 * time.Millisecond
	cfg.MaxResendAttempts = maxResend
	cfg.RepairTMin = time.Millisecond
	cfg.RepairTMax = 30 * time.Millisecond
	return cfg
}

// TestCrash kills crash_child at random moments, always while an operation on
// M is in flight, at least minKills times, and after each kill checks the
// database file and the state it holds against everything the child reported.
func TestCrash(t *testing.T) {
	child := os.Getenv("SDS_CRASH_CHILD")
	if child == "" {
		t.Skip("SDS_CRASH_CHILD is not set (run `make test-crash`)")
	}
	if _, err := os.Stat(child); err != nil {
		t.Skipf("crash child not built: %v", err)
	}
	if lib := os.Getenv("SDS_LIBRARY"); lib != "" {
		if _, err := os.Stat(lib); err != nil {
			t.Skipf("libsds not built: %v", err)
		}
	}
	target := defaultKills
	if v, err := strconv.Atoi(os.Getenv("SDS_CRASH_KILLS")); err == nil {
		target = max(v, minKills)
	}
	maxRuns := 20 * target
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("SDS_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (set SDS_CRASH_SEED to repeat the choices)", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5DEECE66D))

	path := filepath.Join(t.TempDir(), "crash.db")
	h := newHistory()
	var gaps []string
	start := time.Now()
	stats := newStats()
	runs, kills := 0, 0
	for kills < target && runs < maxRuns && time.Since(start) < budget {
		runs++
		durability := "normal"
		if runs%2 == 1 {
			durability = "full"
		}
		delay := time.Duration(rng.IntN(41)) * time.Millisecond
		res, err := runChild(child, path, runs, durability, rng.Uint64(), gaps, delay)
		if err != nil {
			t.Fatalf("run %d (%s): %v\nstderr:\n%s\nlast lines:\n%s", runs, durability, err, res.stderr, tail(res.lines, 30))
		}
		fl, errs := h.apply(res.lines)
		counted := fl != nil && !fl.returned
		if counted {
			kills++
			stats.kill(durability, fl.op)
		}
		stats.run(res.lines)

		errs = append(errs, integrityCheck(path)...)
		st, ok, err := reopen(path)
		if err != nil {
			errs = append(errs, "reopen: "+err.Error())
		} else {
			errs = append(errs, h.check(st, ok, fl)...)
			gaps = pendingDeps(st)
			stats.state(st)
		}
		if len(errs) > 0 {
			where := "no operation begun"
			if fl != nil {
				where = fmt.Sprintf("in flight: %s %s", fl.op, fl.id)
				if fl.returned {
					where = fmt.Sprintf("after %s %s returned (kill not counted)", fl.op, fl.id)
				}
			}
			t.Fatalf("run %d (%s, killed after %v, %s): %d invariant(s) broken:\n  %s\nlast lines:\n%s",
				runs, durability, delay, where, len(errs), strings.Join(first(errs, 40), "\n  "), tail(res.lines, 40))
		}
	}
	t.Logf("%d runs, %s in %v", runs, stats, time.Since(start).Round(time.Millisecond))
	if kills < minKills {
		t.Fatalf("only %d kills landed while an operation was in flight in %d runs (need %d)", kills, runs, minKills)
	}
}

// ---------------------------------------------------------------------------
// the child process

type runResult struct {
	lines  []string
	stderr string
}

// runChild starts the child on path, waits for it to open its manager, waits
// delay more, then kills it with SIGKILL at the first moment its last
// operation line is a B (an operation started and not ended), and returns
// every line it wrote.
func runChild(child, path string, run int, durability string, seed uint64, gaps []string, delay time.Duration) (runResult, error) {
	args := append([]string{path, strconv.Itoa(run), durability, strconv.FormatUint(seed, 10)}, gaps...)
	cmd := exec.Command(child, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return runResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return runResult{}, err
	}

	var (
		mu      sync.Mutex
		lines   []string
		pending bool // the last operation line is a B
		armed   bool
		killed  bool
		once    sync.Once
	)
	started := make(chan struct{})
	done := make(chan struct{})
	kill := func() { // with mu held
		if !killed {
			killed = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	go func() {
		defer close(done)
		r := bufio.NewReaderSize(stdout, 1<<16)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // EOF; whole lines only, so nothing is cut
			}
			line = strings.TrimSuffix(line, "\n")
			mu.Lock()
			lines = append(lines, line)
			switch {
			case strings.HasPrefix(line, "B "):
				pending = true
				if armed {
					kill()
				}
			case strings.HasPrefix(line, "E "):
				pending = false
			case strings.HasPrefix(line, "S "):
				once.Do(func() { close(started) })
			}
			mu.Unlock()
		}
	}()

	select {
	case <-started:
	case <-done:
	case <-time.After(20 * time.Second):
	}
	time.Sleep(delay) // not synchronisation: the kill lands at a random point of the run
	mu.Lock()
	armed = true
	if pending {
		kill()
	}
	mu.Unlock()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		kill()
		mu.Unlock()
		<-done
	}
	werr := cmd.Wait()
	mu.Lock()
	res := runResult{lines: lines, stderr: stderr.String()}
	wasKilled := killed
	mu.Unlock()
	for _, l := range res.lines {
		if strings.HasPrefix(l, "F ") {
			return res, fmt.Errorf("the child failed: %s", l)
		}
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !wasKilled || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return res, fmt.Errorf("the child ended by itself: %v", werr)
	}
	return res, nil
}

// ---------------------------------------------------------------------------
// what the child reported, over all runs

// inflight is the last operation on M a run began.
type inflight struct {
	op, id       string
	sweepsBefore int  // sweeps begun before this operation began
	returned     bool // its E line came: the kill does not count
}

type history struct {
	seq             int
	wrapB           map[string]int   // own id -> sweeps begun before its wrap began
	wrapE           map[string]int64 // own id -> lamport of its wrap (the wrap returned)
	lastWrapLamport int64
	acked, givenUp  map[string]bool
	ready           map[string]bool
	unwrapB         map[string]int  // P id -> line number of M's unwrap B
	unwrapE         map[string]bool // P id -> M's unwrap returned
	seenBefore      map[string]map[string]bool
	markE           map[string]int // dep id -> line number of the last returned mark
	sweepsB         int
	reopenLamport   int64
	// The operations in flight at earlier kills, as the reopen after each kill
	// found them: committed (they must stay, like those that returned) or lost
	// (they must never appear).
	committed map[string]bool // own ids whose wrap, P ids whose unwrap, was in flight and committed
	lost      map[string]bool
	// Own messages that left the outgoing buffer in an operation in flight at
	// a kill (acknowledged or given up, its event never delivered).
	removedAtKill map[string]bool
}

func newHistory() *history {
	return &history{
		wrapB: map[string]int{}, wrapE: map[string]int64{},
		acked: map[string]bool{}, givenUp: map[string]bool{}, ready: map[string]bool{},
		unwrapB: map[string]int{}, unwrapE: map[string]bool{},
		seenBefore: map[string]map[string]bool{}, markE: map[string]int{},
		committed: map[string]bool{}, lost: map[string]bool{}, removedAtKill: map[string]bool{},
	}
}

// apply adds one run's lines; it returns the last operation the child began
// (nil if none), returned or not: the kill counts if it had not returned.
func (h *history) apply(lines []string) (fl *inflight, errs []string) {
	pSeen := map[string]bool{} // P is new in every run
	for _, line := range lines {
		h.seq++
		f := strings.Fields(line)
		if len(f) == 0 {
			errs = append(errs, fmt.Sprintf("empty line %d", h.seq))
			continue
		}
		arg := func(i int) string {
			if i < len(f) {
				return f[i]
			}
			errs = append(errs, fmt.Sprintf("short line %q", line))
			return ""
		}
		switch f[0] {
		case "S", "M", "RR":
		case "B":
			op, id := arg(1), arg(2)
			fl = &inflight{op: op, id: id, sweepsBefore: h.sweepsB}
			switch op {
			case "wrap":
				h.wrapB[id] = h.sweepsB
			case "unwrap":
				h.unwrapB[id] = h.seq
			case "sweep":
				h.sweepsB++
			}
		case "E":
			op, id, status := arg(1), arg(2), arg(3)
			if fl == nil || fl.returned || fl.op != op || fl.id != id {
				errs = append(errs, fmt.Sprintf("%q ends no operation in flight", line))
			} else {
				fl.returned = true
			}
			if status != "0" {
				errs = append(errs, fmt.Sprintf("operation failed: %q", line))
				continue
			}
			switch op {
			case "wrap":
				l, err := strconv.ParseInt(arg(4), 10, 64)
				if err != nil {
					errs = append(errs, fmt.Sprintf("bad lamport in %q", line))
				}
				// lamport never goes back, across kills too: each wrap's is above the last
				if l <= h.lastWrapLamport {
					errs = append(errs, fmt.Sprintf("wrap %s carries lamport %d, not above the previous wrap's %d", id, l, h.lastWrapLamport))
				}
				h.lastWrapLamport = max(h.lastWrapLamport, l)
				h.wrapE[id] = l
			case "unwrap":
				h.unwrapE[id] = true
			case "mark":
				h.markE[id] = h.seq
			}
		case "PW":
			seen := make(map[string]bool, len(pSeen))
			for id := range pSeen {
				seen[id] = true
			}
			h.seenBefore[arg(1)] = seen
		case "P":
			pSeen[arg(1)] = true
		case "R":
			h.ready[arg(1)] = true
		case "A":
			h.acked[arg(1)] = true
		case "G":
			h.givenUp[arg(1)] = true
		case "F":
			errs = append(errs, "child: "+line)
		default:
			errs = append(errs, fmt.Sprintf("unknown line %q", line))
		}
	}
	return fl, errs
}

func own(id string) bool { return strings.HasPrefix(id, "m") }

// check compares the reopened state with the history, fl being the last
// operation the child began: if it had not returned it may or may not have
// committed; returned or not, its events may not have been delivered when the
// child died (the kill can land after its E line, while the child waits for
// its events). The child waits for each operation's events before it begins
// the next one, so only fl can have undelivered events.
func (h *history) check(st engine.ChannelState, ok bool, fl *inflight) []string {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	inLog := map[string]bool{}
	for _, id := range st.Log {
		if inLog[id] {
			bad("%s is in the log twice", id)
		}
		inLog[id] = true
	}
	inOut := map[string]bool{}
	for _, o := range st.Outgoing {
		if inOut[o.ID] {
			bad("%s is in the outgoing buffer twice", o.ID)
		}
		inOut[o.ID] = true
		if o.ResendAttempts < 0 || o.ResendAttempts > maxResend {
			bad("%s has %d resend attempts", o.ID, o.ResendAttempts)
		}
	}
	waiting := map[string][]string{}
	for _, in := range st.Incoming {
		waiting[in.ID] = in.Missing
	}
	if !ok && len(h.wrapE)+len(h.unwrapE) > 0 {
		bad("the channel is gone although operations on it returned")
	}

	// removedExplained: an own message no longer unacknowledged — because its
	// acknowledgement or give-up was reported, or the operation in flight may
	// have done it (an unwrap of a P message sent after P saw it; a sweep after
	// enough earlier sweeps to have used up its resend attempts).
	removedExplained := func(id string) bool {
		if h.acked[id] || h.givenUp[id] || h.removedAtKill[id] {
			return true
		}
		if fl == nil {
			return false
		}
		switch fl.op {
		case "unwrap":
			return h.seenBefore[fl.id][id]
		case "sweep":
			b, ok := h.wrapB[id]
			return ok && fl.sweepsBefore-b >= maxResend
		}
		return false
	}

	// (a) every message whose wrap returned (or committed at an earlier kill)
	// is in the log (nothing is evicted) and unacknowledged, or its removal is
	// explained
	for id := range h.wrapB {
		_, returned := h.wrapE[id]
		if !returned && !h.committed[id] {
			continue
		}
		if !inLog[id] {
			bad("wrap %s returned or committed but %s is not in the log", id, id)
		}
		if !inOut[id] && !removedExplained(id) {
			bad("wrap %s returned or committed; %s is not in the outgoing buffer, and was not reported acknowledged or given up (nor could the operation in flight have removed it)", id, id)
		}
	}
	// (b) every message reported ready is in the log; every acknowledged or
	// given-up message has left the outgoing buffer
	for id := range h.ready {
		if !inLog[id] {
			bad("%s was reported ready but is not in the log", id)
		}
		if _, w := waiting[id]; w {
			bad("%s was reported ready but waits for dependencies", id)
		}
	}
	for id := range h.acked {
		if inOut[id] {
			bad("%s was reported acknowledged but is in the outgoing buffer", id)
		}
	}
	for id := range h.givenUp {
		if inOut[id] {
			bad("%s was reported given up but is in the outgoing buffer", id)
		}
	}
	// (c) lamport never goes back
	if st.Lamport < h.lastWrapLamport {
		bad("reopened lamport %d is below the lamport %d of a wrap that returned", st.Lamport, h.lastWrapLamport)
	}
	if st.Lamport < h.reopenLamport {
		bad("reopened lamport %d is below the %d of the previous reopen", st.Lamport, h.reopenLamport)
	}
	h.reopenLamport = max(h.reopenLamport, st.Lamport)

	// (d) no operation is half there
	for _, id := range st.Log {
		if own(id) {
			if _, began := h.wrapB[id]; !began {
				bad("own message %s is in the log but was never wrapped", id)
				continue
			}
			if h.lost[id] {
				bad("own message %s is in the log but was not after the kill during its wrap", id)
			}
			if _, returned := h.wrapE[id]; !returned && !h.committed[id] && (fl == nil || fl.returned || fl.op != "wrap" || fl.id != id) {
				bad("own message %s is in the log but its wrap neither returned nor was in flight", id)
			}
			if !inOut[id] && !removedExplained(id) {
				bad("own message %s is in the log but neither in the outgoing buffer nor reported acknowledged or given up", id)
			}
			continue
		}
		if _, w := waiting[id]; w {
			bad("%s is both in the log and waiting", id)
		}
	}
	for id := range inOut {
		if !inLog[id] {
			bad("%s is in the outgoing buffer but not in the log", id)
		}
		if !own(id) {
			bad("%s is in the outgoing buffer but is not ours", id)
		}
	}
	received := func(id string) {
		if _, ok := h.unwrapB[id]; !ok {
			bad("%s is held but was never given to M", id)
			return
		}
		if h.lost[id] {
			bad("%s is held but was not after the kill during its unwrap", id)
		}
		for x := range h.seenBefore[id] {
			if inOut[x] {
				bad("%s is held (its unwrap committed) but %s, which P had seen before sending it, is still unacknowledged", id, x)
			}
		}
	}
	for _, id := range st.Log {
		if !own(id) {
			received(id)
		}
	}
	for id, missing := range waiting {
		received(id)
		for _, d := range missing {
			if inLog[d] {
				bad("%s waits for %s, which is in the log", id, d)
			}
			if at, marked := h.markE[d]; marked && at > h.unwrapB[id] {
				bad("%s waits for %s, which was marked met after %s arrived", id, d, id)
			}
		}
	}
	for id := range h.unwrapB {
		_, w := waiting[id]
		if (h.unwrapE[id] || h.committed[id]) && !inLog[id] && !w {
			bad("unwrap %s returned or committed but %s is neither in the log nor waiting", id, id)
		}
	}

	// the operation in flight: from now on it counts as committed or lost,
	// and what it removed from the outgoing buffer stays explained
	for _, id := range st.Log {
		if own(id) && !inOut[id] && !h.acked[id] && !h.givenUp[id] && removedExplained(id) {
			h.removedAtKill[id] = true
		}
	}
	if fl != nil && !fl.returned && (fl.op == "wrap" || fl.op == "unwrap") {
		_, w := waiting[fl.id]
		if inLog[fl.id] || w {
			h.committed[fl.id] = true
		} else {
			h.lost[fl.id] = true
		}
	}
	sort.Strings(errs)
	return errs
}

// pendingDeps lists what waiting messages wait for, for the next child to mark.
func pendingDeps(st engine.ChannelState) []string {
	seen := map[string]bool{}
	var ids []string
	for _, in := range st.Incoming {
		for _, d := range in.Missing {
			if !seen[d] {
				seen[d] = true
				ids = append(ids, d)
			}
		}
	}
	sort.Strings(ids)
	if len(ids) > 200 {
		ids = ids[:200]
	}
	return ids
}

// ---------------------------------------------------------------------------
// the database after a kill

// integrityCheck runs PRAGMA integrity_check on the file (no namespace lock
// needed: it reads through SQLite's own locking).
func integrityCheck(path string) []string {
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		return []string{"open for integrity_check: " + err.Error()}
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return []string{"integrity_check: " + err.Error()}
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return []string{"integrity_check: " + err.Error()}
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		return []string{"integrity_check: " + err.Error()}
	}
	if len(res) == 1 && res[0] == "ok" {
		return nil
	}
	return []string{"integrity_check: " + strings.Join(res, "; ")}
}

// reopen reads M's channel back with the Go engine over the same store, and
// closes both (releasing the namespace lock) before returning.
func reopen(path string) (engine.ChannelState, bool, error) {
	s, err := sqlite.Open(path, sqlite.Options{Namespace: namespace})
	if err != nil {
		return engine.ChannelState{}, false, err
	}
	defer s.Close()
	cfg := childConfig()
	m, err := engine.New(engine.Options{ParticipantID: participant, Store: s, Config: &cfg})
	if err != nil {
		return engine.ChannelState{}, false, err
	}
	defer m.Close()
	st, ok, err := m.ChannelState(channelID)
	if err != nil {
		return st, ok, err
	}
	if err := m.Close(); err != nil {
		return st, ok, err
	}
	return st, ok, s.Close()
}

// ---------------------------------------------------------------------------
// reporting

type stats struct {
	kills     map[string]int // "durability op"
	ops       int
	lines     int
	maxLog    int
	maxOut    int
	maxWait   int
	acks      int
	giveUps   int
	repairs   int
	inRepairs int
}

func newStats() *stats { return &stats{kills: map[string]int{}} }

func (s *stats) kill(durability, op string) { s.kills[durability+" "+op]++ }

func (s *stats) run(lines []string) {
	s.lines += len(lines)
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "B "):
			s.ops++
		case strings.HasPrefix(l, "A "):
			s.acks++
		case strings.HasPrefix(l, "G "):
			s.giveUps++
		case strings.HasPrefix(l, "RR "):
			s.repairs++
		}
	}
}

func (s *stats) state(st engine.ChannelState) {
	s.maxLog = max(s.maxLog, len(st.Log))
	s.maxOut = max(s.maxOut, len(st.Outgoing))
	s.maxWait = max(s.maxWait, len(st.Incoming))
	s.inRepairs = max(s.inRepairs, len(st.IncomingRepairs)+len(st.OutgoingRepairs))
}

func (s *stats) String() string {
	keys := make([]string, 0, len(s.kills))
	total := 0
	for k, n := range s.kills {
		keys = append(keys, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d counted kills (%s); %d operations on M, %d acknowledgements, %d give-ups, %d repair rebroadcasts; "+
		"at most %d log entries, %d unacknowledged, %d waiting, %d pending repairs",
		total, strings.Join(keys, ", "), s.ops, s.acks, s.giveUps, s.repairs, s.maxLog, s.maxOut, s.maxWait, s.inRepairs)
}

func tail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}
