// Package sqlite is a durable implementation of the persistence contract
// (package store) on an SQLite database file, through
// github.com/mattn/go-sqlite3. It is the only package of core that needs cgo,
// and the engine never imports it: a host that wants durable state opens a
// Store and passes it as engine.Options.Store.
//
//	s, err := sqlite.Open("/var/lib/app/sds.db", sqlite.Options{Namespace: "alice"})
//	if err != nil { ... }
//	defer s.Close()
//	m, err := engine.New(engine.Options{ParticipantID: "alice", Store: s})
//
// A Store implements store.Transactional, so the engine makes each protocol
// operation (a wrap, an unwrap, a sweep, …) one SQLite transaction: after a
// crash the database holds every operation that returned, and no part of one
// that did not. It implements store.ChannelLister and store.DueIndex, so a
// manager built on it knows every stored channel from construction but loads
// one only on first use or when a sweep finds its timers due.
//
// # Namespaces
//
// Several managers may keep their state in one file, each under its own
// namespace (for example its participant id; "" is a namespace too). Every row
// carries its namespace, and a Store reads and writes only its own. A namespace
// can be open in one Store at a time, in any process: Open takes an advisory
// lock, flock(2) on the file <path>.ns-<hash>.lock next to the database (hash
// is the first 16 bytes of the SHA-256 of the namespace, in hex, so any bytes
// of any length make a valid file name), and fails with ErrNamespaceInUse,
// naming the holder's pid, if it is held. The kernel releases the lock when
// the Store is closed or its process dies, however it dies. Close removes the
// lock file (still holding the lock; an opener that locked the removed file
// sees it is gone from its path and takes the new one); a process that dies
// leaves its file, and the next Open reuses it. Stores
// of different namespaces, in one process or several, use the file
// concurrently under SQLite's own locking: a writer waits up to
// Options.BusyTimeout for another writer's transaction to end, then fails with
// a clear error. Sharing a file costs speed (each connection's page cache is
// dropped whenever another connection has written); a file per manager is
// faster.
//
// # Schema
//
// The schema version is kept in PRAGMA user_version (SchemaVersion) and the
// file is marked with an application id. Open runs the missing migrations in
// one transaction, refuses a database from a newer version of this package
// (ErrNewerSchema, leaving the file untouched) and a file that belongs to
// another application. Three tables:
//
//   - sds_entry (ns, channel, seq, kind, id, record), a WITHOUT ROWID table
//     clustered by (ns, channel, seq): a channel's lamport clock and the
//     records of its five buffers, in insertion order (seq), so loading a
//     channel reads one contiguous range and a protocol operation dirties
//     few pages. An update keeps the entry's seq, hence its position. Ids,
//     channel ids and namespaces are arbitrary bytes, stored as BLOBs;
//     records are opaque BLOBs.
//   - sds_hint (ns, id, hint): the retrieval hints, which have no channel. A
//     hint is deleted when its message leaves a log (eviction, DropChannel),
//     so the table never outgrows the logs.
//   - sds_due (ns, channel, due), indexed by (ns, due): when each channel's
//     timers next need a sweep (store.DueIndex), so a sweep finds the due
//     channels without reading the others.
//
// To find an entry by message id without a second index on disk (which would
// cost a page write per insert and per removal), a Store keeps in memory, for
// each channel it has loaded or written, the seq of every entry; the namespace
// lock makes it the only writer of those rows, and a transaction that does not
// commit makes it forget what that transaction changed. Every statement is
// prepared once, at Open, and finds its rows through a primary key: no
// statement scans a table, so the cost of an operation does not grow with the
// file.
//
// # Durability
//
// The database runs in WAL mode (Open fails rather than run in another journal
// mode) with one of two levels:
//
//   - DurabilityNormal, the default: synchronous=NORMAL. A committed operation
//     survives the process crashing or being killed at any moment, which is
//     the failure a messaging library mostly meets (the host is killed, the
//     app is swiped away); an operating-system crash or a power loss may lose
//     the last operations committed before it, but never corrupts the file or
//     leaves half an operation. Commits do not wait for the disk, which makes
//     a protocol operation several times faster than with DurabilityFull.
//   - DurabilityFull: synchronous=FULL (and fullfsync on Apple systems). Every
//     commit waits until the log is on stable storage, so it also survives
//     power loss. It costs one fsync per protocol operation.
//
// Checkpoints (copying the write-ahead log into the database file) run on a
// second connection of the Store, in the background, shortly after commits,
// instead of inside the commit that fills the log; the Store's transactions all
// run on its one connection.
//
// # Faults
//
// Open fails with an error naming the path, the namespace and the cause for a
// path that cannot be created or written (a missing or read-only directory, a
// read-only file, which SQLite would otherwise open read-only without a word:
// ErrReadOnly), a file that is not a database or is damaged (PRAGMA
// quick_check runs at every Open, reading the whole file — about 0.4 s for
// 200 MiB in the page cache: ErrCorrupt), a file system without the
// shared memory WAL needs, a namespace in use, or a database locked by another
// connection for longer than the busy timeout. During operation a failed write
// (disk full, I/O error, busy) is returned to the engine, which rolls the
// operation back and reloads the channel from the file; a transaction in which
// a write failed can only be rolled back. Nothing panics.
//
// The file itself is guarded (ErrDatabaseGone, ErrDatabaseLinked,
// ErrInUseInProcess, ErrNotSDSStore): the Store keeps one descriptor of the
// database per process and, before every write transaction, checks that the
// path still names that file with exactly one name (two system calls), so a
// database deleted, renamed or replaced while open fails every later write
// instead of acknowledging writes nobody will read; a file with several names
// (hard links) is refused, since SQLite names its write-ahead log after the
// path and the namespace lock file is per name; one namespace of one file is
// open once per process whatever the path, and on Linux also once across
// processes whatever the path (an open-file-description lock on a byte of the
// database file per namespace, far past SQLite's lock bytes); on Linux Open refuses a file another
// descriptor of the process already has open (for example the host's own
// SQLite: two SQLite copies in one process must never open the same file,
// since closing a descriptor drops the process's POSIX locks on it); and a
// database with tables but without this package's application id is refused
// without a byte written. A database of an earlier version without the id but
// with this package's schema is stamped. The host must never open the file
// with its own SQLite while the library may have it open.
//
// # Building
//
// By default go-sqlite3 compiles its bundled SQLite (about 40 s of cgo on two
// cores, once per build cache). With the build tag libsqlite3 it links the
// platform's libsqlite3 instead (Debian and Ubuntu: package libsqlite3-dev),
// which distributions and iOS prefer; SQLite 3.24 or newer is required.
package sqlite
