package relgraph

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/kv"
)

// The group commit: every write of the store is a request on one queue.
// One committer goroutine takes a request, then whatever else is queued
// (up to MaxBatch) without waiting, runs them all in one engine
// transaction and commits once. A lone writer pays no added delay, and
// while one batch syncs the next one queues. On an engine whose commits
// can be waited for apart (kv.AsyncCommitter: the log of kv/wal), the
// committer hands the wait to a completer goroutine and runs the next
// batch meanwhile, on top of the first one's writes: the CPU work of one
// batch overlaps the sync of the one before. Since that batch cannot
// sync before the one before it has, it also takes the writes that
// come while that sync lasts, waiting for them at most absorbWait at a
// time (absorb): the writers the last sync answered join it rather
// than queue for the next, so commits carry more writes. Handing a
// commit to an idle completer, the committer yields its processor when
// more writes are queued, so that the sync starts at once rather than
// when the committer next blocks. A request is answered only when its
// batch is durable; if a sync fails, its batch and every later one fail
// (the engine refuses them).

// The states of a request: a submitter whose context ends may abandon
// it only while it is queued; once the committer took it, it runs.
const (
	requestQueued int32 = iota
	requestTaken
	requestAbandoned
)

type writeRequest struct {
	fn func(tx *Tx) error
	// call, when set, is the body instead of fn (relationWrite).
	call      *relationCall
	exclusive bool
	// validatesFirst marks relgraph's own operations, which validate
	// everything before their first write: they run without an undo log
	// (see tryBatch).
	validatesFirst bool
	state          atomic.Int32
	err            error
	done           chan struct{}
	finished       bool // err is final; later attempts skip it
}

// submit queues r and waits for its outcome. If ctx ends while r is
// queued, r is abandoned (never run) and ctx's error returned; once the
// committer took r, submit waits for the outcome r had.
func (s *Store) submit(ctx context.Context, r *writeRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return closedf("write: store is closed")
	}
	select {
	case s.queue <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(requestQueued, requestAbandoned) {
			return ctx.Err()
		}
		<-r.done
		return r.err
	}
}

// take claims a queued request for a batch; false if its submitter
// abandoned it.
func (r *writeRequest) take() bool {
	return r.state.CompareAndSwap(requestQueued, requestTaken)
}

// completion is a batch whose commit is written and not yet durable.
type completion struct {
	batch   []*writeRequest
	wait    func() error
	started time.Time     // the batch's transaction began
	commit  time.Time     // its commit began
	waited  time.Duration // of that, spent in more: waiting for writers (absorb)
	live    int
	refills uint64
	// fed: the batch appended to the change feed.
	fed bool
}

// completeLoop answers the batches the committer hands over, in order,
// once each is durable.
func (s *Store) completeLoop(in <-chan completion, sy *syncing, done chan<- struct{}) {
	defer close(done)
	for c := range in {
		err := c.wait()
		sy.done()
		if err != nil {
			fail(c.batch, storageErr("commit", err))
		} else {
			s.committed(&c)
		}
		for _, r := range c.batch {
			close(r.done)
		}
	}
}

// syncing counts the commits handed to the completer and not yet
// durable (or failed); free holds a token once that count dropped to
// zero.
type syncing struct {
	n    atomic.Int32
	free chan struct{}
}

func (sy *syncing) add() { sy.n.Add(1) }

func (sy *syncing) done() {
	if sy.n.Add(-1) == 0 {
		select {
		case sy.free <- struct{}{}:
		default: // a token is there already
		}
	}
}

// commitLoop is the group committer.
func (s *Store) commitLoop() {
	completions, completed := make(chan completion, 1), make(chan struct{})
	sy := &syncing{free: make(chan struct{}, 1)}
	go s.completeLoop(completions, sy, completed)
	defer func() {
		close(completions)
		<-completed
		close(s.done)
	}()
	var held *writeRequest // an exclusive request that ends a batch
	var linger time.Duration
	if g, ok := s.engine.(kv.BatchGatherer); ok {
		linger = g.BatchLinger()
	}
	// more is what a batch's transaction takes once it ran what it has:
	// the requests that came meanwhile, while the commit before it is
	// still syncing (absorb). One closure for every batch.
	more := func(n int) (got []*writeRequest) {
		if held != nil {
			return nil
		}
		held, got = s.absorb(sy, n)
		return got
	}
	lastSize := 0
	for {
		first := held
		held = nil
		for first == nil {
			r, ok := <-s.queue
			if !ok {
				return
			}
			if r.take() {
				first = r
			}
		}
		batch := []*writeRequest{first}
		var lingerEnd time.Time
	gather:
		for !first.exclusive && len(batch) < s.opts.MaxBatch {
			var r *writeRequest
			var ok bool
			select {
			case r, ok = <-s.queue:
			default:
				// Nothing queued. On an engine whose commit is a long
				// round trip, while many write (the last batch carried
				// more than one), the writers the last batch answered
				// are on their way back: wait a little for them, as long
				// as they keep coming, so that one commit carries them.
				if linger == 0 || lastSize < 2 {
					break gather
				}
				if lingerEnd.IsZero() {
					lingerEnd = time.Now().Add(linger)
				}
				wait := min(time.Until(lingerEnd), linger/lingerGaps)
				if wait <= 0 {
					break gather
				}
				timer := time.NewTimer(wait)
				select {
				case r, ok = <-s.queue:
					timer.Stop()
				case <-timer.C:
					break gather
				}
			}
			if !ok {
				break gather
			}
			if !r.take() {
				continue
			}
			if r.exclusive {
				held = r
				break gather
			}
			batch = append(batch, r)
		}
		c, ran := s.runBatch(batch, more)
		lastSize = len(ran)
		if c != nil {
			idle := sy.n.Load() == 0 // no sync in flight: the completer waits for this one
			sy.add()
			completions <- *c
			if idle && len(s.queue) > 0 {
				// The completer, just readied, would wait on this
				// goroutine's processor until this goroutine blocks,
				// which with writes queued it does not do before the next
				// batch is run, and the sync of this commit would wait
				// with it (a mean of 78 µs a commit at 32 writers,
				// traced: bench/README). Yield, so that the sync starts
				// now.
				runtime.Gosched()
			}
			continue
		}
		for _, r := range ran {
			close(r.done)
		}
	}
}

// absorb takes the requests queued after a batch's transaction began,
// for that transaction to run too, while the commit before it is still
// syncing: until then this one could not sync anyway, and a writer the
// last sync answered joins the transaction under way instead of the
// next one. With nothing queued it waits for a writer or for the syncs
// in flight to end (sy), but at most absorbWait at a time: the
// transaction holds kv/wal's writer lock and a store-file snapshot, and
// a sync may wait for that snapshot (its publication takes the readers'
// lock, which a reader blocked by a checkpoint's remap of the file
// holds, and the remap waits for every snapshot), so an unbounded wait
// could deadlock. It returns nothing once no sync is in flight (the log
// is idle: this commit goes now, and what is queued runs while it
// syncs); otherwise what it took when nothing more is queued, at most
// MaxBatch-n requests, stopping at an exclusive one (returned as held,
// for the next batch) and when the queue closes.
func (s *Store) absorb(sy *syncing, n int) (held *writeRequest, got []*writeRequest) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for n+len(got) < s.opts.MaxBatch && sy.n.Load() > 0 {
		var r *writeRequest
		var ok bool
		select {
		case r, ok = <-s.queue:
		default:
			if len(got) > 0 {
				return nil, got
			}
			if timer == nil {
				timer = time.NewTimer(absorbWait)
			}
			select {
			case r, ok = <-s.queue:
			case <-sy.free:
				continue // none in flight, or a token from before: look again
			case <-timer.C:
				return nil, got // commit now: the snapshot goes with it
			}
		}
		if !ok {
			return nil, got
		}
		if !r.take() {
			continue
		}
		if r.exclusive {
			return r, got
		}
		got = append(got, r)
	}
	return nil, got
}

// absorbWait bounds how long a batch waits, holding its transaction,
// for writers while the sync before it lasts: several syncs of a
// common disk, so that it rarely cuts a wait short, and short enough
// that a sync waiting for the transaction's snapshot is not held up
// long.
const absorbWait = 2 * time.Millisecond

// latest is the later of two times.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// lingerGaps divides an engine's batch linger (kv.BatchGatherer): the
// committer stops waiting for more writers when none came for that
// part of it.
const lingerGaps = 4

// maxAttempts bounds re-runs of a batch: on an optimistic engine's
// conflict, or after a write failed midway without an undo log.
const maxAttempts = 16

// errSpoiled says a request failed after writing without an undo log:
// the attempt must be rolled back and its neighbours run again.
var errSpoiled = errors.New("attempt spoiled by a failure after writing")

// runBatch runs the requests in one engine transaction and commits it,
// setting each request's err; or, when the commit is asynchronous,
// returns the completion that waits for it. more, when not nil, gives
// requests for the transaction to take as well (tryBatch); ran is the
// batch with them, every request the call took charge of.
func (s *Store) runBatch(batch []*writeRequest, more func(n int) []*writeRequest) (_ *completion, ran []*writeRequest) {
	for attempt := 1; ; attempt++ {
		c, err := s.tryBatch(&batch, more)
		if c != nil {
			return c, batch
		}
		if (errors.Is(err, kv.ErrConflict) || err == errSpoiled) && attempt < maxAttempts {
			if errors.Is(err, kv.ErrConflict) {
				// Another store wrote what this batch read: back off a
				// little, with jitter, so contenders stop colliding.
				time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
			}
			continue
		}
		if errors.Is(err, kv.ErrTooLarge) && countLive(batch) > 1 {
			// Too big for one engine transaction: each half in its own,
			// in order, each waited for here (halving again as needed,
			// down to one request).
			half := len(batch) / 2
			for _, part := range [][]*writeRequest{batch[:half], batch[half:]} {
				if countLive(part) > 0 {
					if c, _ := s.runBatch(part, nil); c != nil {
						s.finishNow(c)
					}
				}
			}
			return nil, batch
		}
		if errors.Is(err, kv.ErrConflict) {
			err = newError(ErrStorage, err, "storage: the write conflicted with concurrent writers %d times; retry it", maxAttempts)
		}
		if err != nil {
			fail(batch, err)
		}
		return nil, batch
	}
}

// finishNow waits for a completion on the committer itself.
func (s *Store) finishNow(c *completion) {
	if err := c.wait(); err != nil {
		fail(c.batch, storageErr("commit", err))
		return
	}
	s.committed(c)
}

// committed accounts for a durable batch and wakes the feed's readers
// if it appended to the feed.
func (s *Store) committed(c *completion) {
	s.stats.committed(c.started, c.commit, c.waited, c.live, c.refills)
	if c.fed {
		s.feed.notify()
	}
}

// fail gives err to every request of batch that has no outcome yet.
func fail(batch []*writeRequest, err error) {
	for _, r := range batch {
		if !r.finished && r.err == nil {
			r.err = err
		}
	}
}

func countLive(batch []*writeRequest) int {
	n := 0
	for _, r := range batch {
		if !r.finished {
			n++
		}
	}
	return n
}

// tryBatch runs the unfinished requests of the batch once. Per-request
// failures go into r.err; a failure of the whole transaction (engine,
// undo, commit) is returned.
//
// A request alone in the transaction needs no undo: on failure the whole
// transaction is rolled back. In a shared transaction, a user's Update
// runs under a savepoint (an undo log), since it may fail after
// writing. relgraph's own operations validate before writing, so when
// they fail they have written nothing, and they skip the undo log's
// extra read per write; if one fails after writing all the same (an
// engine fault, a panic), the attempt is rolled back and the batch runs
// again without it.
//
// The transaction serves many callers, so no one caller's context ends
// it: it runs under the background context. When the engine commits
// asynchronously and the batch changed no schema, tryBatch returns the
// completion to wait for; otherwise it commits and waits itself.
func (s *Store) tryBatch(batchp *[]*writeRequest, more func(n int) []*writeRequest) (_ *completion, failed error) {
	batch := *batchp
	batchStart := time.Now()
	txn, err := s.engine.Begin(context.Background(), true)
	if err != nil {
		return nil, storageErr("begin", err)
	}
	defer txn.Rollback()
	async, _ := txn.(kv.AsyncCommitter)
	var live []*writeRequest
	for _, r := range batch {
		if !r.finished {
			r.err = nil // from an attempt that was not committed
			live = append(live, r)
		}
	}
	defer func() {
		if failed != nil {
			uncheck(txn, live)
		}
	}()
	start, err := s.currentSchema(txn)
	if err != nil {
		return nil, err
	}
	sc := start
	now := s.clock()
	anyOK, fed := false, false
	var refills uint64
	var waited time.Duration // in more: taking writers, mostly waiting for them
	if err := s.prefetch(txn, sc, live); err != nil {
		return nil, err
	}
	// One Tx and one write counter serve the batch's requests in turn
	// (a request must not keep its Tx): two allocations a batch, not
	// two a request.
	tx, counted := &Tx{batch: &s.room}, new(countingTx)
	for i := 0; ; i++ {
		if i == len(live) {
			// Ran them all: take what came meanwhile, if this commit
			// would wait for the one before it anyway (absorb). Not past
			// a schema change, which commits on its own.
			if more == nil || async == nil || sc != start || batch[0].exclusive {
				break
			}
			asked := time.Now()
			got := more(len(batch))
			waited += time.Since(asked)
			if len(got) == 0 {
				break
			}
			batch = append(batch, got...)
			*batchp = batch
			live = append(live, got...)
			// They came after the batch's time was taken: theirs is
			// now (a prepared import is built for a time not after
			// its transaction's), never earlier than the batch's.
			now = latest(now, s.clock())
		}
		r := live[i]
		s.resetTx(tx, txn, sc, now)
		switch {
		case len(live) == 1: // alone, so far: nothing else to undo
			if r.err = runSafely(r, tx); r.err != nil {
				if err := validateReads(txn); err != nil {
					return nil, err
				}
				r.finished = true
				return nil, nil
			}
		case r.validatesFirst:
			*counted = countingTx{Tx: txn}
			tx.kv = counted
			if r.err = runSafely(r, tx); r.err != nil {
				if counted.writes > 0 {
					if err := validateReads(txn); err != nil {
						return nil, err
					}
					r.finished = true
					return nil, errSpoiled
				}
				continue
			}
		default:
			var undoErr error
			if r.err, undoErr = tx.savepoint(r); undoErr != nil {
				return nil, undoErr
			}
			if r.err != nil {
				continue
			}
		}
		sc = tx.schemaNow()
		anyOK = true
		refills += tx.topRefills
		fed = fed || tx.feedLast > 0
	}
	if !anyOK {
		return nil, validateReads(txn)
	}
	if s.opts.StrictMode {
		if problems := checkTx(txn); len(problems) > 0 {
			if err := validateReads(txn); err != nil {
				return nil, err // what it checked was stale: run again
			}
			return nil, corruptf("strict mode: commit refused, it would leave %d violation(s): %s", len(problems), summarize(problems))
		}
	}
	if sc != start {
		if err := s.schemaChanged(txn, start, sc); err != nil {
			return nil, err
		}
	}
	c := &completion{batch: batch, started: batchStart, commit: time.Now(), waited: waited, live: len(live), refills: refills, fed: fed}
	if async != nil && sc == start {
		if c.wait, err = async.CommitAsync(); err != nil {
			return nil, storageErr("commit", err)
		}
		return c, nil
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return nil, err
		}
		return nil, storageErr("commit", err)
	}
	if sc != start {
		s.keepSchema(sc)
	}
	s.committed(c)
	return nil, nil
}

// validateReads is what a batch that will not commit checks before its
// requests' failures are reported: on an engine whose reads may come
// from a cache (kv.Validator), a failure may stem from a stale entry,
// and is then kv.ErrConflict, for the batch to run again.
func validateReads(txn kv.Txn) error {
	if v, ok := txn.(kv.Validator); ok {
		if err := v.Validate(); err != nil {
			if errors.Is(err, kv.ErrConflict) {
				return err
			}
			return storageErr("validate reads", err)
		}
	}
	return nil
}

// uncheck is for a batch that failed (tryBatch returned an error) on an
// engine whose commit validates its reads (kv.Validator): the refusals
// of its requests may stem from stale reads, never checked, so every
// unfinished request gets the batch's outcome instead (its error, or a
// run again).
func uncheck(txn kv.Txn, live []*writeRequest) {
	if _, validates := txn.(kv.Validator); validates {
		for _, r := range live {
			if !r.finished {
				r.err = nil
			}
		}
	}
}

// countingTx counts the writes that reach the engine.
type countingTx struct {
	kv.Tx
	writes int
}

func (c *countingTx) Put(ks kv.Keyspace, key, value []byte) error {
	c.writes++
	return c.Tx.Put(ks, key, value)
}

func (c *countingTx) Delete(ks kv.Keyspace, key []byte) error {
	c.writes++
	return c.Tx.Delete(ks, key)
}

// runSafely turns a panic in fn into an error, so one bad write cannot
// take the committer (and every other writer) down.
func runSafely(r *writeRequest, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = newError(ErrStorage, nil, "write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return r.run(tx)
}

// run is the request's body.
func (r *writeRequest) run(tx *Tx) error {
	if c := r.call; c != nil {
		res, err := c.op(tx, c.req)
		c.res = res
		return err
	}
	return r.fn(tx)
}
