//go:build cgo && (linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/engine"
	et "github.com/logos-messaging/libsds-go/core/engine/enginetest"
	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// Store faults: the database file changed under an open Store, opened twice,
// or not ours.

// write is one operation in a transaction, as the engine makes it.
func write(s *sqlite.Store, lamport int64) error {
	if err := s.Begin(); err != nil {
		return err
	}
	if err := s.SaveLamport("c", lamport); err != nil {
		_ = s.Rollback()
		return err
	}
	return s.Commit()
}

func TestDatabaseDeletedWhileOpenFailsWrites(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, write(s, 1))
	require.NoError(t, os.Remove(path))
	require.ErrorIs(t, write(s, 2), sqlite.ErrDatabaseGone)
	require.ErrorIs(t, s.SaveLamport("c", 3), sqlite.ErrDatabaseGone, "a write outside a transaction too")
	require.ErrorIs(t, s.DropChannel("c"), sqlite.ErrDatabaseGone)
}

func TestDatabaseRenamedWhileOpenFailsWrites(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, write(s, 1))
	require.NoError(t, os.Rename(path, path+".moved"))
	err := write(s, 2)
	require.ErrorIs(t, err, sqlite.ErrDatabaseGone)
	require.ErrorContains(t, err, "deleted or renamed")
}

func TestDatabaseReplacedWhileOpenFailsWrites(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, write(s, 1))
	other := filepath.Join(t.TempDir(), "other.db")
	require.NoError(t, os.WriteFile(other, nil, 0o644))
	require.NoError(t, os.Rename(other, path))
	err := write(s, 2)
	require.ErrorIs(t, err, sqlite.ErrDatabaseGone)
	require.ErrorContains(t, err, "replaced")
}

func TestEngineReportsDatabaseGone(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "alice")
	p := et.NewPeer(t, et.WithStore(s))
	p.MustWrap("m1", "c")
	require.NoError(t, os.Remove(path))
	_, err := p.Wrap([]byte("x"), "m2", "c")
	require.ErrorIs(t, err, engine.ErrStore)
	require.ErrorIs(t, err, sqlite.ErrDatabaseGone)
}

func TestHardLinkedDatabaseRefused(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "alice")
	require.NoError(t, write(s, 1))
	link := filepath.Join(t.TempDir(), "link.db")
	require.NoError(t, os.Link(path, link))
	// a second opener through the other name, whatever its namespace
	for _, ns := range []string{"alice", "bob"} {
		_, err := sqlite.Open(link, sqlite.Options{Namespace: ns})
		require.ErrorIs(t, err, sqlite.ErrDatabaseLinked, ns)
	}
	// and the holder stops writing to a file two writers could now reach
	require.ErrorIs(t, write(s, 2), sqlite.ErrDatabaseLinked)
	require.NoError(t, s.Close())
	_, err := sqlite.Open(path, sqlite.Options{Namespace: "alice"})
	require.ErrorIs(t, err, sqlite.ErrDatabaseLinked, "refused at open too")
	require.NoError(t, os.Remove(link))
	s = openStore(t, path, "alice")
	require.NoError(t, write(s, 3), "one name again: usable")
}

func TestSameFileSameNamespaceInProcessRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sds.db")
	s := openStore(t, path, "alice")
	require.NoError(t, write(s, 1))
	// the same file through another path (a symbolic link to the directory)
	alias := filepath.Join(t.TempDir(), "alias")
	require.NoError(t, os.Symlink(dir, alias))
	_, err := sqlite.Open(filepath.Join(alias, "sds.db"), sqlite.Options{Namespace: "alice"})
	require.ErrorIs(t, err, sqlite.ErrNamespaceInUse)
	// another namespace of the same file is fine, and closing it keeps the
	// first Store's file usable
	s2 := openStore(t, filepath.Join(alias, "sds.db"), "bob")
	require.NoError(t, write(s2, 1))
	require.NoError(t, s2.Close())
	require.NoError(t, write(s, 2))
}

func TestFileOpenElsewhereInProcessRefused(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd")
	}
	path := dbPath(t)
	s := openStore(t, path, "alice")
	require.NoError(t, write(s, 1))
	require.NoError(t, s.Close())
	// the host opens the file with its own SQLite (here: a plain descriptor)
	f, err := os.Open(path)
	require.NoError(t, err)
	_, err = sqlite.Open(path, sqlite.Options{Namespace: "alice"})
	require.ErrorIs(t, err, sqlite.ErrInUseInProcess)
	require.NoError(t, f.Close())
	s = openStore(t, path, "alice")
	require.NoError(t, write(s, 2))
}

func TestForeignDatabaseWithoutApplicationIDUntouched(t *testing.T) {
	path := dbPath(t)
	db := rawDB(t, path)
	_, err := db.Exec("CREATE TABLE mine (x); INSERT INTO mine VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	before := fileHash(t, path)
	_, err = sqlite.Open(path, sqlite.Options{})
	require.ErrorIs(t, err, sqlite.ErrNotSDSStore)
	require.ErrorContains(t, err, "left untouched")
	require.Equal(t, before, fileHash(t, path), "no tables added, no WAL switch")
	_, err = os.Stat(path + "-wal")
	require.True(t, os.IsNotExist(err), "no WAL was created")
}

func TestEmptyFileInitializedAndStamped(t *testing.T) {
	path := dbPath(t)
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	s := openStore(t, path, "")
	id, err := sqlite.QueryString(s, "PRAGMA application_id")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(0x53445331), id)
}

func TestUnstampedStoreOfEarlierVersionAdopted(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, write(s, 7))
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err := db.Exec("PRAGMA application_id = 0")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s = openStore(t, path, "n")
	id, err := sqlite.QueryString(s, "PRAGMA application_id")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(0x53445331), id, "stamped on open")
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.EqualValues(t, 7, snap.Lamport, "its data kept")
}

// countHints is the number of hint rows of the whole file.
func countHints(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	n, err := sqlite.QueryString(s, "SELECT count(*) FROM sds_hint")
	require.NoError(t, err)
	var v int
	_, err = fmt.Sscan(n, &v)
	require.NoError(t, err)
	return v
}

func TestHintsStayBoundedUnderChurn(t *testing.T) {
	const history = 20
	path := dbPath(t)
	s := openStore(t, path, "alice")
	hints := et.WithHints(func(id string) []byte { return []byte("hash-of-" + id) })
	cfg := et.WithConfig(func(c *engine.Config) { c.MaxMessageHistory = history })
	p := et.NewPeer(t, et.WithStore(s), hints, cfg)
	peak := 0
	for i := range 500 {
		for _, ch := range []string{"a", "b"} {
			p.MustWrap(fmt.Sprintf("%s-%d", ch, i), ch)
		}
		peak = max(peak, countHints(t, s))
	}
	require.NotZero(t, peak, "hints are stored")
	require.LessOrEqual(t, peak, 2*history, "no more hints than messages in the logs")

	require.NoError(t, p.RemoveChannel("a"))
	require.LessOrEqual(t, countHints(t, s), history, "removing a channel removes its hints")
	require.NotZero(t, countHints(t, s))
	require.NoError(t, p.Reset())
	require.Zero(t, countHints(t, s), "reset removes every hint")
}

func TestBadRowQuarantinesItsChannel(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "alice")
	p := et.NewPeer(t, et.WithStore(s))
	p.MustWrap("g1", "good")
	p.MustWrap("b1", "bad")
	require.NoError(t, p.Close())
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err := db.Exec(`INSERT INTO sds_entry VALUES (x'616c696365', x'626164', 5000, 99, x'', x'00')`) // an unknown kind
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE sds_entry SET record = x'ffffff' WHERE channel = x'676f6f64' AND kind = 2`) // good's outgoing record
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s = openStore(t, path, "alice")
	p = et.NewPeer(t, et.WithStore(s))
	require.Equal(t, []string{"bad", "good"}, p.Channels())
	_, err = p.Wrap([]byte("x"), "b2", "bad")
	require.ErrorIs(t, err, engine.ErrChannelQuarantined)
	_, _, err = p.ChannelState("good")
	require.ErrorIs(t, err, engine.ErrChannelQuarantined)
	require.Equal(t, []string{"store_failed@bad", "store_failed@good"}, et.Summary(p.Events.Take()))
	p.MustWrap("n1", "new") // the manager works
	require.NoError(t, p.RemoveChannel("bad"))
	p.MustWrap("b3", "bad")
}

func TestSchemaVersion1MigratesToLazyLoading(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "alice")
	p := et.NewPeer(t, et.WithStore(s))
	p.MustWrap("m1", "a")
	p.MustWrap("m2", "b")
	before := p.MustState("a")
	require.NoError(t, p.Close())
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err := db.Exec("DROP TABLE sds_due; PRAGMA user_version = 1")
	require.NoError(t, err)
	// hints as version 1 left them: one of a logged message, one of a message long gone
	_, err = db.Exec(`INSERT INTO sds_hint VALUES (x'616c696365', x'6d31', x'01'), (x'616c696365', x'676f6e65', x'02')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s = openStore(t, path, "alice")
	hints, err := sqlite.QueryStrings(s, "SELECT id FROM sds_hint")
	require.NoError(t, err)
	require.Equal(t, []string{"m1"}, hints, "the migration keeps only the hints of logged messages")
	v, err := sqlite.QueryString(s, "PRAGMA user_version")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(sqlite.SchemaVersion), v)
	due, err := sqlite.QueryStrings(s, "SELECT due FROM sds_due ORDER BY channel")
	require.NoError(t, err)
	require.Equal(t, []string{"1", "1"}, due, "every existing channel is due at once")
	p = et.NewPeer(t, et.WithStore(s))
	require.NoError(t, p.SweepBuffers()) // loads both and records their real due times
	due, err = sqlite.QueryStrings(s, "SELECT due FROM sds_due ORDER BY channel")
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprint(before.Outgoing[0].SendTime.Add(time.Minute).UnixMilli() + 1)}, due[:1])
	et.RequireReloaded(t, before, p.MustState("a"))
}

func TestLazyOpenOfManyChannels(t *testing.T) {
	const n = 10_000
	path := dbPath(t)
	s := openStore(t, path, "bob")
	alice := et.NewPeer(t)
	bob := et.NewPeer(t, et.WithStore(s))
	bob.MustUnwrap(alice.MustWrap("m0", "ch0"))
	snap, err := s.LoadAllForChannel("ch0")
	require.NoError(t, err)
	require.NoError(t, s.Begin())
	for i := 1; i < n; i++ {
		ch := fmt.Sprint("ch", i)
		require.NoError(t, s.SaveLamport(ch, snap.Lamport))
		require.NoError(t, s.AppendLogEntry(ch, "m0", snap.Log[0]))
	}
	require.NoError(t, s.Commit())
	bob.MustWrap("own", "ch7")
	require.NoError(t, bob.Close())
	require.NoError(t, s.Close())

	s = openStore(t, path, "bob")
	w := &countingStore{Store: s}
	bob = et.NewPeer(t, et.WithStore(w))
	require.Len(t, bob.Channels(), n)
	require.NoError(t, bob.SweepBuffers())
	bob.Clock.Advance(61 * time.Second)
	require.NoError(t, bob.SweepBuffers())
	require.Equal(t, []string{"ch7"}, w.loaded, "only the due channel is read")
	require.Equal(t, 1, bob.MustState("ch7").Outgoing[0].ResendAttempts)
}

// countingStore records the channels loaded from the SQLite store.
type countingStore struct {
	*sqlite.Store
	loaded []string
}

func (c *countingStore) LoadAllForChannel(ch string) (*store.Snapshot, error) {
	c.loaded = append(c.loaded, ch)
	return c.Store.LoadAllForChannel(ch)
}

// FuzzManagerRestartSQLite is FuzzManagerRestart (core/engine) on the SQLite
// store, each restart closing and reopening the database file. An input runs
// for up to a few hundred milliseconds, so give a short -fuzzminimizetime
// (e.g. 1s): minimizing one at the default budget looks like a stall.
func FuzzManagerRestartSQLite(f *testing.F) {
	f.Add([]byte{1, 0, 1, 8, 2, 3, 3, 1, 3, 0, 7, 200, 8, 0, 3, 2, 8, 1})
	f.Add([]byte{0, 1, 0, 1, 5, 0, 1, 0, 7, 130, 8, 0, 0, 9, 3, 0, 8, 0})
	f.Add([]byte{1, 0, 1, 0, 1, 0, 4, 1, 4, 2, 6, 1, 3, 2, 9, 0, 8, 0, 9, 3, 8, 0})
	f.Add([]byte("0000y0y0z0y0y0!0y9!A!1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "sds.db")
		s, err := sqlite.Open(path, sqlite.Options{Namespace: "a"})
		require.NoError(t, err)
		var cur store.Store = s
		defer func() { _ = cur.(*sqlite.Store).Close() }()
		et.RunRestartProgram(t, data, s, func(old store.Store) store.Store {
			require.NoError(t, old.(*sqlite.Store).Close())
			s, err := sqlite.Open(path, sqlite.Options{Namespace: "a"})
			require.NoError(t, err)
			cur = s
			return s
		})
	})
}
