// Package vectors locates and loads the golden data that nim-sds itself produced
// (tests/vectors in this repository; tests/vectors/SOURCE.md says where each file
// came from), so tests compare against nim-sds and never against our own output.
package vectors

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the golden vectors directory. SDS_VECTORS_DIR overrides the default,
// which is tests/vectors under the module root.
func Dir() (string, error) {
	if d := os.Getenv("SDS_VECTORS_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "tests", "vectors"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("vectors: module root (go.mod) not found above " + wd)
		}
	}
}

// Path returns the path of a file under the vectors directory, failing the test
// if the directory cannot be located.
func Path(t testing.TB, name string) string {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// Read returns the contents of a vectors file, failing the test if it is missing.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, name))
	if err != nil {
		t.Fatalf("golden vectors: %v", err)
	}
	return b
}

// Golden is nim-sds-golden.json.
type Golden struct {
	NimVersion string `json:"nimVersion"`
	TMinMs     int64  `json:"tMinMs"`
	TMaxMs     int64  `json:"tMaxMs"`
	StringHash []struct {
		Hex  string `json:"hex"`
		Hash string `json:"hash"` // signed decimal
	} `json:"stringHash"`
	BloomPositions []struct {
		ID      string   `json:"id"`
		K       int      `json:"k"`
		MBits   int      `json:"mBits"`
		SetBits []uint64 `json:"setBits"`
	} `json:"bloomPositions"`
	BloomFilters []struct {
		Capacity      int      `json:"capacity"`
		ErrorRate     float64  `json:"errorRate"`
		KHashes       int      `json:"kHashes"`
		MBits         int      `json:"mBits"`
		IDs           []string `json:"ids"`
		SerializedHex string   `json:"serializedHex"`
	} `json:"bloomFilters"`
	Rollover struct {
		Capacity       int      `json:"capacity"`
		ErrorRate      float64  `json:"errorRate"`
		Added          []string `json:"added"`
		KeptMessages   []string `json:"keptMessages"`
		KHashes        int      `json:"kHashes"`
		MBits          int      `json:"mBits"`
		FilterCapacity int      `json:"filterCapacity"`
		SerializedHex  string   `json:"serializedHex"`
	} `json:"rollover"`
	Repair []struct {
		Participant     string          `json:"participant"`
		Sender          string          `json:"sender"`
		MessageID       string          `json:"messageId"`
		TReqMs          int64           `json:"tReqMs"`
		TRespMs         int64           `json:"tRespMs"`
		InResponseGroup map[string]bool `json:"inResponseGroup"`
	} `json:"repair"`
}

// LoadGolden parses nim-sds-golden.json.
func LoadGolden(t testing.TB) *Golden {
	t.Helper()
	var g Golden
	if err := json.Unmarshal(Read(t, "nim-sds-golden.json"), &g); err != nil {
		t.Fatalf("nim-sds-golden.json: %v", err)
	}
	if len(g.StringHash) == 0 || len(g.BloomFilters) == 0 || len(g.Repair) == 0 {
		t.Fatal("nim-sds-golden.json: missing sections")
	}
	return &g
}
