package wal

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// BenchmarkCommit is one durable commit of one 200-byte write, serial:
// the log's own floor (one page written, one fdatasync).
func BenchmarkCommit(b *testing.B) {
	e, err := Open(filepath.Join(b.TempDir(), "c.db"), kvtest.Keyspaces, kv.Options{}, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	value := make([]byte, 200)
	for i := 0; b.Loop(); i++ {
		w, err := e.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		w.Put("a", []byte(fmt.Sprintf("k%08d", i%100000)), value)
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
