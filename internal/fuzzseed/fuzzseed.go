// Package fuzzseed writes seed corpus files for go test -fuzz targets,
// so the seeds in testdata/fuzz can be regenerated from real encodings:
//
//	RELGRAPH_WRITE_SEEDS=1 go test -run Seeds ./...
package fuzzseed

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Enabled reports whether seeds should be (re)written in this run.
func Enabled() bool { return os.Getenv("RELGRAPH_WRITE_SEEDS") != "" }

// Write stores each input as testdata/fuzz/<target>/seed-<i> of the
// current package, in the "go test fuzz v1" format for a []byte target.
func Write(t testing.TB, target string, inputs ...[]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
