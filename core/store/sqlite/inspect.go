package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Inspection is a read-only summary of a database file: what an engineer looks
// at when a message "never arrives" (sdsctl store).
type Inspection struct {
	Path          string             `json:"path"`
	ApplicationID uint32             `json:"applicationId"`
	OurDatabase   bool               `json:"ourDatabase"` // stamped with this package's application id
	SchemaVersion int64              `json:"schemaVersion"`
	JournalMode   string             `json:"journalMode"`
	Integrity     []string           `json:"integrity"` // PRAGMA integrity_check: ["ok"] when sound
	Namespaces    []NamespaceSummary `json:"namespaces"`
}

// NamespaceSummary is one manager's state inside the file.
type NamespaceSummary struct {
	Namespace string           `json:"namespace"`
	Hints     int64            `json:"retrievalHints"`
	Channels  []ChannelSummary `json:"channels"`
}

// ChannelSummary is one channel's stored state: its lamport clock and the size
// of each buffer.
type ChannelSummary struct {
	Channel         string        `json:"channel"`
	Lamport         int64         `json:"lamport"`
	Log             BufferSummary `json:"log"`
	Outgoing        BufferSummary `json:"outgoing"`
	Incoming        BufferSummary `json:"incoming"`
	OutgoingRepairs BufferSummary `json:"outgoingRepairs"`
	IncomingRepairs BufferSummary `json:"incomingRepairs"`
}

// BufferSummary counts a buffer's records and their bytes.
type BufferSummary struct {
	Count int64 `json:"count"`
	Bytes int64 `json:"bytes"`
}

// Inspect opens the database at path read-only, without taking any namespace
// lock, and summarizes it. It never writes to the file (no migration, no WAL
// switch), so it can run beside a process that has the store open. A file that
// is not one of our databases is described (application id, integrity) with no
// namespaces.
func Inspect(path string) (*Inspection, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite store: inspect %q: no such file", path)
		}
		return nil, fmt.Errorf("sqlite store: inspect %q: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro&_busy_timeout=5000"}
	db, err := sql.Open("sqlite3", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlite store: inspect %q: %w", path, err)
	}
	defer db.Close()
	in, err := inspect(db)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: inspect %q: %w", path, err)
	}
	in.Path = abs
	return in, nil
}

func inspect(db *sql.DB) (*Inspection, error) {
	in := &Inspection{Integrity: []string{}, Namespaces: []NamespaceSummary{}}
	var appID int64
	for _, q := range []struct {
		pragma string
		dst    any
	}{
		{"application_id", &appID},
		{"user_version", &in.SchemaVersion},
		{"journal_mode", &in.JournalMode},
	} {
		if err := db.QueryRow("PRAGMA " + q.pragma).Scan(q.dst); err != nil {
			return nil, fmt.Errorf("reading %s: %w", q.pragma, err)
		}
	}
	in.ApplicationID = uint32(appID)
	in.OurDatabase = in.ApplicationID == applicationID
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return nil, err
		}
		in.Integrity = append(in.Integrity, line)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('sds_entry', 'sds_hint')`).Scan(&tables); err != nil {
		return nil, err
	}
	if tables < 2 {
		return in, nil // not (yet) one of our stores
	}
	if err := in.summarizeEntries(db); err != nil {
		return nil, err
	}
	return in, in.countHints(db)
}

// summarizeEntries reads one row per (namespace, channel, kind), in key order.
func (in *Inspection) summarizeEntries(db *sql.DB) error {
	rows, err := db.Query(`SELECT ns, channel, kind, count(*), sum(length(record)),
		max(CASE WHEN kind = 0 THEN record END)
		FROM sds_entry GROUP BY ns, channel, kind ORDER BY ns, channel, kind`)
	if err != nil {
		return fmt.Errorf("reading entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ns, channel  []byte
			kind, count  int64
			bytes        int64
			lamportValue sql.NullInt64
		)
		if err := rows.Scan(&ns, &channel, &kind, &count, &bytes, &lamportValue); err != nil {
			return fmt.Errorf("reading entries: %w", err)
		}
		if n := len(in.Namespaces); n == 0 || in.Namespaces[n-1].Namespace != string(ns) {
			in.Namespaces = append(in.Namespaces, NamespaceSummary{Namespace: string(ns), Channels: []ChannelSummary{}})
		}
		nsSum := &in.Namespaces[len(in.Namespaces)-1]
		if n := len(nsSum.Channels); n == 0 || nsSum.Channels[n-1].Channel != string(channel) {
			nsSum.Channels = append(nsSum.Channels, ChannelSummary{Channel: string(channel)})
		}
		ch := &nsSum.Channels[len(nsSum.Channels)-1]
		b := BufferSummary{Count: count, Bytes: bytes}
		switch kind {
		case kindLamport:
			ch.Lamport = lamportValue.Int64
		case kindLog:
			ch.Log = b
		case kindOutgoing:
			ch.Outgoing = b
		case kindIncoming:
			ch.Incoming = b
		case kindOutgoingRepair:
			ch.OutgoingRepairs = b
		case kindIncomingRepair:
			ch.IncomingRepairs = b
		}
	}
	return rows.Err()
}

func (in *Inspection) countHints(db *sql.DB) error {
	rows, err := db.Query(`SELECT ns, count(*) FROM sds_hint GROUP BY ns ORDER BY ns`)
	if err != nil {
		return fmt.Errorf("reading hints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ns    []byte
			count int64
		)
		if err := rows.Scan(&ns, &count); err != nil {
			return err
		}
		found := false
		for i := range in.Namespaces {
			if in.Namespaces[i].Namespace == string(ns) {
				in.Namespaces[i].Hints, found = count, true
			}
		}
		if !found {
			in.Namespaces = append(in.Namespaces, NamespaceSummary{Namespace: string(ns), Hints: count, Channels: []ChannelSummary{}})
		}
	}
	return rows.Err()
}
