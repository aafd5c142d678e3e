//go:build cgo && linux

package sqlite_test

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// TestNamespaceLockFollowsFileIdentity: a child process holds a namespace; an
// opener that misses its lock file (as one reaching the database through a
// bind mount would) still finds the namespace held, through the lock on the
// file itself, and gets it once the child dies.
func TestNamespaceLockFollowsFileIdentity(t *testing.T) {
	path := dbPath(t)
	c := startHelper(t, "hold", path, "alice", 5)
	c.expect(t, "ready")
	_, err := sqlite.OpenByIdentityOnly(path, sqlite.Options{Namespace: "alice"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	require.ErrorContains(t, err, "another path to the same database file")
	s, err := sqlite.OpenByIdentityOnly(path, sqlite.Options{Namespace: "bob"})
	require.NoError(t, err, "other namespaces are free")
	require.NoError(t, s.Close())

	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	_ = c.cmd.Wait()
	s, err = sqlite.OpenByIdentityOnly(path, sqlite.Options{Namespace: "alice"})
	require.NoError(t, err)
	checkWritten(t, s, "alice", 5)
	require.NoError(t, s.Close())
}
