//go:build cgo

package sqlite_test

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

func TestOpenUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	for name, path := range map[string]string{
		"parent is a file":       filepath.Join(file, "sds.db"),
		"missing directory":      filepath.Join(dir, "missing", "sds.db"),
		"path is a directory":    dir,
		"path in /proc":          "/proc/sds.db",
		"lock file is a dir too": filepath.Join(dir, "d.db"),
	} {
		t.Run(name, func(t *testing.T) {
			if strings.HasSuffix(path, "d.db") {
				require.NoError(t, os.MkdirAll(sqlite.LockPath(path, ""), 0o755))
			}
			s, err := sqlite.Open(path, sqlite.Options{})
			require.Error(t, err)
			require.Nil(t, s)
			require.ErrorContains(t, err, path)
			t.Log(err)
		})
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o555))
		_, err := sqlite.Open(filepath.Join(ro, "sds.db"), sqlite.Options{})
		require.ErrorContains(t, err, "permission denied")
		t.Log(err)
	}
}

// readOnlyFile makes path unwritable for this process: chmod for a normal
// user, the immutable attribute for root (which chmod does not stop). It
// reports false if neither works here.
func readOnlyFile(t *testing.T, path string) bool {
	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(path, 0o444))
		return true
	}
	if err := exec.Command("chattr", "+i", path).Run(); err != nil {
		t.Logf("chattr +i: %v", err)
		return false
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return false
	}
	return true
}

func TestOpenReadOnlyFile(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, s.SaveLamport("c", 1))
	require.NoError(t, s.Close())

	t.Run("SQLite URI refused", func(t *testing.T) {
		_, err := sqlite.Open("file:"+path+"?mode=ro", sqlite.Options{Namespace: "n"})
		require.ErrorContains(t, err, "not an SQLite URI")
	})
	t.Run("SQLite opens read-only", func(t *testing.T) {
		// What SQLite does by itself with a file it cannot write: the write
		// probe at open must notice.
		_, err := sqlite.OpenWithURIParams(path, sqlite.Options{Namespace: "n"}, "mode=ro")
		require.ErrorIs(t, err, sqlite.ErrReadOnly)
		require.ErrorContains(t, err, path)
		t.Log(err)
	})
	t.Run("file not writable", func(t *testing.T) {
		if !readOnlyFile(t, path) {
			t.Skip("cannot make a file read-only here")
		}
		_, err := sqlite.Open(path, sqlite.Options{Namespace: "n"})
		require.ErrorIs(t, err, sqlite.ErrReadOnly)
		require.ErrorContains(t, err, path)
		t.Log(err)
	})
}

func TestOpenCorruptFile(t *testing.T) {
	t.Run("not a database", func(t *testing.T) {
		path := dbPath(t)
		junk := make([]byte, 16384)
		_, _ = rand.Read(junk)
		require.NoError(t, os.WriteFile(path, junk, 0o644))
		_, err := sqlite.Open(path, sqlite.Options{})
		require.ErrorIs(t, err, sqlite.ErrCorrupt)
		require.ErrorContains(t, err, path)
		t.Log(err)
		_, err = sqlite.Open(path, sqlite.Options{})
		require.ErrorIs(t, err, sqlite.ErrCorrupt, "the lock was released")
	})
	t.Run("damaged pages", func(t *testing.T) {
		path := dbPath(t)
		s := openStore(t, path, "n")
		require.NoError(t, s.Begin())
		for i := 0; i < 2000; i++ {
			require.NoError(t, s.AppendLogEntry("c", strings.Repeat("m", i%50)+string(rune('a'+i%26))+strings.Repeat("x", i), []byte(strings.Repeat("record", 20))))
		}
		require.NoError(t, s.Commit())
		require.NoError(t, s.Close()) // checkpoints the WAL into the file
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Greater(t, fi.Size(), int64(64*4096))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		junk := make([]byte, 8*4096)
		_, _ = rand.Read(junk)
		_, err = f.WriteAt(junk, fi.Size()/2/4096*4096) // pages in the middle
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = sqlite.Open(path, sqlite.Options{Namespace: "n"})
		require.ErrorIs(t, err, sqlite.ErrCorrupt)
		require.ErrorContains(t, err, path)
		t.Log(err)
	})
	t.Run("truncated", func(t *testing.T) {
		path := dbPath(t)
		s := openStore(t, path, "n")
		for i := 0; i < 300; i++ {
			require.NoError(t, s.AppendLogEntry("c", strings.Repeat("x", i), []byte(strings.Repeat("record", 20))))
		}
		require.NoError(t, s.Close())
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, fi.Size()/2/4096*4096))
		_, err = sqlite.Open(path, sqlite.Options{Namespace: "n"})
		require.ErrorIs(t, err, sqlite.ErrCorrupt)
		t.Log(err)
	})
}

func TestWALUnavailableRefused(t *testing.T) {
	// The memdb VFS keeps the database in memory and has no WAL: SQLite
	// answers journal_mode=WAL with "memory", as it does on file systems
	// without shared memory.
	_, err := sqlite.OpenWithURIParams(dbPath(t), sqlite.Options{}, "vfs=memdb")
	require.ErrorContains(t, err, "cannot enable WAL mode")
	t.Log(err)
}

func TestNamespaceInUseInProcess(t *testing.T) {
	path := dbPath(t)
	a := openStore(t, path, "a")
	_, err := sqlite.Open(path, sqlite.Options{Namespace: "a"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	require.ErrorContains(t, err, path)
	// through another path to the same file
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(filepath.Dir(path), link))
	_, err = sqlite.Open(filepath.Join(link, filepath.Base(path)), sqlite.Options{Namespace: "a"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, path)
	require.NoError(t, err)
	_, err = sqlite.Open(rel, sqlite.Options{Namespace: "a"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	// other namespaces are free, the empty one included
	b := openStore(t, path, "b")
	e := openStore(t, path, "")
	require.NoError(t, b.SaveLamport("c", 1))
	require.NoError(t, e.SaveLamport("c", 2))
	require.NoError(t, a.Close())
	a = openStore(t, path, "a")
	require.NoError(t, a.SaveLamport("c", 3))
}

// TestBusyTimeout: another connection holding the write lock makes Begin (and
// Open, which migrates in a write transaction) wait for the busy timeout and
// then fail with a clear error; once it lets go, everything works.
func TestBusyTimeout(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n", func(o *sqlite.Options) { o.BusyTimeout = 200 * time.Millisecond })
	db := rawDB(t, path)
	db.SetMaxOpenConns(1)
	_, err := db.Exec("BEGIN IMMEDIATE")
	require.NoError(t, err)
	t0 := time.Now()
	err = s.Begin()
	waited := time.Since(t0)
	require.ErrorContains(t, err, "busy timeout (200ms)")
	require.GreaterOrEqual(t, waited, 150*time.Millisecond)
	err = s.SaveLamport("c", 1)
	require.ErrorContains(t, err, "locked")
	_, err = sqlite.Open(path, sqlite.Options{Namespace: "other", BusyTimeout: 100 * time.Millisecond})
	require.ErrorContains(t, err, "busy timeout")
	require.ErrorContains(t, err, path)
	t.Log(err)
	// reads go on meanwhile (WAL)
	_, err = s.LoadAllForChannel("c")
	require.NoError(t, err)
	_, err = db.Exec("COMMIT")
	require.NoError(t, err)
	require.NoError(t, s.Begin())
	require.NoError(t, s.SaveLamport("c", 1))
	require.NoError(t, s.Commit())
}

// TestDiskFull: writes fail with a clear error when the database cannot grow;
// after Rollback and reopen the state is the last committed one.
func TestDiskFull(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, s.SaveLamport("c", 1))
	require.NoError(t, sqlite.LimitPages(s, 4))
	var committed int
	var err error
	for i := 0; i < 100; i++ {
		if err = s.Begin(); err != nil {
			break
		}
		if err = s.AppendLogEntry("c", string(rune('a'+i%26))+strings.Repeat("i", i), make([]byte, 3000)); err != nil {
			require.NoError(t, s.Rollback())
			break
		}
		if err = s.SaveLamport("c", int64(i+2)); err != nil {
			require.NoError(t, s.Rollback())
			break
		}
		if err = s.Commit(); err != nil {
			require.NoError(t, s.Rollback())
			break
		}
		committed++
	}
	require.ErrorContains(t, err, "disk full")
	require.Positive(t, committed)
	require.NoError(t, s.Close())
	s = openStore(t, path, "n")
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.Len(t, snap.Log, committed)
	require.EqualValues(t, committed+1, snap.Lamport)
	integrityCheck(t, path)
}
