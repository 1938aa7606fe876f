package wal

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Acknowledged writes, each with its own key (so none is overwritten
// later); every 8th transaction is bulk; readers and hot backups
// (Snapshot) run meanwhile. After Close and a reopen every acknowledged
// key must be there. (Found by an attacker: a Snapshot's checkpoint
// wrote the readers' version while a sync published a newer one, then
// recorded the log as empty.)
func TestSnapshotsDuringWritesKeepEveryAcknowledgedWrite(t *testing.T) {
	for round := 0; round < 10; round++ {
		path := filepath.Join(t.TempDir(), "r.db")
		cfg := Config{RegionSize: 20 << 10, CheckpointBytes: 4 << 10, CheckpointInterval: 5 * time.Millisecond, BulkKeys: 8}
		e := openWith(t, path, cfg)
		const n = 1500
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { // readers
				defer wg.Done()
				for !stop.Load() {
					r, err := e.Begin(ctx, false)
					if err != nil {
						t.Error(err)
						return
					}
					r.Get("a", []byte("k0000"))
					r.Rollback()
				}
			}()
		}
		wg.Add(1)
		waits := make(chan func() error, 1)
		done := make(chan struct{})
		var acked atomic.Int64
		go func() { // hot backups, one per few acknowledged writes: back to back they starve the writer on a loaded machine
			defer wg.Done()
			for last := int64(-1); !stop.Load(); {
				if n := acked.Load(); n < last+8 {
					time.Sleep(100 * time.Microsecond)
					continue
				} else {
					last = n
				}
				var b bytes.Buffer
				if _, err := e.Snapshot(ctx, &b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() { // the completer, as relgraph's group commit has
			defer close(done)
			for w := range waits {
				if err := w(); err != nil {
					t.Error(err)
					return
				}
				acked.Add(1)
			}
		}()
		for i := 0; i < n; i++ {
			w, err := e.Begin(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			w.Put("a", []byte(fmt.Sprintf("k%04d", i)), []byte("acked"))
			if i%8 == 7 {
				for j := 0; j < 12; j++ {
					w.Put("b", []byte(fmt.Sprintf("filler%d", j)), []byte(fmt.Sprint(i)))
				}
			}
			wait, err := w.(*writeTxn).CommitAsync()
			if err != nil {
				t.Fatal(err)
			}
			waits <- wait
		}
		close(waits)
		<-done
		stop.Store(true)
		wg.Wait()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e = openWith(t, path, cfg)
		got := valuesOf(t, e)
		e.Close()
		if len(got) != n {
			var missing []string
			for i := 0; i < n; i++ {
				if _, ok := got[fmt.Sprintf("k%04d", i)]; !ok {
					missing = append(missing, fmt.Sprintf("k%04d", i))
				}
			}
			t.Fatalf("round %d: %d writes acknowledged; after Close and reopen the store lacks %v", round, acked.Load(), missing)
		}
	}
}
