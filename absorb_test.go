package relgraph

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/wal"
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

// openGated opens a store on a gatedEngine over a fresh bbolt file;
// when the test ends, every wait for durability ends and the store
// closes.
func openGated(t *testing.T) (*Store, *gatedEngine) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "gated.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	e := &gatedEngine{Engine: b, durable: make(chan struct{})}
	s, err := OpenEngine(e, nil)
	must(t, err)
	t.Cleanup(func() {
		close(e.durable)
		s.Close()
	})
	return s, e
}

// waitCommits waits until e has made n commits (a liveness bound, not
// a speed one).
func waitCommits(t *testing.T, e *gatedEngine, n int32) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); e.commits.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d commits after a minute, want %d", e.commits.Load(), n)
		}
	}
}

// While a commit syncs, the batch after it takes the writes queued by
// the time it ran what it had (absorb, commit.go): three writes queued
// behind a held write share its commit, not a commit of their own, and
// a schema change queued among them is not taken: it commits alone
// after them. With no commit syncing, a write is not held back for
// others. Absorbed writes carry a time not before they came.
func TestBatchTakesWritesQueuedWhileTheOneBeforeSyncs(t *testing.T) {
	s, e := openGated(t)
	grant := func() {
		select {
		case e.durable <- struct{}{}:
		case <-time.After(time.Minute): // a liveness bound, not a speed one
			t.Fatal("no commit waited to be made durable")
		}
	}
	var mu sync.Mutex
	ranAt := map[string]time.Time{} // each write's transaction time
	write := func(k string) chan error {
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(tx *Tx) error {
				mu.Lock()
				ranAt[k] = tx.now
				mu.Unlock()
				return tx.kv.Put(index.Meta, []byte("absorb/"+k), []byte(k))
			})
		}()
		return done
	}

	// Alone: committed, its wait granted, done; nothing held it.
	before := s.Stats()
	first := write("0")
	grant()
	must(t, <-first)

	// w1 commits and syncs. A held write begins the next batch; w2-w4
	// and a schema change queue behind it.
	w1 := write("1")
	waitCommits(t, e, 2)
	release, held := blockCommitter(t, s)
	var later []chan error
	for i, k := range []string{"2", "3", "4"} {
		later = append(later, write(k))
		waitQueued(t, s, i+1)
	}
	schema := make(chan error, 1)
	go func() { schema <- s.PutDatabase(ctx, Database{ID: 7}) }()
	waitQueued(t, s, 4)
	queuedAt := time.Now()
	close(release)       // the held write returns; w1 still syncs: w2-w4 join
	waitCommits(t, e, 3) // their commit, before w1's sync ends
	answer := func(what string, done chan error) {
		t.Helper()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(time.Minute): // a liveness bound, not a speed one
			t.Fatalf("%s not answered: its commit waits for a sync nobody grants", what)
		}
	}
	grant() // w1 durable
	answer("w1", w1)
	grant() // the held write and w2-w4 durable
	answer("the held write", held)
	for i, w := range later {
		answer(fmt.Sprintf("w%d", i+2), w)
	}
	answer("the schema change", schema) // alone, and synchronous: no wait to grant
	after := s.Stats()
	if commits, requests := after.Commits-before.Commits, after.Requests-before.Requests; commits != 4 || requests != 7 {
		t.Fatalf("%d requests in %d commits, want 7 in 4: w0, w1, the held write with w2-w4, the schema change alone", requests, commits)
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
	for _, k := range []string{"2", "3", "4"} {
		if ranAt[k].Before(queuedAt) {
			t.Errorf("write %s ran at %v, before it was queued (%v): the batch's time, not its own", k, ranAt[k], queuedAt)
		}
	}
}

// The group commit on the log never stalls while checkpoints grow the
// store file: writers, readers and checkpoints every 5 ms on a file
// mapped small, so that checkpoints remap it (found by review: a batch
// that waited for the sync before it, holding its snapshot, deadlocked
// with a checkpoint's remap and a reader within a few dozen writes).
// Liveness bounds, not speed ones: some write is answered every 5
// seconds, and the writers stop within 30 once told.
func TestGroupCommitNeverStallsUnderCheckpoints(t *testing.T) {
	w, err := wal.Open(filepath.Join(t.TempDir(), "a.db"), index.All, kv.Options{}, wal.Config{CheckpointInterval: 5 * time.Millisecond})
	must(t, err)
	s, err := OpenEngine(w, nil)
	must(t, err)
	var writes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	val := bytes.Repeat([]byte{'v'}, 2<<10)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Appendf(nil, "stall/%d/%d", g, i)
				if err := s.Update(ctx, func(tx *Tx) error { return tx.kv.Put(index.Meta, k, val) }); err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.View(ctx, func(*Tx) error { return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	last, lastAt := int64(0), time.Now()
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if n := writes.Load(); n != last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) > 5*time.Second {
			t.Fatalf("no write answered for 5 s after %d writes: the committer stalled", n) // the store is left stuck
		}
	}
	close(stop)
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatalf("writers still blocked 30 s after %d writes: the committer stalled", writes.Load()) // the store is left stuck
	}
	must(t, s.Close())
	if last == 0 {
		t.Fatal("no write answered in 3 s")
	}
}

// A batch's wait for writers while the sync before it lasts is not
// work: absorb, with nothing queued, waits up to its bound and takes
// nothing; a batch counts the time its transaction spent asking for
// more writers into its completion, and Stats.BatchTime leaves that
// time out.
func TestBatchTimeLeavesOutTheWaitForWriters(t *testing.T) {
	s := openTest(t)
	sy := &syncing{free: make(chan struct{}, 1)}
	sy.add() // a sync in flight that does not end
	asked := time.Now()
	held, got := s.absorb(sy, 0)
	if held != nil || len(got) != 0 {
		t.Fatalf("absorb took %v and held %v with nothing queued", got, held)
	}
	if waited := time.Since(asked); waited < absorbWait {
		t.Fatalf("absorb returned after %v with nothing queued, before the %v it waits for writers", waited, absorbWait)
	}

	// A batch on an engine with two-step commits, whose request for more
	// writers takes 20 ms to bring none: the completion carries at least
	// those 20 ms, and BatchTime grows by the batch's time less them.
	gs, e := openGated(t)
	r := &writeRequest{done: make(chan struct{}), fn: func(tx *Tx) error {
		return tx.kv.Put(index.Meta, []byte("absorb/waited"), []byte("1"))
	}}
	batch := []*writeRequest{r}
	const wait = 20 * time.Millisecond
	calls := 0
	more := func(int) []*writeRequest {
		calls++
		time.Sleep(wait)
		return nil
	}
	before, start := gs.Stats(), time.Now()
	c, err := gs.tryBatch(&batch, more)
	must(t, err)
	if c == nil || calls != 1 || c.waited < wait {
		t.Fatalf("completion %+v after %d requests for more writers; want one, and at least %v waited", c, calls, wait)
	}
	go func() { e.durable <- struct{}{} }()
	must(t, c.wait())
	gs.committed(c)
	elapsed, after := time.Since(start), gs.Stats()
	if after.Commits != before.Commits+1 || after.BatchTime-before.BatchTime > elapsed-wait {
		t.Fatalf("commits %d → %d, BatchTime %v → %v in %v: want one more commit and at most %v more BatchTime",
			before.Commits, after.Commits, before.BatchTime, after.BatchTime, elapsed, elapsed-wait)
	}

	c2 := newStatCounters()
	commit := time.Now()
	c2.committed(commit.Add(-time.Hour), commit, 59*time.Minute, 1, 0)
	if got := time.Duration(c2.batchNanos.Load()); got < time.Minute || got > time.Minute+time.Second {
		t.Fatalf("a batch of an hour that waited 59 minutes counts %v of BatchTime, want a minute", got)
	}
}
