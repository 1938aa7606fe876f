package wal

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// keysOfVersion is which keys transaction v writes (each to v, with
// "ver" to v): every key when v is even, more than BulkKeys, so the
// transaction is bulk; three of them when v is odd, so it is logged.
func keysOfVersion(v int) []string {
	if v%2 == 0 {
		return []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11"}
	}
	first := v / 2 % 4 * 3
	return []string{fmt.Sprintf("k%d", first), fmt.Sprintf("k%d", first+1), fmt.Sprintf("k%d", first+2)}
}

// TestReadersSeeOneVersionAcrossBulkCommits runs readers against a
// writer that alternates bulk and logged transactions while checkpoints
// run: every reader must see exactly the state after some transaction,
// never a bulk commit's store file under an older overlay.
func TestReadersSeeOneVersionAcrossBulkCommits(t *testing.T) {
	cfg := testConfig
	cfg.BulkKeys = 8
	e := openTest(t, filepath.Join(t.TempDir(), "bulk.db"), cfg)
	defer e.Close()
	const versions = 400
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				if err := checkOneVersion(e); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	for v := 1; v <= versions; v++ {
		w, err := e.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		val := []byte(strconv.Itoa(v))
		for _, k := range append(keysOfVersion(v), "ver") {
			if err := w.Put("a", []byte(k), val); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := e.Stats().BulkCommits; got != versions/2 {
		t.Fatalf("%d bulk commits, want %d", got, versions/2)
	}
	if reads.Load() == 0 {
		t.Fatal("no read ran")
	}
	if err := checkOneVersion(e); err != nil {
		t.Fatal(err)
	}
}

// checkOneVersion reads every key: none newer than "ver", and the keys
// of transaction "ver" all at it.
func checkOneVersion(e *Engine) error {
	r, err := e.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer r.Rollback()
	get := func(k string) int {
		v, _ := r.Get("a", []byte(k))
		n, _ := strconv.Atoi(string(v))
		return n
	}
	ver := get("ver")
	for i := range 12 {
		if n := get(fmt.Sprintf("k%d", i)); n > ver {
			return fmt.Errorf("k%d is %d, newer than version %d", i, n, ver)
		}
	}
	if ver == 0 {
		return nil
	}
	for _, k := range keysOfVersion(ver) {
		if n := get(k); n != ver {
			return fmt.Errorf("version %d wrote %s, which reads %d", ver, k, n)
		}
	}
	return nil
}
