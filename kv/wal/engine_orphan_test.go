package wal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph/kv"
)

// TestOrphanLogIsRefusedNotReplaced: a log beside a new store file (its
// own file moved away, or another store's log) is refused, read-only or
// not, and left as it was: it may hold acknowledged writes.
func TestOrphanLogIsRefusedNotReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	log := []byte("records of a store whose file was moved away")
	if err := os.WriteFile(path+"-wal", log, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, readOnly := range []bool{false, true} {
		e, err := Open(path, []kv.Keyspace{"k"}, kv.Options{ReadOnly: readOnly}, Config{})
		if err == nil {
			e.Close()
			t.Fatalf("read-only %v: opened beside an orphan log", readOnly)
		}
		if !errors.Is(err, kv.ErrCorrupt) {
			t.Fatalf("read-only %v: %v", readOnly, err)
		}
		if got, _ := os.ReadFile(path + "-wal"); string(got) != string(log) {
			t.Fatalf("read-only %v: the log became %q", readOnly, got)
		}
	}
}
