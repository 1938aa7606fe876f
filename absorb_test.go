package relgraph

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// gatedEngine is bbolt claiming a two-step commit (kv.AsyncCommitter)
// whose durability the test grants: each CommitAsync commits at once
// and returns a wait that ends when the test sends on durable.
type gatedEngine struct {
	kv.Engine
	durable chan struct{}
	commits atomic.Int32 // CommitAsync calls
}

type gatedTxn struct {
	kv.Txn
	e *gatedEngine
}

func (e *gatedEngine) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	t, err := e.Engine.Begin(ctx, writable)
	if err != nil || !writable {
		return t, err
	}
	return &gatedTxn{Txn: t, e: e}, nil
}

func (t *gatedTxn) CommitAsync() (func() error, error) {
	if err := t.Txn.Commit(); err != nil {
		return nil, err
	}
	t.e.commits.Add(1)
	return func() error { <-t.e.durable; return nil }, nil
}

// While a commit syncs, the batch after it takes the writes that come
// meanwhile (absorb, commit.go), so three writers that arrive one after
// another during one sync need two commits, not three; a schema change
// that comes meanwhile is not taken, and commits alone after them. With
// no commit syncing, a write is not held back for others.
func TestBatchTakesWritesThatComeWhileTheOneBeforeSyncs(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "a.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	e := &gatedEngine{Engine: b, durable: make(chan struct{})}
	s, err := OpenEngine(e, nil)
	must(t, err)
	defer func() {
		close(e.durable) // every wait ends
		s.Close()
	}()
	grant := func() {
		select {
		case e.durable <- struct{}{}:
		case <-time.After(time.Minute): // a liveness bound, not a speed one
			t.Fatal("no commit waited to be made durable")
		}
	}
	write := func(k string) chan error {
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(tx *Tx) error { return tx.kv.Put(index.Meta, []byte("absorb/"+k), []byte(k)) })
		}()
		return done
	}
	until := func(what string, cond func() bool) {
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited a minute for %s", what)
			}
		}
	}

	// Alone: committed, its wait granted, done; nothing held it.
	before := s.Stats()
	first := write("0")
	grant()
	must(t, <-first)

	// w1 commits and syncs; w2, w3 and w4 come one after another while
	// it does, and join one transaction.
	w1 := write("1")
	until("w1's commit", func() bool { return e.commits.Load() == 2 })
	var later []chan error
	for _, k := range []string{"2", "3", "4"} {
		later = append(later, write(k))
		until("the write to be taken", func() bool { return len(s.queue) == 0 })
		time.Sleep(20 * time.Millisecond) // it runs, and the batch waits for more
	}
	schema := make(chan error, 1)
	go func() { schema <- s.PutDatabase(ctx, Database{ID: 7}) }()
	until("the schema change to be taken", func() bool { return len(s.queue) == 0 })
	grant() // w1 durable: the batch of w2-w4 commits
	must(t, <-w1)
	grant() // w2-w4 durable
	for _, w := range later {
		must(t, <-w)
	}
	must(t, <-schema) // alone, and synchronous: no wait to grant
	after := s.Stats()
	if commits, requests := after.Commits-before.Commits, after.Requests-before.Requests; commits != 4 || requests != 6 {
		t.Fatalf("%d requests in %d commits, want 6 in 4: w0, w1, w2-w4 together, the schema change alone", requests, commits)
	}
	must(t, s.View(ctx, func(tx *Tx) error {
		for _, k := range []string{"0", "1", "2", "3", "4"} {
			v, err := tx.kv.Get(index.Meta, []byte("absorb/"+k))
			if err != nil || string(v) != k {
				t.Errorf("absorb/%s = %q, %v", k, v, err)
			}
		}
		return nil
	}))
	if _, err := s.Database(7); err != nil {
		t.Fatalf("the schema change: %v", err)
	}
}
