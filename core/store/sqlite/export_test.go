package sqlite

import "fmt"

// Test-only access to the Store's internals, for package sqlite_test.

// OpenWithURIParams opens like Open, appending params to the SQLite URI (for
// example "mode=ro" to make SQLite open the file read-only, as it silently
// does when it cannot write it).
func OpenWithURIParams(path string, opts Options, params string) (*Store, error) {
	return open(path, opts, hooks{uriParams: params})
}

// OpenByIdentityOnly opens like Open without the namespace's lock file, as a
// process reaching the file by another path (a bind mount) would: only the
// lock on the file's identity excludes it.
func OpenByIdentityOnly(path string, opts Options) (*Store, error) {
	return open(path, opts, hooks{skipPathLock: true})
}

// QueryStrings runs q on the Store's connection and returns the first column
// of every row as text.
func QueryStrings(s *Store, q string, args ...any) ([]string, error) {
	return QueryColumn(s, 0, q, args...)
}

// QueryColumn runs q on the Store's connection and returns column col of every
// row as text.
func QueryColumn(s *Store, col int, q string, args ...any) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		switch v := vals[col].(type) {
		case []byte:
			out = append(out, string(v))
		default:
			out = append(out, fmt.Sprint(v))
		}
	}
	return out, rows.Err()
}

// QueryString returns the first column of the first row of q.
func QueryString(s *Store, q string, args ...any) (string, error) {
	out, err := QueryStrings(s, q, args...)
	if err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", fmt.Errorf("%s: no rows", q)
	}
	return out[0], nil
}

// Exec runs q on the Store's connection.
func Exec(s *Store, q string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	_, err := s.conn.ExecContext(ctx, q, args...)
	return err
}

// LimitPages caps the database at its current size plus extra pages (PRAGMA
// max_page_count, per connection): a write that needs more fails as on a full
// disk. A large extra lifts the cap.
func LimitPages(s *Store, extra int64) error {
	n, err := QueryString(s, "PRAGMA page_count")
	if err != nil {
		return err
	}
	var pages int64
	if _, err := fmt.Sscan(n, &pages); err != nil {
		return err
	}
	got, err := QueryString(s, fmt.Sprintf("PRAGMA max_page_count = %d", pages+extra))
	if err != nil {
		return err
	}
	if got != fmt.Sprint(pages+extra) {
		return fmt.Errorf("max_page_count is %s, want %d", got, pages+extra)
	}
	return nil
}

// Statements returns the SQL of every prepared statement.
func Statements() []string { return statements[:] }

// LockPath is the namespace lock file of a database path.
var LockPath = lockPath

// Path returns the resolved database path.
func (s *Store) Path() string { return s.path }
