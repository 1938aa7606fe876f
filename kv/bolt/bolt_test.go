package bolt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/kvtest"
)

func open(t *testing.T) kv.Engine {
	// The memory map is sized so no commit has to remap (and so wait for
	// the open read transaction of the Snapshot test).
	e, err := bolt.Open(filepath.Join(t.TempDir(), "kv.db"), bolt.Options{NoSync: true, InitialMmapSize: 16 << 20}, kvtest.Keyspaces)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) { kvtest.Run(t, open) }

func TestForeignFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte(strings.Repeat("x", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Open(junk, bolt.Options{}, kvtest.Keyspaces); !errors.Is(err, bolt.ErrForeign) {
		t.Fatalf("junk file: %v", err)
	}
	// A bbolt file with a bucket that is not a keyspace.
	path := filepath.Join(dir, "other.db")
	e, err := bolt.Open(path, bolt.Options{}, []kv.Keyspace{"a", "b", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := bolt.Open(path, bolt.Options{}, kvtest.Keyspaces); !errors.Is(err, bolt.ErrForeign) || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("foreign bucket: %v", err)
	}
}
