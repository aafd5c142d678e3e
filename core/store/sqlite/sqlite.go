package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logos-messaging/libsds-go/core/store"
)

// Durability selects how far a committed operation survives.
type Durability int

const (
	// DurabilityNormal (the default) runs SQLite with synchronous=NORMAL in WAL
	// mode: a committed operation survives the process crashing or being
	// killed at any moment; a power loss or kernel crash may lose the last
	// operations committed before it, but never leaves the database corrupt or
	// an operation half applied. Commits do not wait for the disk, which makes
	// them several times faster than with DurabilityFull.
	DurabilityNormal Durability = iota
	// DurabilityFull runs SQLite with synchronous=FULL (and fullfsync on Apple
	// systems): every commit waits until the write-ahead log is on stable
	// storage, so a committed operation also survives power loss. Each protocol
	// operation costs one fsync.
	DurabilityFull
)

// String returns "normal" or "full".
func (d Durability) String() string {
	switch d {
	case DurabilityNormal:
		return "normal"
	case DurabilityFull:
		return "full"
	default:
		return "Durability(" + strconv.Itoa(int(d)) + ")"
	}
}

// synchronous is the PRAGMA synchronous value of each durability level.
func (d Durability) synchronous() int {
	if d == DurabilityFull {
		return 2 // FULL
	}
	return 1 // NORMAL
}

// Options configure Open. The zero value is valid: namespace "", normal
// durability, a 5 s busy timeout.
type Options struct {
	// Namespace selects which manager's state inside the file this Store reads
	// and writes; "" is a valid namespace. Several managers may share one
	// file, each with its own namespace (for example its participant id); one
	// namespace can be open in one Store at a time.
	Namespace string
	// Durability is DurabilityNormal (default) or DurabilityFull.
	Durability Durability
	// BusyTimeout is how long an operation waits for another connection (in
	// this or another process) to release the database's write lock before it
	// fails; 0 means 5 s.
	BusyTimeout time.Duration
}

const defaultBusyTimeout = 5 * time.Second

// cacheKiB is the page cache of the Store's connection. SQLite's default (2
// MiB) holds the pages a protocol operation touches for a few dozen busy
// channels; past that every operation would read pages back from the
// operating system. 8 MiB keeps the cost of an operation flat to 100 channels
// and 100,000 messages (BenchmarkGrowth).
const cacheKiB = 8192

// Errors. Each is a sentinel to test with errors.Is; returned errors wrap
// them with the path, the namespace and the cause.
var (
	// ErrNamespaceInUse: Open found the namespace open in another Store, in
	// this process or another.
	ErrNamespaceInUse = errors.New("sqlite store: namespace already in use")
	// ErrNewerSchema: the database was written by a newer version of this
	// package (its schema version is above SchemaVersion). The file is left
	// as it was.
	ErrNewerSchema = errors.New("sqlite store: database schema is newer than this library supports")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("sqlite store: closed")
	// ErrCorrupt: the file is not an SQLite database, or the database is
	// damaged (PRAGMA quick_check failed).
	ErrCorrupt = errors.New("sqlite store: database file is corrupt or not a database")
	// ErrReadOnly: the database file or its directory cannot be written.
	ErrReadOnly = errors.New("sqlite store: database is read-only")
	// ErrNoTransaction: Commit or Rollback without Begin.
	ErrNoTransaction = errors.New("sqlite store: no transaction in progress")
	// ErrNestedTransaction: Begin while a transaction is open.
	ErrNestedTransaction = errors.New("sqlite store: transaction already in progress")
	// ErrDatabaseGone: the database file was deleted, renamed or replaced
	// while open. Every later write fails with it: writes to a file nobody
	// will open again are never acknowledged.
	ErrDatabaseGone = errors.New("sqlite store: the database file is no longer at its path")
	// ErrDatabaseLinked: the database file has more than one name (a hard
	// link), at Open or made while open.
	ErrDatabaseLinked = errors.New("sqlite store: the database file has several names")
	// ErrInUseInProcess: Open found the database file already open in this
	// process outside this package (for example by the host's own SQLite).
	ErrInUseInProcess = errors.New("sqlite store: the database file is open elsewhere in this process")
	// ErrNotSDSStore: the file is a database of another application (another
	// application id, or tables without ours). It is left untouched.
	ErrNotSDSStore = errors.New("sqlite store: not an SDS store")
)

// Prepared statements, by index into Store.stmts.
const (
	stBegin = iota
	stCommit
	stRollback
	stUpsertLamport
	stInsertEntry
	stUpdateEntry
	stDeleteEntry
	stSelectAll
	stSelectKeys
	stDropChannel
	stUpsertHint
	stSelectHint
	stListChannels
	stDeleteHint
	stDropHints
	stUpsertDue
	stDeleteDue
	stSelectDue
	nStmts
)

// statements is the SQL of every prepared statement, by index.
var statements = [nStmts]string{
	stBegin:         sqlBegin,
	stCommit:        sqlCommit,
	stRollback:      sqlRollback,
	stUpsertLamport: sqlUpsertLamport,
	stInsertEntry:   sqlInsertEntry,
	stUpdateEntry:   sqlUpdateEntry,
	stDeleteEntry:   sqlDeleteEntry,
	stSelectAll:     sqlSelectAll,
	stSelectKeys:    sqlSelectKeys,
	stDropChannel:   sqlDropChannel,
	stUpsertHint:    sqlUpsertHint,
	stSelectHint:    sqlSelectHint,
	stListChannels:  sqlListChannels,
	stDeleteHint:    sqlDeleteHint,
	stDropHints:     sqlDropHints,
	stUpsertDue:     sqlUpsertDue,
	stDeleteDue:     sqlDeleteDue,
	stSelectDue:     sqlSelectDue,
}

// Store is a durable store.Store on one SQLite database file, restricted to one
// namespace. It implements store.Transactional, store.ChannelLister and
// store.DueIndex. It
// serves one manager: its methods are safe for concurrent use, but a
// transaction belongs to the Store, not to a goroutine, so writes from another
// goroutine between Begin and Commit join the open transaction.
type Store struct {
	mu     sync.Mutex
	path   string // resolved database path
	nsName string
	ns     []byte
	db     *sql.DB
	conn   *sql.Conn // the Store's one connection
	stmts  [nStmts]*sql.Stmt
	lock   *nsLock
	file   *dbFile // this process's hold on the database file
	busy   time.Duration
	inTx   bool
	txErr  error // first failed write of the open transaction
	closed bool
	// chans indexes the channels loaded or written so far. An index changed
	// by the open transaction is listed in touched and forgotten if the
	// transaction does not commit (it is rebuilt from the database on next
	// use).
	chans   map[string]*chanIndex
	touched map[string]struct{}
	hints   hintCache
	ckpt    *checkpointer
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.Transactional = (*Store)(nil)
	_ store.ChannelLister = (*Store)(nil)
	_ store.DueIndex      = (*Store)(nil)
)

var ctx = context.Background()

// hooks are test-only knobs of Open.
type hooks struct {
	uriParams    string // appended to the connection URI, e.g. "mode=ro"
	skipPathLock bool   // take no lock file: only the lock on the file's identity
}

// Open opens (creating it if needed) the database file at path and takes
// exclusive hold of the namespace opts.Namespace in it. path is a file system
// path, not a URI. Open runs any pending schema migrations, checks the file
// (PRAGMA quick_check), switches it to WAL mode and sets the durability. Every
// error names the path, the namespace and what failed.
func Open(path string, opts Options) (*Store, error) {
	return open(path, opts, hooks{})
}

func open(path string, opts Options, h hooks) (*Store, error) {
	s, err := openStore(path, opts, h)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: open %q (namespace %q): %w", path, opts.Namespace, err)
	}
	return s, nil
}

func openStore(path string, opts Options, h hooks) (*Store, error) {
	switch {
	case path == "":
		return nil, errors.New("empty path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, errors.New("give a file system path, not an SQLite URI or :memory: (the store needs a file, for WAL and the namespace lock)")
	case opts.Durability != DurabilityNormal && opts.Durability != DurabilityFull:
		return nil, fmt.Errorf("invalid durability %v", opts.Durability)
	case opts.BusyTimeout < 0:
		return nil, fmt.Errorf("negative busy timeout %v", opts.BusyTimeout)
	}
	busy := opts.BusyTimeout
	if busy == 0 {
		busy = defaultBusyTimeout
	}
	resolved, err := resolvePath(path)
	if err != nil {
		return nil, err
	}
	if err := checkNotDir(resolved); err != nil {
		return nil, err
	}
	var lock *nsLock
	if !h.skipPathLock {
		if lock, err = lockNamespace(lockPath(resolved, opts.Namespace)); err != nil {
			return nil, err
		}
	}
	file, err := acquireFile(resolved, opts.Namespace)
	if err != nil {
		if lock != nil {
			_ = lock.release()
		}
		return nil, err
	}
	s := &Store{path: resolved, nsName: opts.Namespace, ns: blob(opts.Namespace), lock: lock, file: file, busy: busy,
		chans: make(map[string]*chanIndex), touched: make(map[string]struct{})}
	if err := s.init(opts, h); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

// resolvePath makes path absolute and resolves symbolic links (of the file if
// it exists, else of its directory), so every path to one database finds the
// same lock files.
func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", fmt.Errorf("directory of the database: %w", err)
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// checkNotDir refuses a directory. An existing database the process cannot
// write is refused by acquireFile, which opens it for writing: SQLite itself
// would open such a file read-only without saying so.
func checkNotDir(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// lockPath is the namespace's lock file: next to the database, named by a hash
// of the namespace so that any namespace (any bytes, any length) gives a short,
// valid file name.
func lockPath(dbPath, namespace string) string {
	sum := sha256.Sum256([]byte(namespace))
	return dbPath + ".ns-" + hex.EncodeToString(sum[:16]) + ".lock"
}

// uri is the connection string for the database file.
func (s *Store) uri(h hooks) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(s.path)}
	q := "_busy_timeout=" + strconv.FormatInt(s.busy.Milliseconds(), 10)
	if h.uriParams != "" {
		q += "&" + h.uriParams
	}
	return u.String() + "?" + q
}

// connect opens a database handle with exactly one connection and returns
// that connection.
func (s *Store) connect(h hooks) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("sqlite3", s.uri(h))
	if err != nil {
		return nil, nil, fmt.Errorf("opening database: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("opening database: %w", s.describe(err))
	}
	return db, conn, nil
}

// setPragmas applies the durability and busy timeout to a connection and
// reads each back: a setting SQLite ignored would silently weaken what the
// caller asked for.
func (s *Store) setPragmas(conn *sql.Conn, d Durability, extra ...pragma) error {
	full := int64(0)
	if d == DurabilityFull {
		full = 1
	}
	for _, p := range append([]pragma{
		{"synchronous", int64(d.synchronous())},
		{"fullfsync", full},
		{"checkpoint_fullfsync", full},
		{"busy_timeout", s.busy.Milliseconds()},
	}, extra...) {
		if _, err := conn.ExecContext(ctx, "PRAGMA "+p.name+" = "+strconv.FormatInt(p.value, 10)); err != nil {
			return fmt.Errorf("setting %s: %w", p.name, s.describe(err))
		}
		got, err := pragmaInt(conn, p.name)
		if err != nil {
			return fmt.Errorf("reading back %s: %w", p.name, s.describe(err))
		}
		if got != p.value {
			return fmt.Errorf("%s is %d after setting it to %d", p.name, got, p.value)
		}
	}
	return nil
}

type pragma struct {
	name  string
	value int64
}

func (s *Store) init(opts Options, h hooks) error {
	var err error
	if s.db, s.conn, err = s.connect(h); err != nil {
		return err
	}

	// Identify the file before changing anything in it.
	appID, err := s.pragmaInt("application_id")
	if err != nil {
		return fmt.Errorf("reading the database header: %w", s.describe(err))
	}
	version, err := s.pragmaInt("user_version")
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", s.describe(err))
	}
	if appID != 0 && appID != applicationID {
		return fmt.Errorf("%w: the file belongs to another application (application_id %#x); it was left untouched", ErrNotSDSStore, appID)
	}
	if appID == 0 {
		if err := s.checkUnstamped(version); err != nil {
			return err
		}
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: the file has schema version %d, this library knows up to %d", ErrNewerSchema, version, SchemaVersion)
	}
	if err := s.quickCheck(); err != nil {
		return err
	}

	// WAL, or nothing: another journal mode would change the durability and
	// concurrency the caller was promised.
	var mode string
	if err := s.conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("enabling WAL mode: %w", s.describe(err))
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("cannot enable WAL mode (the journal mode stays %q; the file system may not support the shared memory WAL needs)", mode)
	}
	if err := s.setPragmas(s.conn, opts.Durability,
		pragma{"wal_autocheckpoint", autoCheckpointPages},
		pragma{"journal_size_limit", walSizeLimit},
		pragma{"cache_size", -cacheKiB},
	); err != nil {
		return err
	}
	if err := s.migrate(); err != nil {
		return err
	}
	for i, q := range statements {
		st, err := s.conn.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing statement %d: %w", i, s.describe(err))
		}
		s.stmts[i] = st
	}
	return s.startCheckpointer(opts.Durability, h)
}

// checkUnstamped decides about a database without an application id: an
// empty one is ours to initialize; one written by an earlier version of this
// package (which may not have stamped it) has our table and a schema version
// we know, and is stamped by the migration; anything else belongs to someone
// else and is refused before anything is written to it.
func (s *Store) checkUnstamped(version int64) error {
	var objects, ours int64
	err := s.conn.QueryRowContext(ctx,
		`SELECT count(*), count(*) FILTER (WHERE type = 'table' AND name = 'sds_entry') FROM sqlite_master`).Scan(&objects, &ours)
	if err != nil {
		return fmt.Errorf("reading the database schema: %w", s.describe(err))
	}
	switch {
	case objects == 0 && version == 0:
		return nil // empty: a new store
	case ours == 1 && version >= 1 && version <= SchemaVersion:
		return nil // ours, from before the application id was always written
	case objects == 0:
		return fmt.Errorf("%w: the file has schema version %d but no SDS application id; it was left untouched", ErrNotSDSStore, version)
	default:
		return fmt.Errorf("%w: the file has %d schema objects (schema version %d) but no SDS application id; it was left untouched", ErrNotSDSStore, objects, version)
	}
}

func (s *Store) pragmaInt(name string) (int64, error) { return pragmaInt(s.conn, name) }

func pragmaInt(conn *sql.Conn, name string) (int64, error) {
	var v int64
	err := conn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// quickCheck runs PRAGMA quick_check, which reads every page of the database
// (it skips only the cross-check of indexes against tables), and refuses a
// damaged file.
func (s *Store) quickCheck() error {
	rows, err := s.conn.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("checking the database: %w", s.describe(err))
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("checking the database: %w", s.describe(err))
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("checking the database: %w", s.describe(err))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: PRAGMA quick_check: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// migrate brings the schema to SchemaVersion in one write transaction. The
// transaction always writes the header (application id and version), even
// when there is nothing to migrate: that write is what proves the database is
// writable, since SQLite silently opens a file it cannot write read-only.
func (s *Store) migrate() (err error) {
	if _, err := s.conn.ExecContext(ctx, sqlBegin); err != nil {
		return fmt.Errorf("starting the schema transaction: %w", s.describe(err))
	}
	defer func() {
		if err != nil {
			_, _ = s.conn.ExecContext(ctx, sqlRollback)
		}
	}()
	version, err := s.pragmaInt("user_version") // another process may have migrated meanwhile
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", s.describe(err))
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: the file has schema version %d, this library knows up to %d", ErrNewerSchema, version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		if _, err := s.conn.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrating the schema from version %d to %d: %w", v, v+1, s.describe(err))
		}
	}
	for _, p := range []string{
		"PRAGMA application_id = " + strconv.Itoa(applicationID),
		"PRAGMA user_version = " + strconv.Itoa(SchemaVersion),
	} {
		if _, err := s.conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("writing the schema version: %w", s.describe(err))
		}
	}
	if _, err := s.conn.ExecContext(ctx, sqlCommit); err != nil {
		return fmt.Errorf("committing the schema: %w", s.describe(err))
	}
	return nil
}

// describe adds a sentinel and an explanation to the SQLite errors whose
// cause is worth naming.
func (s *Store) describe(err error) error {
	code, ok := resultCode(err)
	if !ok {
		return err
	}
	switch code {
	case codeNotADB, codeCorrupt:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case codeReadOnly, codePerm:
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case codeBusy, codeLocked:
		return fmt.Errorf("another connection kept the database locked for longer than the busy timeout (%v): %w", s.busy, err)
	case codeFull:
		return fmt.Errorf("disk full: %w", err)
	case codeCantOpen:
		return fmt.Errorf("cannot open or create the database file (does the directory exist and is it writable?): %w", err)
	}
	return err
}

// SQLite's primary result codes (https://sqlite.org/rescode.html), stable
// across versions.
const (
	codePerm     = 3
	codeBusy     = 5
	codeLocked   = 6
	codeReadOnly = 8
	codeCorrupt  = 11
	codeFull     = 13
	codeCantOpen = 14
	codeNotADB   = 26
)

// Close releases the database connection and the namespace lock. An open
// transaction is rolled back. Closing again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.inTx {
		if _, err := s.stmts[stRollback].ExecContext(ctx); err != nil && !s.autocommit() {
			errs = append(errs, fmt.Errorf("rolling back the open transaction: %w", err))
		}
		s.endTx(false)
	}
	if err := s.closeAll(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite store: close %q (namespace %q): %w", s.path, s.nsName, err)
	}
	return nil
}

// closeAll releases whatever init got to open.
func (s *Store) closeAll() error {
	var errs []error
	errs = append(errs, s.stopCheckpointer())
	for i, st := range s.stmts {
		if st != nil {
			errs = append(errs, st.Close())
			s.stmts[i] = nil
		}
	}
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
		s.conn = nil
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.release())
		s.lock = nil
	}
	if s.file != nil { // after every connection: see dbFile
		errs = append(errs, s.file.release(s.nsName))
		s.file = nil
	}
	return errors.Join(errs...)
}

// autocommit reports whether the connection is outside any transaction: after
// some errors (disk full, I/O error) SQLite rolls the transaction back itself.
func (s *Store) autocommit() bool {
	ac := true
	_ = s.conn.Raw(func(dc any) error {
		ac = connAutocommit(dc)
		return nil
	})
	return ac
}
