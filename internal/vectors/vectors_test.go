package vectors

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyMatchesShared keeps tests/vectors byte-identical to the reference copy
// (../shared/vectors beside the repository) wherever that folder exists: golden
// data is produced by nim-sds and never edited here. SOURCE.md is ours.
func TestCopyMatchesShared(t *testing.T) {
	ours, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(ours))), "shared", "vectors")
	if os.Getenv("SDS_SHARED_VECTORS_DIR") != "" {
		shared = os.Getenv("SDS_SHARED_VECTORS_DIR")
	}
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no reference copy at %s (a plain clone): nothing to compare", shared)
	}
	sharedFiles := map[string]bool{}
	err = filepath.WalkDir(shared, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(shared, path)
		sharedFiles[rel] = true
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(ours, rel))
		if err != nil {
			t.Errorf("%s is in %s but not in tests/vectors: %v", rel, shared, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("tests/vectors/%s differs from %s/%s: copy it again, never edit golden data", rel, shared, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(ours, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ours, path)
		if rel != "SOURCE.md" && !sharedFiles[rel] {
			t.Errorf("tests/vectors/%s is not nim-sds golden data from %s", rel, shared)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadFindsRepositoryCopy(t *testing.T) {
	g := LoadGolden(t)
	if g.NimVersion == "" {
		t.Fatal("nim-sds-golden.json has no nimVersion")
	}
	if b := Read(t, "trace-nim-sds-v04.jsonl"); len(b) == 0 {
		t.Fatal("trace-nim-sds-v04.jsonl is empty")
	}
}
