package sqlite

import (
	"database/sql"
	"errors"
	"time"
)

// Checkpoints. In WAL mode a commit only appends to the write-ahead log; a
// checkpoint copies the log back into the database file, syncing both (at
// either durability level), and is what bounds the log. SQLite runs it by
// itself inside the commit that crosses wal_autocheckpoint pages, which puts
// the copy and the syncs — the larger part of the cost of a write at
// DurabilityNormal — in the path of a protocol operation. Instead, after each
// commit the Store wakes a checkpointer goroutine with a connection of its own,
// which waits checkpointDelay for more commits and runs a PASSIVE checkpoint
// (never blocking writers or readers, never waiting for locks). The commit path
// keeps SQLite's own automatic checkpoint at a high threshold as a safety net,
// should the checkpointer fall behind. The checkpointer reads and writes no
// data of its own: every transaction still runs on the Store's one connection.
// Like SQLite's automatic checkpoints, a failed checkpoint is not an error of
// any operation: the log keeps the data and the next checkpoint retries.
const (
	checkpointDelay     = 50 * time.Millisecond
	autoCheckpointPages = 10000    // about 40 MiB of log
	walSizeLimit        = 16 << 20 // the log file is truncated to this after a checkpoint
)

type checkpointer struct {
	db   *sql.DB
	conn *sql.Conn
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func (s *Store) startCheckpointer(d Durability, h hooks) error {
	db, conn, err := s.connect(h)
	if err != nil {
		return err
	}
	// The checkpoint's syncs follow the durability level too.
	if err := s.setPragmas(conn, d); err != nil {
		conn.Close()
		db.Close()
		return err
	}
	c := &checkpointer{db: db, conn: conn, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.ckpt = c
	go c.run()
	return nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		t.Reset(checkpointDelay)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		_, _ = c.conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// committed tells the checkpointer that the log has grown; mu is held.
func (s *Store) committed() {
	if s.ckpt != nil {
		select {
		case s.ckpt.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Store) stopCheckpointer() error {
	c := s.ckpt
	if c == nil {
		return nil
	}
	s.ckpt = nil
	close(c.stop)
	<-c.done
	return errors.Join(c.conn.Close(), c.db.Close())
}
