package relgraph

import (
	"context"
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
	release, holding := make(chan struct{}), make(chan struct{})
	go s.Update(ctx, func(*Tx) error { close(holding); <-release; return nil })
	<-holding
	pair := make(chan error, 2)
	for range 2 {
		go func() { pair <- s.Update(ctx, nop) }()
	}
	for len(s.queue) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	must(t, <-pair)
	must(t, <-pair)

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
