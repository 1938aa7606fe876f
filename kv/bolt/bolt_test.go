package bolt_test

import (
	"context"
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
	e, err := bolt.Open(filepath.Join(t.TempDir(), "kv.db"), kvtest.Keyspaces, kv.Options{NoSync: true, Config: bolt.Config{InitialMmapSize: 16 << 20}})
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
	if _, err := bolt.Open(junk, kvtest.Keyspaces, kv.Options{}); !errors.Is(err, bolt.ErrForeign) {
		t.Fatalf("junk file: %v", err)
	}
	// A bbolt file with a bucket that is not a keyspace.
	path := filepath.Join(dir, "other.db")
	e, err := bolt.Open(path, []kv.Keyspace{"a", "b", "extra"}, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := bolt.Open(path, kvtest.Keyspaces, kv.Options{}); !errors.Is(err, bolt.ErrForeign) || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("foreign bucket: %v", err)
	}
}

// TestPageWritesCountsCommittedPages: a commit adds its pages, a
// rollback and a read add none.
func TestPageWritesCountsCommittedPages(t *testing.T) {
	e := open(t).(*bolt.Engine)
	defer e.Close()
	ks := kvtest.Keyspaces[0]
	write := func(commit bool) {
		txn, err := e.Begin(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := txn.Put(ks, []byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = txn.Commit()
		} else {
			err = txn.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	before := e.PageWrites()
	write(false)
	if got := e.PageWrites(); got != before {
		t.Fatalf("a rollback wrote %d pages", got-before)
	}
	write(true)
	// The leaf, the root bucket page, the freelist and the meta page at least.
	if got := e.PageWrites() - before; got < 3 {
		t.Fatalf("a commit wrote %d pages", got)
	}
}
