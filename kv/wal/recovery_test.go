package wal

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relgraph/relgraph/kv"
)

// logged writes n transactions of one key each (k0 … kn-1) and leaves
// the engine as a crash would: the writes in the log only.
func logged(t *testing.T, path string, n int) {
	t.Helper()
	logAcross(t, path, Config{CheckpointInterval: 1 << 40}, n) // no checkpoint on a timer
}

// keysOf is the keys of keyspace a, in order.
func keysOf(t *testing.T, e *Engine) []string {
	return slices.Sorted(maps.Keys(valuesOf(t, e)))
}

// flip xors one byte of the log at off.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path+"-wal", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestTornTailEndsTheLog: a damaged last record is a torn tail: the log
// ends before it, and the records before it are replayed.
func TestTornTailEndsTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	logged(t, path, 5)
	flip(t, path, 5*pageSize+frameHeaderSize+10) // record 5's payload: the region's header is page 0
	e := openTest(t, path, Config{})
	defer e.Close()
	if got := keysOf(t, e); fmt.Sprint(got) != "[k0 k1 k2 k3]" {
		t.Fatalf("after a torn tail: %v", got)
	}
}

// TestDamageInTheMiddleIsReported: a damaged record followed by good
// ones is reported, never skipped.
func TestDamageInTheMiddleIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	logged(t, path, 5)
	flip(t, path, 2*pageSize+frameHeaderSize+10) // record 2 of 5
	_, err := Open(path, []kv.Keyspace{"a", "b"}, kv.Options{NoSync: true}, Config{})
	var d *Damage
	if !errors.Is(err, kv.ErrCorrupt) || !errors.As(err, &d) || !strings.Contains(err.Error(), "record 2 is missing or damaged, yet record 5 follows") ||
		d.Kept != 1 || d.Through != 5 {
		t.Fatalf("damage in the middle: %v", err)
	}
}

// TestAnotherStoresLogIsRefused: a log left beside another store file
// (a copy put back over a crashed store) is refused.
func TestAnotherStoresLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	logged(t, a, 1)
	logged(t, b, 1)
	if err := os.Rename(b+"-wal", a+"-wal"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(a, []kv.Keyspace{"a", "b"}, kv.Options{NoSync: true}, Config{})
	if !errors.Is(err, kv.ErrCorrupt) || !errors.Is(err, errForeignLog) {
		t.Fatalf("another store's log: %v", err)
	}
}

// TestCloseLeavesOneFile: a clean close checkpoints everything and
// removes the log; the store file alone holds every write.
func TestCloseLeavesOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	logged(t, path, 3)
	e := openTest(t, path, Config{})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log is still there: %v", err)
	}
	e = openTest(t, path, Config{})
	defer e.Close()
	if got := keysOf(t, e); fmt.Sprint(got) != "[k0 k1 k2]" {
		t.Fatalf("after a clean close: %v", got)
	}
}

// TestMoveFileNeverReplaces: moveFile moves a file to a free name, and
// refuses (os.ErrExist) a name that is taken, changing neither file.
func TestMoveFileNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	from, taken, free := filepath.Join(dir, "from"), filepath.Join(dir, "taken"), filepath.Join(dir, "free")
	for name, body := range map[string]string{from: "the log", taken: "a user's file"} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := moveFile(from, taken); !errors.Is(err, os.ErrExist) {
		t.Fatalf("move onto a taken name: %v", err)
	}
	for name, body := range map[string]string{from: "the log", taken: "a user's file"} {
		if got, err := os.ReadFile(name); err != nil || string(got) != body {
			t.Fatalf("%s after the refused move: %q, %v", name, got, err)
		}
	}
	if err := moveFile(from, free); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(free); err != nil || string(got) != "the log" {
		t.Fatalf("the moved file: %q, %v", got, err)
	}
	if _, err := os.Stat(from); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old name is still there: %v", err)
	}
}
