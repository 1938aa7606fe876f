package relgraph

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// gatheringEngine is bbolt claiming a long commit round trip
// (kv.BatchGatherer), as etcd does.
type gatheringEngine struct {
	kv.Engine
	linger time.Duration
}

func (g *gatheringEngine) BatchLinger() time.Duration { return g.linger }

// The group commit's wait for more writers: a lone writer never waits
// (with an hour's linger, its writes still finish), and once writes
// come from several writers, a write that finds the queue empty waits
// for the next one to join its commit.
func TestGroupCommitGathersWritersOnlyWhenMany(t *testing.T) {
	e, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	s, err := OpenEngine(&gatheringEngine{Engine: e, linger: time.Hour}, &Options{MaxBatch: 2})
	must(t, err)
	defer s.Close()
	nop := func(*Tx) error { return nil }

	// A lone writer: each write its own commit, none waiting. (The
	// minute is a liveness bound, not a speed one: a lingering
	// committer would hold the first write for an hour.)
	done := make(chan error, 1)
	go func() {
		for range 3 {
			if err := s.Update(ctx, nop); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(time.Minute):
		t.Fatal("a lone writer's writes did not finish: the committer waited for writers that never came")
	}

	// Two writers: a batch of two (queued behind a write that holds the
	// committer), then a write alone is joined by one sent after it.
	errs, held := inOneBatch(t, s, 2, func(int) error { return s.Update(ctx, nop) })
	must(t, errors.Join(append(errs, held)...))

	before := s.Stats()
	first := make(chan error, 1)
	go func() { first <- s.Update(ctx, nop) }()
	for len(s.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the first write is taken and alone
	must(t, s.Update(context.Background(), nop))
	must(t, <-first)
	after := s.Stats()
	if after.Commits-before.Commits != 1 || after.Requests-before.Requests != 2 {
		t.Fatalf("two writes in %d commits: the first did not wait for the second", after.Commits-before.Commits)
	}
}

// validatingEngine is bbolt claiming, like etcd, that its reads need
// the commit to hold (kv.Validator), with a commit that fails at will.
type validatingEngine struct {
	kv.Engine
	failCommit, failValidate bool
}

type validatingTxn struct {
	kv.Txn
	e *validatingEngine
}

func (e *validatingEngine) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	t, err := e.Engine.Begin(ctx, writable)
	if err != nil {
		return nil, err
	}
	return &validatingTxn{Txn: t, e: e}, nil
}

func (t *validatingTxn) Validate() error {
	if t.e.failValidate {
		return errInjected
	}
	return nil
}

func (t *validatingTxn) Commit() error {
	if t.e.failCommit {
		t.Txn.Rollback()
		return errInjected
	}
	return t.Txn.Commit()
}

// openValidating is a store with database 1 on a validatingEngine.
func openValidating(t *testing.T) (*Store, *validatingEngine) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "v.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	e := &validatingEngine{Engine: b}
	s, err := OpenEngine(e, nil)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.PutDatabase(ctx, Database{ID: 1}))
	return s, e
}

// When a commit fails on an engine whose reads the commit validates, a
// request of the batch that had failed on what it read gets the
// commit's error, not its own: what it read was never checked (found
// by review).
func TestFailedCommitOverridesUnvalidatedRefusals(t *testing.T) {
	s, e := openValidating(t)
	e.failCommit = true
	dbs := []uint32{1, 7} // no database 7: refused
	errs, _ := inOneBatch(t, s, 2, func(i int) error {
		_, _, err := s.ImportProfile(ctx, dbs[i], Locator{Email: fmt.Sprintf("p%d@x.io", i)}, ProfileData{})
		return err
	})
	for _, err := range errs {
		if !errors.Is(err, ErrStorage) {
			t.Fatalf("a request of a batch whose commit failed: %v, want the commit's storage error", err)
		}
	}
}

// A batch whose every request was refused, on such an engine, checks
// its reads; when that check fails (not a conflict: the engine could
// not answer), each request gets the storage error, as a lone request
// does, not its unchecked refusal (found by review).
func TestFailedValidationOverridesRefusalsInABatch(t *testing.T) {
	s, e := openValidating(t)
	e.failValidate = true
	errs, _ := inOneBatch(t, s, 2, func(i int) error {
		_, _, err := s.ImportProfile(ctx, 7, Locator{Email: fmt.Sprintf("p%d@x.io", i)}, ProfileData{}) // no database 7
		return err
	})
	for _, err := range errs {
		if !errors.Is(err, ErrStorage) {
			t.Fatalf("a refused request of a batch whose reads could not be checked: %v, want the storage error", err)
		}
	}
}
