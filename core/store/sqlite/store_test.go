//go:build cgo

package sqlite_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/logos-messaging/libsds-go/core/store"
	"github.com/logos-messaging/libsds-go/core/store/sqlite"
	"github.com/logos-messaging/libsds-go/core/store/storetest"
)

// conformance runs the contract suite on namespace ns of files prepared by
// setup, reopening by Close + Open of the same file and namespace.
func conformance(t *testing.T, ns string, setup func(t *testing.T, path string)) {
	paths := map[store.Store]string{}
	storetest.Conformance(t,
		func(t *testing.T) store.Store {
			path := dbPath(t)
			if setup != nil {
				setup(t, path)
			}
			s := openStore(t, path, ns)
			paths[s] = path
			return s
		},
		func(t *testing.T, s store.Store) store.Store {
			path := paths[s]
			require.NoError(t, s.(*sqlite.Store).Close())
			s2 := openStore(t, path, ns)
			paths[s2] = path
			return s2
		})
}

func TestConformance(t *testing.T) {
	conformance(t, "", nil)
}

// TestConformanceBesideOtherNamespaces runs the suite in a namespace of a file
// whose other namespaces hold the same channel and message ids, and checks
// afterwards that they were not touched.
func TestConformanceBesideOtherNamespaces(t *testing.T) {
	others := []string{"", "b\x00", "other"}
	conformance(t, "b", func(t *testing.T, path string) {
		t.Cleanup(func() { checkOthers(t, path, others) }) // after the suite's store is closed
		for _, ns := range others {
			s := openStore(t, path, ns)
			for _, ch := range []string{"c", "x", "y", "t"} {
				require.NoError(t, s.SaveLamport(ch, 99))
				for _, id := range []string{"a", "b", "m"} {
					require.NoError(t, s.AppendLogEntry(ch, id, []byte(ns+"/log")))
					require.NoError(t, s.SaveOutgoing(ch, id, []byte(ns+"/out")))
				}
			}
			require.NoError(t, s.Close())
		}
	})
}

func checkOthers(t *testing.T, path string, others []string) {
	for _, ns := range others {
		s, err := sqlite.Open(path, sqlite.Options{Namespace: ns})
		require.NoError(t, err)
		ids, err := s.ListChannels()
		require.NoError(t, err)
		require.Equal(t, []string{"c", "t", "x", "y"}, ids)
		for _, ch := range ids {
			snap, err := s.LoadAllForChannel(ch)
			require.NoError(t, err)
			require.EqualValues(t, 99, snap.Lamport)
			require.Len(t, snap.Log, 3)
			require.Equal(t, ns+"/log", string(snap.Log[0]))
			require.Len(t, snap.Outgoing, 3)
			require.Empty(t, snap.Incoming)
		}
		require.NoError(t, s.Close())
	}
}

func TestPragmasAndSchema(t *testing.T) {
	for _, tc := range []struct {
		d    sqlite.Durability
		sync string
		ff   string
	}{{sqlite.DurabilityNormal, "1", "0"}, {sqlite.DurabilityFull, "2", "1"}} {
		t.Run(tc.d.String(), func(t *testing.T) {
			path := dbPath(t)
			s := openStore(t, path, "n", func(o *sqlite.Options) { o.Durability = tc.d })
			for q, want := range map[string]string{
				"PRAGMA synchronous":  tc.sync,
				"PRAGMA fullfsync":    tc.ff,
				"PRAGMA journal_mode": "wal",
				"PRAGMA user_version": fmt.Sprint(sqlite.SchemaVersion),
				"PRAGMA busy_timeout": "5000",
			} {
				got, err := sqlite.QueryString(s, q)
				require.NoError(t, err)
				require.Equal(t, want, got, q)
			}
			v, err := sqlite.QueryString(s, "SELECT sqlite_version()")
			require.NoError(t, err)
			t.Logf("SQLite %s", v)
			tables, err := sqlite.QueryStrings(s, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
			require.NoError(t, err)
			require.Equal(t, []string{"sds_due", "sds_entry", "sds_hint"}, tables)
		})
	}
	s := openStore(t, dbPath(t), "", func(o *sqlite.Options) { o.BusyTimeout = 1234e6 })
	got, err := sqlite.QueryString(s, "PRAGMA busy_timeout")
	require.NoError(t, err)
	require.Equal(t, "1234", got)
}

func TestInvalidOptions(t *testing.T) {
	_, err := sqlite.Open(dbPath(t), sqlite.Options{Durability: 7})
	require.ErrorContains(t, err, "durability")
	_, err = sqlite.Open(dbPath(t), sqlite.Options{BusyTimeout: -1})
	require.ErrorContains(t, err, "busy timeout")
	_, err = sqlite.Open("", sqlite.Options{})
	require.ErrorContains(t, err, "empty path")
	_, err = sqlite.Open(":memory:", sqlite.Options{})
	require.ErrorContains(t, err, "not an SQLite URI or :memory:")
}

func schemaObjects(t *testing.T, s *sqlite.Store) []string {
	objs, err := sqlite.QueryStrings(s, "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
	require.NoError(t, err)
	return objs
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, s.AppendLogEntry("c", "m", []byte("r")))
	objs := schemaObjects(t, s)
	require.NoError(t, s.Close())
	for i := 0; i < 3; i++ {
		s = openStore(t, path, "n")
		require.Equal(t, objs, schemaObjects(t, s))
		v, err := sqlite.QueryString(s, "PRAGMA user_version")
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(sqlite.SchemaVersion), v)
		snap, err := s.LoadAllForChannel("c")
		require.NoError(t, err)
		require.Equal(t, [][]byte{[]byte("r")}, snap.Log)
		require.NoError(t, s.Close())
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

func TestNewerSchemaRefusedAndFileUntouched(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	require.NoError(t, s.SaveLamport("c", 1))
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", sqlite.SchemaVersion+1))
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA journal_mode = DELETE") // so the file alone is the database
	require.NoError(t, err)
	require.NoError(t, db.Close())
	before := fileHash(t, path)
	_, err = sqlite.Open(path, sqlite.Options{Namespace: "n"})
	require.ErrorIs(t, err, sqlite.ErrNewerSchema)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, fmt.Sprintf("schema version %d", sqlite.SchemaVersion+1))
	require.Equal(t, before, fileHash(t, path), "the file is left as it was")
	_, err = os.Stat(path + "-wal")
	require.True(t, os.IsNotExist(err), "no WAL was created")
	// the namespace lock was released
	_, err = sqlite.Open(path, sqlite.Options{Namespace: "n"})
	require.ErrorIs(t, err, sqlite.ErrNewerSchema)
}

func TestForeignDatabaseRefused(t *testing.T) {
	path := dbPath(t)
	db := rawDB(t, path)
	_, err := db.Exec("CREATE TABLE mine (x); PRAGMA user_version = 3")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = sqlite.Open(path, sqlite.Options{})
	require.ErrorContains(t, err, "not an SDS store")

	path = dbPath(t)
	db = rawDB(t, path)
	_, err = db.Exec("PRAGMA application_id = 42")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = sqlite.Open(path, sqlite.Options{})
	require.ErrorContains(t, err, "another application")
}

func TestTransactionMisuse(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "")
	require.ErrorIs(t, s.Commit(), sqlite.ErrNoTransaction)
	require.ErrorIs(t, s.Rollback(), sqlite.ErrNoTransaction)
	require.NoError(t, s.Begin())
	require.ErrorIs(t, s.Begin(), sqlite.ErrNestedTransaction)
	require.NoError(t, s.SaveLamport("c", 3))
	require.NoError(t, s.Commit())
	require.ErrorIs(t, s.Commit(), sqlite.ErrNoTransaction)

	// Close rolls back an open transaction.
	require.NoError(t, s.Begin())
	require.NoError(t, s.SaveLamport("c", 4))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	for name, err := range map[string]error{
		"save":     s.SaveLamport("c", 5),
		"begin":    s.Begin(),
		"commit":   s.Commit(),
		"rollback": s.Rollback(),
		"drop":     s.DropChannel("c"),
	} {
		require.ErrorIs(t, err, sqlite.ErrClosed, name)
	}
	_, err := s.LoadAllForChannel("c")
	require.ErrorIs(t, err, sqlite.ErrClosed)
	_, err = s.ListChannels()
	require.ErrorIs(t, err, sqlite.ErrClosed)
	_, _, err = s.RetrievalHint("m")
	require.ErrorIs(t, err, sqlite.ErrClosed)

	s = openStore(t, path, "")
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.EqualValues(t, 3, snap.Lamport)
}

func TestTransactionSeesItsOwnWritesAndDropRollsBack(t *testing.T) {
	s := openStore(t, dbPath(t), "")
	require.NoError(t, s.SaveLamport("c", 1))
	require.NoError(t, s.AppendLogEntry("c", "a", []byte("a")))
	require.NoError(t, s.Begin())
	require.NoError(t, s.AppendLogEntry("c", "b", []byte("b")))
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.Len(t, snap.Log, 2)
	require.NoError(t, s.DropChannel("c"))
	ids, err := s.ListChannels()
	require.NoError(t, err)
	require.Empty(t, ids)
	require.NoError(t, s.Rollback())
	snap, err = s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.EqualValues(t, 1, snap.Lamport)
	require.Equal(t, [][]byte{[]byte("a")}, snap.Log)
}

func TestListChannels(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "n")
	other := openStore(t, path, "other")
	require.NoError(t, other.SaveLamport("theirs", 1))
	require.NoError(t, s.SaveLamport("lamport-only", 1))
	require.NoError(t, s.SaveIncomingRepair("repair-only", "m", []byte("r")))
	require.NoError(t, s.AppendLogEntry("\xff\x00odd", "m", []byte("r")))
	require.NoError(t, s.SaveLamport("", 2)) // the empty channel id is a channel too
	require.NoError(t, s.AppendLogEntry("", "m", []byte("r")))
	require.NoError(t, s.SaveOutgoing("b", "m", []byte("r")))
	require.NoError(t, s.SaveLamport("b", 1))
	ids, err := s.ListChannels()
	require.NoError(t, err)
	require.Equal(t, []string{"", "b", "lamport-only", "repair-only", "\xff\x00odd"}, ids)
	require.NoError(t, s.DropChannel("b"))
	require.NoError(t, s.RemoveIncomingRepair("repair-only", "m"))
	ids, err = s.ListChannels()
	require.NoError(t, err)
	require.Equal(t, []string{"", "lamport-only", "\xff\x00odd"}, ids)
}

func TestRetrievalHints(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "a")
	other := openStore(t, path, "b")
	h := []byte("hash\x00\xff")
	require.NoError(t, s.SetRetrievalHint("m\x00", h))
	require.NoError(t, s.SetRetrievalHint("empty", nil))
	require.NoError(t, other.SetRetrievalHint("m\x00", []byte("theirs")))
	h[0] = 'X'
	got, ok, err := s.RetrievalHint("m\x00")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("hash\x00\xff"), got)
	got, ok, err = s.RetrievalHint("empty")
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, got)
	_, ok, err = s.RetrievalHint("m")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.SetRetrievalHint("m\x00", []byte("new")))
	require.NoError(t, s.Close())
	s = openStore(t, path, "a")
	got, _, err = s.RetrievalHint("m\x00")
	require.NoError(t, err)
	require.Equal(t, []byte("new"), got)
	got, _, err = other.RetrievalHint("m\x00")
	require.NoError(t, err)
	require.Equal(t, []byte("theirs"), got)

	// a hint set by a rolled-back transaction is not taken as stored
	require.NoError(t, s.Begin())
	require.NoError(t, s.SetRetrievalHint("z", []byte("h")))
	require.NoError(t, s.Rollback())
	_, ok, err = s.RetrievalHint("z")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.SetRetrievalHint("z", []byte("h")))
	got, ok, err = s.RetrievalHint("z")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte("h"), got)
	// nor one whose transaction failed to commit
	require.NoError(t, sqlite.LimitPages(s, 0))
	require.NoError(t, s.Begin())
	require.NoError(t, s.SetRetrievalHint("y", []byte("h")))
	require.Error(t, s.AppendLogEntry("c", "big", make([]byte, 1<<20)))
	require.Error(t, s.Commit())
	require.NoError(t, s.Rollback())
	require.NoError(t, sqlite.LimitPages(s, 1<<20))
	require.NoError(t, s.SetRetrievalHint("y", []byte("h")))
	_, ok, err = s.RetrievalHint("y")
	require.NoError(t, err)
	require.True(t, ok)
}

// TestOddNamespaces: any bytes, any length.
func TestOddNamespaces(t *testing.T) {
	path := dbPath(t)
	for _, ns := range []string{"", "\x00", "\x00\x00", "ns/with/slashes", strings.Repeat("long", 1000), "\xff\xfe"} {
		s := openStore(t, path, ns)
		require.NoError(t, s.SaveLamport("c", int64(len(ns))))
	}
	for _, ns := range []string{"", "\x00", "\x00\x00", "ns/with/slashes", strings.Repeat("long", 1000), "\xff\xfe"} {
		_, err := sqlite.Open(path, sqlite.Options{Namespace: ns})
		require.ErrorIs(t, err, sqlite.ErrNamespaceInUse, "%q", ns)
	}
}

// TestFailedWriteInTransactionPoisonsIt: after a write fails inside a
// transaction nothing can be committed, later writes are refused rather than
// autocommitted, and Rollback leaves the committed state.
func TestFailedWriteInTransactionPoisonsIt(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "")
	require.NoError(t, s.AppendLogEntry("c", "kept", []byte("kept")))
	require.NoError(t, sqlite.LimitPages(s, 0))
	require.NoError(t, s.Begin())
	require.NoError(t, s.SaveLamport("c", 9))
	err := s.AppendLogEntry("c", "big", make([]byte, 1<<20))
	require.Error(t, err)
	require.ErrorContains(t, err, "disk full")
	require.ErrorContains(t, s.SaveLamport("c", 10), "roll back")
	require.ErrorContains(t, s.DropChannel("c"), "roll back")
	require.ErrorContains(t, s.Commit(), "commit refused")
	require.NoError(t, s.Rollback())
	check := func(s *sqlite.Store) {
		snap, err := s.LoadAllForChannel("c")
		require.NoError(t, err)
		require.Zero(t, snap.Lamport)
		require.Equal(t, [][]byte{[]byte("kept")}, snap.Log)
	}
	check(s)
	// outside a transaction a failed write fails alone
	err = s.AppendLogEntry("c", "big", make([]byte, 1<<20))
	require.ErrorContains(t, err, "disk full")
	require.NoError(t, s.SaveLamport("c", 0))
	check(s)
	require.NoError(t, s.Close())
	s = openStore(t, path, "")
	check(s)
	integrityCheck(t, path)
}

// TestQueryPlansUseIndexes: no statement scans a table; each finds its rows
// through an index, so the cost of an operation does not grow with the file.
func TestQueryPlansUseIndexes(t *testing.T) {
	s := openStore(t, dbPath(t), "n")
	for i := 0; i < 50; i++ {
		require.NoError(t, s.AppendLogEntry(fmt.Sprint("c", i%5), fmt.Sprint("m", i), []byte("r")))
		require.NoError(t, s.SaveLamport(fmt.Sprint("c", i%5), 1))
	}
	args := []any{[]byte("n"), []byte("c1"), int64(1), []byte("m1"), int64(7), []byte("r")}
	checked := 0
	for _, q := range sqlite.Statements() {
		n := 0 // highest parameter number
		for i := 1; i <= len(args); i++ {
			if strings.Contains(q, fmt.Sprintf("?%d", i)) {
				n = i
			}
		}
		if n == 0 {
			continue // BEGIN, COMMIT, ROLLBACK
		}
		plan, err := sqlite.QueryColumn(s, 3, "EXPLAIN QUERY PLAN "+q, args[:n]...)
		require.NoError(t, err, q)
		if !strings.HasPrefix(q, "INSERT") { // an upsert finds its conflict through the UNIQUE index; SQLite shows no plan
			require.NotEmpty(t, plan, q)
		}
		for _, step := range plan {
			// "SCAN ch" and "SCAN CONSTANT ROW" read the recursive CTE's queue.
			if strings.HasPrefix(step, "SCAN sds_") {
				t.Errorf("%s\n  scans: %s (plan %q)", q, step, plan)
			}
		}
		t.Logf("%s\n  %q", strings.Join(strings.Fields(q), " "), plan)
		checked++
	}
	require.Equal(t, 15, checked)
}

// TestRolledBackEntriesAreForgotten: the Store's in-memory index of a channel
// follows a rollback, so an entry inserted, updated or removed by a rolled-back
// transaction is treated as what the database holds.
func TestRolledBackEntriesAreForgotten(t *testing.T) {
	s := openStore(t, dbPath(t), "")
	require.NoError(t, s.AppendLogEntry("c", "kept", []byte("kept")))
	require.NoError(t, s.AppendLogEntry("c", "gone", []byte("gone")))
	require.NoError(t, s.Begin())
	require.NoError(t, s.AppendLogEntry("c", "x", []byte("x1")))
	require.NoError(t, s.AppendLogEntry("c", "kept", []byte("kept2")))
	require.NoError(t, s.RemoveLogEntry("c", "gone"))
	require.NoError(t, s.Rollback())
	require.NoError(t, s.AppendLogEntry("c", "x", []byte("x2")))       // inserted, not an update of nothing
	require.NoError(t, s.RemoveLogEntry("c", "gone"))                  // removed, though the index had dropped it
	require.NoError(t, s.AppendLogEntry("c", "kept", []byte("kept3"))) // updated in place
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("kept3"), []byte("x2")}, snap.Log)

	// same through a dropped channel
	require.NoError(t, s.Begin())
	require.NoError(t, s.DropChannel("c"))
	require.NoError(t, s.AppendLogEntry("c", "new", []byte("new")))
	require.NoError(t, s.Rollback())
	require.NoError(t, s.AppendLogEntry("c", "x", []byte("x3")))
	snap, err = s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("kept3"), []byte("x3")}, snap.Log)
}

// TestOrderSurvivesReopenAfterRemovingTheNewest: entries written after a
// reopen go after every stored one, also when the newest was removed.
func TestOrderSurvivesReopenAfterRemovingTheNewest(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "")
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, s.SaveOutgoing("ch", id, []byte(id)))
		require.NoError(t, s.SaveIncoming("ch", id, []byte(id)))
	}
	require.NoError(t, s.RemoveOutgoing("ch", "c"))
	require.NoError(t, s.Close())
	s = openStore(t, path, "")
	require.NoError(t, s.SaveOutgoing("ch", "d", []byte("d")))  // before any load
	require.NoError(t, s.SaveOutgoing("ch", "a", []byte("a2"))) // update in place
	require.NoError(t, s.SaveIncoming("ch", "e", []byte("e")))
	snap, err := s.LoadAllForChannel("ch")
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("a2"), []byte("b"), []byte("d")}, snap.Outgoing)
	require.Equal(t, [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("e")}, snap.Incoming)
}

func TestLargeRecords(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "")
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	require.NoError(t, s.AppendLogEntry("c", "big", big))
	require.NoError(t, s.AppendLogEntry("c", "small", []byte("s")))
	require.NoError(t, s.Close())
	s = openStore(t, path, "")
	snap, err := s.LoadAllForChannel("c")
	require.NoError(t, err)
	require.Len(t, snap.Log, 2)
	require.Equal(t, big, snap.Log[0])
}

// TestCheckpointsRunInTheBackground: commits are copied into the database
// file while the Store stays open, without waiting for SQLite's automatic
// checkpoint threshold.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	path := dbPath(t)
	s := openStore(t, path, "")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	before := fi.Size()
	rec := make([]byte, 2000)
	for i := 0; i < 200; i++ {
		require.NoError(t, s.Begin())
		require.NoError(t, s.AppendLogEntry("c", fmt.Sprint(i), rec))
		require.NoError(t, s.Commit())
	}
	require.Eventually(t, func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > before+200*2000
	}, 5*time.Second, 10*time.Millisecond, "the database file did not grow: no checkpoint ran")
}
