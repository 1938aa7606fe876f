package wal

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

var ctx = context.Background()

// testConfig keeps logs small, so tests cross regions and checkpoint.
var testConfig = Config{RegionSize: 64 << 10, CheckpointBytes: 16 << 10}

func openTest(t testing.TB, path string, cfg Config) *Engine {
	t.Helper()
	cfg.File.InitialMmapSize = 16 << 20
	e, err := Open(path, kvtest.Keyspaces, kv.Options{NoSync: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openTest(t, filepath.Join(t.TempDir(), "kv.db"), testConfig) })
}

// TestConformanceMerged runs the conformance suite with every
// transaction of more than one key keeping its writes apart from the
// overlay and merged at its commit, the path of transactions too large
// to set their writes into the next version as they go.
func TestConformanceMerged(t *testing.T) {
	cfg := testConfig
	cfg.directKeys = 1
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg) })
}

// TestConformanceBulk runs the conformance suite with every transaction
// of more than two keys bulk, so reads, cursors, rollbacks and commits
// of bulk transactions meet the seam's contract too.
func TestConformanceBulk(t *testing.T) {
	cfg := testConfig
	cfg.BulkKeys = 2
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg) })
}

// The overlay's size, which starts checkpoints and bounds writers, is
// counted alike whether a transaction set its writes into the next
// version as it went or merged them at its commit: after every commit
// it is the size of the entries the current version holds.
func TestOverlaySizeEitherPath(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := testConfig
		cfg.CheckpointBytes, cfg.CheckpointInterval = 1<<40, 1<<40 // nothing leaves the overlay
		cfg.directKeys = rapid.SampledFrom([]int{1, 3, 512}).Draw(rt, "directKeys")
		e := openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg)
		defer e.Close()
		for i := range rapid.IntRange(1, 8).Draw(rt, "txns") {
			// Drawn first: rapid may end a run inside a draw, which must
			// not leave a transaction open (Close would wait for it).
			type write struct {
				key, value []byte // value nil: a delete
			}
			var writes []write
			for j := range rapid.IntRange(1, 6).Draw(rt, fmt.Sprint("writes", i)) {
				w := write{key: []byte(rapid.StringMatching(`[a-e]{1,2}`).Draw(rt, fmt.Sprint("key", i, j)))}
				if rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("delete", i, j)) > 0 {
					w.value = []byte(rapid.StringN(0, 40, -1).Draw(rt, fmt.Sprint("value", i, j)))
				}
				writes = append(writes, w)
			}
			txn, err := e.Begin(ctx, true)
			if err != nil {
				rt.Fatal(err)
			}
			for _, w := range writes {
				if w.value == nil {
					err = txn.Delete("a", w.key)
				} else {
					err = txn.Put("a", w.key, w.value)
				}
				if err != nil {
					txn.Rollback()
					rt.Fatal(err)
				}
			}
			if err := txn.Commit(); err != nil {
				rt.Fatal(err)
			}
			if counted, held := overlaySizes(e); counted != held {
				rt.Fatalf("after commit %d the overlay is counted as %d bytes, its entries take %d", i, counted, held)
			}
		}
	})
}

// A cursor over keyspace a walks exactly a's keys, committed and the
// transaction's own, while the transaction goes on writing keyspace b
// (only writes to its own keyspace may move a cursor), on either path:
// writes set into the next version as they go (directKeys 512), or kept
// apart until the commit (directKeys 1). kvtest's CursorBesideWrites
// holds every engine to this; this one draws small trees too, where a
// split of the node the cursor stands on, shared by a's keys and b's,
// is what the direct path meets (kvtest's large transaction leaves the
// direct path before its trees split there).
func TestCursorIgnoresWritesToOtherKeyspaces(t *testing.T) {
	for _, direct := range []int{512, 1} {
		t.Run(fmt.Sprint("directKeys=", direct), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				cfg := Config{CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40, directKeys: direct}
				nA := rapid.IntRange(0, 300).Draw(rt, "nA")
				nB := rapid.IntRange(0, 300).Draw(rt, "nB")
				own := rapid.IntRange(0, 40).Draw(rt, "ownA")
				steps := rapid.SliceOfN(rapid.IntRange(0, 3), 1, 200).Draw(rt, "steps")
				bkeys := rapid.SliceOfN(rapid.IntRange(0, 999), 200, 200).Draw(rt, "bkeys")
				e := openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg)
				defer e.Close()
				var want []string
				txn, err := e.Begin(ctx, true)
				if err != nil {
					rt.Fatal(err)
				}
				for i := range nA {
					k := fmt.Sprintf("a%04d", i*2)
					want = append(want, k)
					if err := txn.Put("a", []byte(k), []byte("v")); err != nil {
						rt.Fatal(err)
					}
				}
				for i := range nB {
					if err := txn.Put("b", []byte(fmt.Sprintf("b%04d", i*2)), []byte("v")); err != nil {
						rt.Fatal(err)
					}
				}
				if err := txn.Commit(); err != nil {
					rt.Fatal(err)
				}
				txn, err = e.Begin(ctx, true)
				if err != nil {
					rt.Fatal(err)
				}
				defer txn.Rollback()
				for i := range own {
					k := fmt.Sprintf("a%04d", i*2+1)
					want = append(want, k)
					if err := txn.Put("a", []byte(k), []byte("w")); err != nil {
						rt.Fatal(err)
					}
				}
				slices.Sort(want)
				c, err := txn.Cursor("a")
				if err != nil {
					rt.Fatal(err)
				}
				var got []string
				k, _ := c.First()
				bi := 0
				for _, s := range steps { // a step: the next key, or a run of writes to b
					if k == nil {
						break
					}
					if s == 0 {
						got = append(got, string(k))
						k, _ = c.Next()
						continue
					}
					for j := 0; j < s*8 && bi < len(bkeys); j++ {
						if err := txn.Put("b", []byte(fmt.Sprintf("b%04d", bkeys[bi])), []byte("x")); err != nil {
							rt.Fatal(err)
						}
						bi++
					}
				}
				for ; k != nil; k, _ = c.Next() {
					got = append(got, string(k))
				}
				if err := c.Err(); err != nil {
					rt.Fatal(err)
				}
				if !slices.Equal(got, want) {
					rt.Fatalf("the cursor over a walked %d keys, want %d\ngot  %q\nwant %q", len(got), len(want), got, want)
				}
			})
		})
	}
}

// A commit that needs the log's other region checkpoints and prunes the
// overlay inside CommitAsync (makeRoom, freeOtherRegion): its next
// version is built on the pruned one, so nothing the store file holds
// comes back into the overlay and the size counted is the size held.
func TestCommitAfterPruneCountsWhatIsLeft(t *testing.T) {
	for _, direct := range []int{512, 1} {
		t.Run(fmt.Sprint("directKeys=", direct), func(t *testing.T) {
			cfg := Config{RegionSize: 16 << 10, CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40, directKeys: direct}
			e := openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg)
			defer e.Close()
			val := make([]byte, 1500)
			pruned := false
			for i := range 40 {
				txn, err := e.Begin(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				for j := range 2 {
					if err := txn.Put("a", []byte(fmt.Sprintf("k%03d-%d", i, j)), val); err != nil {
						t.Fatal(err)
					}
				}
				if err := txn.Commit(); err != nil {
					t.Fatal(err)
				}
				counted, held := overlaySizes(e)
				e.mu.Lock()
				applied := e.applied
				e.mu.Unlock()
				pruned = pruned || applied > 0
				stale := 0
				e.cur.t.Scan(func(en *entry) bool {
					if en.seq <= applied {
						stale++
					}
					return true
				})
				if counted != held || stale > 0 {
					t.Fatalf("commit %d: the overlay is counted as %d bytes and holds %d, %d of its entries already in the store file (applied %d)", i, counted, held, stale, applied)
				}
			}
			if !pruned {
				t.Fatal("no commit made room by a checkpoint: the test tests nothing")
			}
		})
	}
}

// overlaySizes is the overlay's size as the engine counts it, and the
// size the entries of its current version take.
func overlaySizes(e *Engine) (counted, held int64) {
	e.cur.t.Scan(func(en *entry) bool { held += entrySize(en); return true })
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.memBytes, held
}
