package wal

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relgraph/relgraph/kv"
)

// TestMetricsDuringWritesAndClose: Metrics is safe at any time: beside
// writes, checkpoints and Close, and after it (run with -race).
func TestMetricsDuringWritesAndClose(t *testing.T) {
	e, err := Open(filepath.Join(t.TempDir(), "m.db"), []kv.Keyspace{"k"}, kv.Options{NoSync: true}, Config{CheckpointBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.Metrics()
		}
	}()
	for i := range 300 {
		w, err := e.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Put("k", []byte(fmt.Sprint(i)), make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if m := e.Metrics(); len(m) == 0 {
		t.Fatal("no metrics after Close")
	}
}
