package wal

import (
	"context"
	"fmt"
	"path/filepath"
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
			var want int64
			e.cur.t.Scan(func(en *entry) bool { want += entrySize(en); return true })
			e.mu.Lock()
			got := e.memBytes
			e.mu.Unlock()
			if got != want {
				rt.Fatalf("after commit %d the overlay is counted as %d bytes, its entries take %d", i, got, want)
			}
		}
	})
}
