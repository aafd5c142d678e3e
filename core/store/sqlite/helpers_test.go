//go:build cgo

package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// dbPath is a fresh database path in the test's temporary directory.
func dbPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sds.db")
}

// openStore opens path/namespace and closes it at the end of the test.
func openStore(t testing.TB, path, ns string, opts ...func(*sqlite.Options)) *sqlite.Store {
	t.Helper()
	o := sqlite.Options{Namespace: ns}
	for _, f := range opts {
		f(&o)
	}
	s, err := sqlite.Open(path, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func full(o *sqlite.Options) { o.Durability = sqlite.DurabilityFull }

// rawDB opens the file with a plain database/sql connection, beside any Store.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func integrityCheck(t testing.TB, path string) {
	t.Helper()
	db := rawDB(t, path)
	var res string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&res))
	require.Equal(t, "ok", res)
	require.NoError(t, db.Close())
}

// restart closes the manager and its SQLite store, reopens the store from the
// file and builds a new manager on it with the same options and clock, as a
// process restart would.
func restart(t testing.TB, p *et.Peer, s *sqlite.Store, path string, opts ...et.Option) (*et.Peer, *sqlite.Store) {
	t.Helper()
	var s2 *sqlite.Store
	fresh := p.Restart(func() store.Store {
		require.NoError(t, s.Close())
		s2 = openStore(t, path, p.ParticipantID())
		return s2
	}, opts...)
	return fresh, s2
}
