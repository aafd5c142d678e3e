//go:build !cgo

package sqlite_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/logos-messaging/libsds-go/core/store/sqlite"
)

// Without cgo there is no SQLite: Open says so instead of failing obscurely.
func TestOpenWithoutCgo(t *testing.T) {
	_, err := sqlite.Open(filepath.Join(t.TempDir(), "sds.db"), sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("Open without cgo: %v", err)
	}
}
