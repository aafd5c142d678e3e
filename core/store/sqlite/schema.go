package sqlite

// SchemaVersion is the schema version this package writes and understands; it
// is kept in the database's PRAGMA user_version. Open upgrades an older
// database by running the missing migrations and refuses a newer one with
// ErrNewerSchema.
const SchemaVersion = 2

// applicationID marks a database created by this package (PRAGMA
// application_id, "SDS1"). Open refuses a database that carries another
// application's id, or a schema version without this id, instead of adding its
// tables to a file that belongs to someone else.
const applicationID = 0x53445331

// migrations[v] upgrades a database from schema version v to v+1. They run in
// order, inside the one transaction that also sets user_version, so a database
// is always at exactly one version. Never edit a released step: append a new one
// and raise SchemaVersion.
var migrations = []string{
	// 0 → 1: the initial schema.
	//
	// sds_entry holds a channel's whole state: its lamport clock and every
	// record of its five buffers (the log, the outgoing and incoming message
	// buffers and the two repair buffers, told apart by kind). It is clustered
	// by (ns, channel, seq) — a WITHOUT ROWID table is a single b-tree — where
	// seq numbers a channel's entries in insertion order. So loading a channel
	// reads one contiguous range, already in order; a new entry is appended at
	// the end of its channel's range, on the page the lamport row (kind 0, seq
	// maxSeq, always last) is on, which the same operation writes anyway; and
	// FIFO evictions remove from the start of the range. A protocol operation
	// therefore dirties few pages, which is what a commit costs. The Store keeps
	// the (kind, id) → seq map of each channel it has loaded, which is how it
	// updates an entry in place (keeping its seq, so its position) and removes
	// one by id without a second index: the namespace lock makes it the only
	// writer of these rows.
	`CREATE TABLE sds_entry (
		ns      BLOB NOT NULL,
		channel BLOB NOT NULL,
		seq     INTEGER NOT NULL,
		kind    INTEGER NOT NULL,
		id      BLOB NOT NULL,
		record  BLOB NOT NULL,
		PRIMARY KEY (ns, channel, seq)
	) WITHOUT ROWID;
	CREATE TABLE sds_hint (
		ns   BLOB NOT NULL,
		id   BLOB NOT NULL,
		hint BLOB NOT NULL,
		PRIMARY KEY (ns, id)
	) WITHOUT ROWID;`,

	// 1 → 2: channels load lazily (store.DueIndex). sds_due holds, for each
	// channel with a timer pending, when a sweep next has work on it (Unix
	// ms), indexed by time so a sweep finds the due channels without reading
	// the others. A channel stored before this step gets due time 1, so the
	// first sweep loads it once and records its real due time. Hints now
	// leave with their messages: the hints of messages no longer in any log,
	// which version 1 kept forever, are deleted (through a temporary index of
	// the logged ids, so the step costs a sort, not a scan per hint).
	`CREATE TABLE sds_due (
		ns      BLOB NOT NULL,
		channel BLOB NOT NULL,
		due     INTEGER NOT NULL,
		PRIMARY KEY (ns, channel)
	) WITHOUT ROWID;
	CREATE INDEX sds_due_time ON sds_due (ns, due);
	INSERT INTO sds_due (ns, channel, due) SELECT DISTINCT ns, channel, 1 FROM sds_entry;
	CREATE TEMP TABLE sds_logged (ns BLOB NOT NULL, id BLOB NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;
	INSERT OR IGNORE INTO temp.sds_logged SELECT ns, id FROM sds_entry WHERE kind = 1;
	DELETE FROM sds_hint WHERE NOT EXISTS (SELECT 1 FROM temp.sds_logged l WHERE l.ns = sds_hint.ns AND l.id = sds_hint.id);
	DROP TABLE temp.sds_logged;`,
}

// Entry kinds: the value of sds_entry.kind. They are part of the schema and
// never change meaning.
const (
	kindLamport        = 0 // the channel's lamport clock: record is an INTEGER, seq is maxSeq
	kindLog            = 1
	kindOutgoing       = 2
	kindIncoming       = 3
	kindOutgoingRepair = 4
	kindIncomingRepair = 5
)

// maxSeq is the seq of the lamport row, after every entry of its channel.
const maxSeq = 1<<63 - 1

// The statements the store prepares once at Open. Every parameter that is an
// id, a channel, a namespace or a record is bound as a BLOB.
const (
	sqlBegin         = `BEGIN IMMEDIATE`
	sqlCommit        = `COMMIT`
	sqlRollback      = `ROLLBACK`
	sqlUpsertLamport = `INSERT INTO sds_entry (ns, channel, seq, kind, id, record) VALUES (?1, ?2, 9223372036854775807, 0, x'', ?3)
		ON CONFLICT (ns, channel, seq) DO UPDATE SET record = excluded.record WHERE record IS NOT excluded.record`
	sqlInsertEntry = `INSERT INTO sds_entry (ns, channel, seq, kind, id, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`
	// An unchanged record is not rewritten: its page stays clean.
	sqlUpdateEntry  = `UPDATE sds_entry SET record = ?4 WHERE ns = ?1 AND channel = ?2 AND seq = ?3 AND record IS NOT ?4`
	sqlDeleteEntry  = `DELETE FROM sds_entry WHERE ns = ?1 AND channel = ?2 AND seq = ?3`
	sqlSelectAll    = `SELECT seq, kind, id, record FROM sds_entry WHERE ns = ?1 AND channel = ?2 ORDER BY seq`
	sqlSelectKeys   = `SELECT seq, kind, id FROM sds_entry WHERE ns = ?1 AND channel = ?2 AND seq < 9223372036854775807`
	sqlDropChannel  = `DELETE FROM sds_entry WHERE ns = ?1 AND channel = ?2`
	sqlUpsertHint   = `INSERT INTO sds_hint (ns, id, hint) VALUES (?1, ?2, ?3) ON CONFLICT (ns, id) DO UPDATE SET hint = excluded.hint WHERE hint IS NOT excluded.hint`
	sqlSelectHint   = `SELECT hint FROM sds_hint WHERE ns = ?1 AND id = ?2`
	sqlListChannels = listChannelsSQL
	// A hint lives as long as its message is in a log: the engine sets hints
	// only for the messages an outgoing message cites, which come from the
	// log, so the hint table never outgrows the logs.
	sqlDeleteHint = `DELETE FROM sds_hint WHERE ns = ?1 AND id = ?2`
	sqlDropHints  = `DELETE FROM sds_hint WHERE ns = ?1 AND id IN (SELECT id FROM sds_entry WHERE ns = ?1 AND channel = ?2 AND kind = 1)`
	sqlUpsertDue  = `INSERT INTO sds_due (ns, channel, due) VALUES (?1, ?2, ?3) ON CONFLICT (ns, channel) DO UPDATE SET due = excluded.due`
	sqlDeleteDue  = `DELETE FROM sds_due WHERE ns = ?1 AND channel = ?2`
	sqlSelectDue  = `SELECT channel FROM sds_due WHERE ns = ?1 AND due <= ?2`
)

// listChannelsSQL lists the namespace's channels without reading every row: it
// hops from one distinct channel to the next through the primary key (a skip
// scan), one seek per channel.
const listChannelsSQL = `WITH RECURSIVE ch(c) AS (
		SELECT (SELECT min(channel) FROM sds_entry WHERE ns = ?1)
		UNION ALL
		SELECT (SELECT min(channel) FROM sds_entry WHERE ns = ?1 AND channel > ch.c) FROM ch WHERE ch.c IS NOT NULL
	)
	SELECT c FROM ch WHERE c IS NOT NULL`
