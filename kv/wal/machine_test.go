package wal

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// TestPowerCutsAgainstModel drives transactions of several writes
// against a map model, with checkpoints, clean reopens, kills (the
// process dies, the disk keeps what it was given), and power cuts during
// a commit (the disk keeps what was synced; of the rest, nothing, all,
// or all but a torn last page). After every step the store must equal
// the model: every acknowledged transaction there; the one a cut
// interrupted wholly there or wholly absent, never in part. The log's
// regions are small, so region switches (and cuts during them) happen.
func TestPowerCutsAgainstModel(t *testing.T) {
	counts := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "cut.db")
		var file *cutFile
		// Transactions of four keys are bulk (the fourth write turns them), so the machine's commits
		// both log and bypass the log.
		cfg := Config{RegionSize: 48 << 10, CheckpointBytes: 16 << 10, BulkKeys: 3,
			OpenLog:   func(string) (File, error) { return file, nil },
			RemoveLog: func(string) error { file.cur = nil; return nil }}
		open := func(disk []byte) *Engine {
			file = newCutFile(disk)
			e, err := Open(path, kvtest.Keyspaces, kv.Options{NoSync: false, InitialMmapSize: 1 << 20}, cfg)
			if err != nil {
				rt.Fatalf("reopen: %v", err)
			}
			return e
		}
		e := open(nil)
		defer func() { e.abandon() }()
		model := map[string]string{} // keyspace ‖ 0 ‖ key → value
		keys := []string{"a", "b", "c", "d", "e", "f"}
		genTxn := func(t *rapid.T) map[string]*string {
			ops := map[string]*string{}
			for range rapid.IntRange(1, 4).Draw(t, "n") {
				k := string(rapid.SampledFrom(kvtest.Keyspaces).Draw(t, "ks")) + "\x00" + rapid.SampledFrom(keys).Draw(t, "key")
				if rapid.IntRange(0, 3).Draw(t, "delete?") == 0 {
					ops[string(k)] = nil
				} else {
					// Values up to two pages, so records span pages and tears
					// fall inside them.
					v := fmt.Sprintf("v%d-%s", rapid.IntRange(0, 99).Draw(t, "v"), strings.Repeat("x", rapid.IntRange(0, 2*pageSize).Draw(t, "pad")))
					ops[string(k)] = &v
				}
			}
			return ops
		}
		commit := func(ops map[string]*string) error {
			w, err := e.Begin(ctx, true)
			if err != nil {
				return err
			}
			for k, v := range ops {
				ks, key, _ := cutKey(k)
				if v == nil {
					err = w.Delete(kv.Keyspace(ks), []byte(key))
				} else {
					err = w.Put(kv.Keyspace(ks), []byte(key), []byte(*v))
				}
				if err != nil {
					w.Rollback()
					return err
				}
			}
			return w.Commit()
		}
		apply := func(m map[string]string, ops map[string]*string) {
			for k, v := range ops {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = *v
				}
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"txn": func(t *rapid.T) {
				ops := genTxn(t)
				bulk := e.Stats().BulkCommits
				if err := commit(ops); err != nil {
					t.Fatalf("commit: %v", err)
				}
				apply(model, ops)
				counts["txn"]++
				if e.Stats().BulkCommits > bulk {
					counts["bulk txn"]++
				}
			},
			"checkpoint": func(t *rapid.T) {
				if err := e.Checkpoint(ctx); err != nil {
					t.Fatalf("checkpoint: %v", err)
				}
				counts["checkpoint"]++
			},
			"reopen": func(t *rapid.T) {
				if err := e.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				e = open(file.cur)
				counts["reopen"]++
			},
			"kill": func(t *rapid.T) {
				e.abandon()
				e = open(file.cur)
				counts["kill"]++
			},
			"cut during a commit": func(t *rapid.T) {
				mode := cutMode(rapid.IntRange(0, 2).Draw(t, "mode"))
				// Tears land anywhere in the page, often in its first bytes
				// (a record's or a region's header).
				tearAt := rapid.OneOf(rapid.IntRange(1, 64), rapid.IntRange(1, pageSize-1)).Draw(t, "tear at")
				ops := genTxn(t)
				file.arm(mode, tearAt)
				if err := commit(ops); !errors.Is(err, errPowerCut) {
					t.Fatalf("a commit during a power cut: %v", err)
				}
				e.abandon()
				e = open(file.disk)
				with := maps.Clone(model)
				apply(with, ops)
				got := readAll(t, e)
				switch {
				case maps.Equal(got, model):
					counts["cut: the txn lost"]++
				case maps.Equal(got, with):
					apply(model, ops)
					counts["cut: the txn kept"]++
				default:
					t.Fatalf("after a cut (%d) the store is neither without nor with the interrupted txn:\n got %q\nwant %q\n  or %q", mode, got, model, with)
				}
			},
			"": func(t *rapid.T) {
				if got := readAll(t, e); !maps.Equal(got, model) {
					t.Fatalf("store %q, model %q", got, model)
				}
			},
		})
	})
	t.Logf("%v", counts)
	for _, c := range []string{"txn", "bulk txn", "checkpoint", "reopen", "kill", "cut: the txn lost", "cut: the txn kept"} {
		if counts[c] == 0 {
			t.Errorf("%q never happened: %v", c, counts)
		}
	}
}

// readAll reads every key of every keyspace, by cursor and by Get.
func readAll(t *rapid.T, e *Engine) map[string]string {
	r, err := e.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	out := map[string]string{}
	for _, ks := range kvtest.Keyspaces {
		c, err := r.Cursor(ks)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			out[string(ks)+"\x00"+string(k)] = string(v)
			if got, err := r.Get(ks, k); err != nil || string(got) != string(v) {
				t.Fatalf("Get %s/%s = %q (%v), the cursor read %q", ks, k, got, err, v)
			}
		}
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
