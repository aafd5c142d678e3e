//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// TestCloseRemovesLockFile: the namespace's lock file exists while a Store
// holds it and is gone after Close; the namespace opens again.
func TestCloseRemovesLockFile(t *testing.T) {
	path := dbPath(t)
	lock := sqlite.LockPath(path, "ns")
	s, err := sqlite.Open(path, sqlite.Options{Namespace: "ns"})
	require.NoError(t, err)
	require.FileExists(t, lock)
	require.NoError(t, s.Close())
	require.NoFileExists(t, lock)
	openStore(t, path, "ns")
	require.FileExists(t, lock)
}

// TestLockOnRemovedFileIsStale replays the race removal opens: an opener
// opened the lock file just before its holder closed (and removed it), then
// gets the lock on the removed file. It must see that and not count as the
// holder, while a Store opened after the close holds the new file.
func TestLockOnRemovedFileIsStale(t *testing.T) {
	path := dbPath(t)
	lock := sqlite.LockPath(path, "ns")
	holder, err := sqlite.Open(path, sqlite.Options{Namespace: "ns"})
	require.NoError(t, err)
	late, err := os.OpenFile(lock, os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, holder.Close())

	next := openStore(t, path, "ns") // creates and locks a new file
	require.ErrorIs(t, sqlite.LockOpened(lock, late), sqlite.ErrStaleLock)
	_, err = sqlite.Open(path, sqlite.Options{Namespace: "ns"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse, "the new file is still held")
	require.NoError(t, next.Close())
}

// TestCloseLeavesAReplacedLockFile: if the file at the lock path is not the
// one the Store locked (replaced behind its back), Close leaves it alone.
func TestCloseLeavesAReplacedLockFile(t *testing.T) {
	path := dbPath(t)
	lock := sqlite.LockPath(path, "ns")
	s, err := sqlite.Open(path, sqlite.Options{Namespace: "ns"})
	require.NoError(t, err)
	other := lock + ".other"
	require.NoError(t, os.WriteFile(other, []byte("someone else's\n"), 0o644))
	require.NoError(t, os.Rename(other, lock))
	require.NoError(t, s.Close())
	got, err := os.ReadFile(lock)
	require.NoError(t, err)
	require.Equal(t, "someone else's\n", string(got))
}
