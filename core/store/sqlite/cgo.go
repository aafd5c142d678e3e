//go:build cgo

package sqlite

import (
	"errors"

	sqlite3 "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// resultCode returns the SQLite primary result code of an error from the
// driver.
func resultCode(err error) (int, bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return int(se.Code), true
}

// connAutocommit reports whether a driver connection is outside any
// transaction.
func connAutocommit(dc any) bool {
	if c, ok := dc.(*sqlite3.SQLiteConn); ok {
		return c.AutoCommit()
	}
	return true
}
