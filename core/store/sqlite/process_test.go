//go:build cgo

package sqlite_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// The helper process: the test binary re-executed with SDS_SQLITE_HELPER set
// to a mode. It talks to the parent through stdout lines.
const helperEnv = "SDS_SQLITE_HELPER"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	path, ns := os.Getenv("SDS_SQLITE_PATH"), os.Getenv("SDS_SQLITE_NS")
	n, _ := strconv.Atoi(os.Getenv("SDS_SQLITE_N"))
	s, err := sqlite.Open(path, sqlite.Options{Namespace: ns, BusyTimeout: 30 * time.Second})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	switch mode {
	case "hold": // write n transactions, then keep the namespace open until killed
		if err := writeTransactions(s, ns, 0, n); err != nil {
			fail(err)
		}
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		select {}
	case "write": // on a line from the parent, write n transactions and close
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fail(err)
		}
		if err := writeTransactions(s, ns, 0, n); err != nil {
			fail(err)
		}
		if err := s.Close(); err != nil {
			fail(err)
		}
		fmt.Println("done")
		os.Exit(0)
	case "spin": // write transactions until killed, saying when n are done
		if err := writeTransactions(s, ns, 0, n); err != nil {
			fail(err)
		}
		fmt.Println("ready")
		for i := n; ; i++ {
			if err := writeTransactions(s, ns, i, i+1); err != nil {
				fail(err)
			}
		}
	}
	os.Exit(5)
}

// writeTransactions commits n transactions in ns, each touching every table:
// lamport, a log entry, an outgoing message replaced in place, a hint, and,
// every tenth, a removal.
func writeTransactions(s *sqlite.Store, ns string, from, n int) error {
	for i := from; i < n; i++ {
		ch := fmt.Sprintf("ch%d", i%3)
		id := fmt.Sprintf("%s-m%d", ns, i)
		steps := []func() error{
			s.Begin,
			func() error { return s.SaveLamport(ch, int64(i+1)) },
			func() error { return s.AppendLogEntry(ch, id, []byte(ns+"/"+id)) },
			func() error { return s.SaveOutgoing(ch, "out", []byte(ns+"/"+id)) },
			func() error { return s.SetRetrievalHint(id, []byte(ns)) },
		}
		if i%10 == 9 {
			steps = append(steps, func() error { return s.RemoveLogEntry(ch, fmt.Sprintf("%s-m%d", ns, i-3)) })
		}
		steps = append(steps, s.Commit)
		for _, f := range steps {
			if err := f(); err != nil {
				_ = s.Rollback()
				return fmt.Errorf("transaction %d: %w", i, err)
			}
		}
	}
	return nil
}

// checkWritten checks that ns holds exactly what writeTransactions(n) wrote.
func checkWritten(t *testing.T, s *sqlite.Store, ns string, n int) {
	t.Helper()
	want := map[string][]string{}
	last := map[string]string{}
	lamport := map[string]int64{}
	for i := 0; i < n; i++ {
		ch := fmt.Sprintf("ch%d", i%3)
		id := fmt.Sprintf("%s-m%d", ns, i)
		want[ch] = append(want[ch], ns+"/"+id)
		last[ch] = ns + "/" + id
		lamport[ch] = int64(i + 1)
		if i%10 == 9 {
			gone := fmt.Sprintf("%s/%s-m%d", ns, ns, i-3)
			l := want[ch]
			for j := range l {
				if l[j] == gone {
					want[ch] = append(l[:j:j], l[j+1:]...)
					break
				}
			}
		}
	}
	ids, err := s.ListChannels()
	require.NoError(t, err)
	require.Len(t, ids, len(want))
	for ch, log := range want {
		snap, err := s.LoadAllForChannel(ch)
		require.NoError(t, err)
		require.Equal(t, lamport[ch], snap.Lamport, "%s/%s", ns, ch)
		got := make([]string, len(snap.Log))
		for i, r := range snap.Log {
			got[i] = string(r)
		}
		require.Equal(t, log, got, "%s/%s", ns, ch)
		require.Equal(t, [][]byte{[]byte(last[ch])}, snap.Outgoing)
	}
	h, ok, err := s.RetrievalHint(fmt.Sprintf("%s-m%d", ns, n-1))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, ns, string(h))
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func startHelper(t *testing.T, mode, path, ns string, n int) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "SDS_SQLITE_PATH="+path, "SDS_SQLITE_NS="+ns, "SDS_SQLITE_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, lines: make(chan string, 16), stdin: stdin}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c
}

// expect waits for the child to print want (test framework lines aside).
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", want)
			}
			if l == want {
				return
			}
			if len(l) > 6 && l[:6] == "error:" {
				t.Fatalf("child: %s", l)
			}
		case <-timeout:
			t.Fatalf("child did not print %q in time", want)
		}
	}
}

// TestNamespaceInUseByAnotherProcess: a child process holds a namespace; the
// parent cannot open it, can open another one, and gets it once the child is
// killed (the kernel releases the lock), with the database intact and the
// child's committed writes there.
func TestNamespaceInUseByAnotherProcess(t *testing.T) {
	path := dbPath(t)
	c := startHelper(t, "hold", path, "held", 50)
	c.expect(t, "ready")

	_, err := sqlite.Open(path, sqlite.Options{Namespace: "held"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	require.ErrorContains(t, err, fmt.Sprintf("pid %d", c.cmd.Process.Pid))
	require.ErrorContains(t, err, path)
	t.Log(err)
	other := openStore(t, path, "other")
	require.NoError(t, writeTransactions(other, "other", 0, 20))

	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	_ = c.cmd.Wait()
	s := openStore(t, path, "held")
	checkWritten(t, s, "held", 50)
	checkWritten(t, other, "other", 20)
	integrityCheck(t, path)
}

// TestProcessesWriteNamespacesConcurrently: two child processes and the
// parent commit hundreds of transactions each, at the same time, in three
// namespaces of one file. All succeed, the file passes integrity_check and
// each namespace holds exactly its own data.
func TestProcessesWriteNamespacesConcurrently(t *testing.T) {
	const n = 300
	path := dbPath(t)
	openStore(t, path, "init").Close() // create the file before the race
	children := []*child{startHelper(t, "write", path, "p1", n), startHelper(t, "write", path, "p2", n)}
	for _, c := range children {
		c.expect(t, "ready")
	}
	s := openStore(t, path, "p0", func(o *sqlite.Options) { o.BusyTimeout = 30 * time.Second })
	for _, c := range children {
		_, err := io.WriteString(c.stdin, "go\n")
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	var parentErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		parentErr = writeTransactions(s, "p0", 0, n)
	}()
	for _, c := range children {
		c.expect(t, "done")
		require.NoError(t, c.cmd.Wait())
	}
	wg.Wait()
	require.NoError(t, parentErr)
	require.NoError(t, s.Close())
	integrityCheck(t, path)
	for _, ns := range []string{"p0", "p1", "p2"} {
		checkWritten(t, openStore(t, path, ns), ns, n)
	}
}

// TestKilledWriterLeavesWholeTransactions: a child commits transactions in a
// loop and is killed with SIGKILL in the middle of them. The database passes
// integrity_check and holds exactly the transactions committed before the
// kill, each wholly (lamport i+1 goes with log entry i).
func TestKilledWriterLeavesWholeTransactions(t *testing.T) {
	path := dbPath(t)
	for round := 0; round < 3; round++ {
		ns := fmt.Sprint("spin", round)
		c := startHelper(t, "spin", path, ns, 20)
		c.expect(t, "ready")
		// not synchronisation: the kill lands a different way into the loop each round
		time.Sleep(time.Duration(10+round*37) * time.Millisecond)
		require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
		_ = c.cmd.Wait()
		integrityCheck(t, path)
		s := openStore(t, path, ns)
		var n int64
		for _, ch := range []string{"ch0", "ch1", "ch2"} {
			snap, err := s.LoadAllForChannel(ch)
			require.NoError(t, err)
			n = max(n, snap.Lamport)
		}
		require.GreaterOrEqual(t, n, int64(20))
		t.Logf("round %d: killed after %d transactions", round, n)
		checkWritten(t, s, ns, int(n))
		require.NoError(t, s.Close())
	}
}
