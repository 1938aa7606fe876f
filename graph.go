package relgraph

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// FormatVersion is written into every store file. Open refuses a file
// with another version. Version 3 keeps float sums exact; version 2
// (rounded float sums) and 1 (top entries as keys) are not read.
const FormatVersion = "relgraph/3"

// Defaults for Options.
const (
	DefaultOpenTimeout = time.Second
	DefaultMaxBatch    = 1024
)

// Options tune Open. The zero value is a good default.
type Options struct {
	// Timeout bounds the wait for a file held by another process; Open
	// then fails with an error saying so. Default 1s; negative waits
	// forever.
	Timeout time.Duration
	// InitialMmapSize pre-sizes bbolt's memory map (bytes). When the file
	// outgrows the map, the commit that grows it waits for every open
	// read transaction (View, a running backup) to end; a map larger
	// than the file will grow to avoids that stall.
	InitialMmapSize int
	// MaxSize caps the file size in bytes; writes past it fail with
	// ErrStorage and change nothing. Zero: no cap.
	MaxSize int
	// NoSync skips fsync. Commits are then not durable: a machine crash
	// can lose them or corrupt the file. For tests and redoable loads.
	NoSync bool
	// ReadOnly opens the file for reading only, under a shared lock.
	ReadOnly bool
	// StrictMode runs Check inside every write transaction before it
	// commits, and refuses (rolls back) any commit that would leave a
	// violation, returning ErrCorrupt with the report. It costs a walk of
	// the whole store per commit: for tests and debugging.
	StrictMode bool
	// MaxBatch caps how many queued writes one group commit takes.
	// Default 1024.
	MaxBatch int
}

// Store is a relgraph store: profiles, their indexes and relations in
// one ordered KV engine. It is safe for concurrent use. Writes from all
// goroutines go through one group committer (see Update); reads run in
// parallel snapshots (see View).
type Store struct {
	engine kv.Engine
	opts   Options
	schema atomic.Pointer[schema]

	clock func() time.Time // time.Now; fixed by tests that compare stores

	commits    atomic.Uint64 // committed engine transactions of the committer
	requests   atomic.Uint64 // write requests those commits carried
	topRefills atomic.Uint64 // top lists those commits refilled (Stats.TopRefills)
	// batchNanos and commitNanos add up the time of committed batches and
	// of their engine commits (fsync included).
	batchNanos, commitNanos atomic.Uint64

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *writeRequest
	done   chan struct{}
}

// Open opens the store file at path, creating it if it does not exist.
// A file held by another process is waited for up to opts.Timeout, then
// refused. A file of another format version, or not a relgraph store, is
// refused with ErrFormat.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	timeout := o.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultOpenTimeout
	case timeout < 0:
		timeout = 0
	}
	e, err := bolt.Open(path, bolt.Options{
		Timeout:         timeout,
		InitialMmapSize: o.InitialMmapSize,
		MaxSize:         o.MaxSize,
		NoSync:          o.NoSync,
		ReadOnly:        o.ReadOnly,
	}, index.All)
	if err != nil {
		// The engine's error names the file.
		if errors.Is(err, bolt.ErrForeign) {
			return nil, &Error{Kind: ErrFormat, Err: err}
		}
		if errors.Is(err, kv.ErrCorrupt) {
			return nil, &Error{Kind: ErrCorrupt, Err: err}
		}
		return nil, &Error{Kind: ErrStorage, Err: err}
	}
	s, err := OpenEngine(e, &o)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// OpenEngine opens a store on an already open engine, which must have
// every keyspace of index.All. The store owns the engine from then on
// and closes it in Close. opts.Timeout, InitialMmapSize, MaxSize,
// NoSync and ReadOnly are the engine's business and are ignored here.
func OpenEngine(e kv.Engine, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	s := &Store{engine: e, opts: o, clock: time.Now}
	sc, err := s.init()
	if err != nil {
		return nil, err
	}
	s.schema.Store(sc)
	s.queue = make(chan *writeRequest, o.MaxBatch)
	s.done = make(chan struct{})
	go s.commitLoop()
	return s, nil
}

var formatKey = []byte("format")

// init checks the format version (writing it into a new store) and loads
// the schema.
func (s *Store) init() (*schema, error) {
	txn, err := s.engine.Begin(false)
	if err != nil {
		return nil, storageErr("begin", err)
	}
	v, err := txn.Get(index.Meta, formatKey)
	if err == nil && v == nil {
		err = s.checkEmpty(txn)
	}
	var sc *schema
	if err == nil && v != nil {
		if string(v) != FormatVersion {
			err = formatf("store format %q, this relgraph reads %q: open it with the relgraph that wrote it (export its profiles, or serve it), or start a new store", truncate(string(v)), FormatVersion)
		} else {
			sc, err = loadSchema(txn)
		}
	}
	txn.Rollback()
	if err != nil || sc != nil {
		return sc, err
	}
	// A new, empty store: record the format.
	w, err := s.engine.Begin(true)
	if err != nil {
		return nil, storageErr("begin", err)
	}
	defer w.Rollback()
	if err := w.Put(index.Meta, formatKey, []byte(FormatVersion)); err != nil {
		return nil, storageErr("write format", err)
	}
	if err := w.Commit(); err != nil {
		return nil, storageErr("commit", err)
	}
	return &schema{dbs: map[uint32]*Database{}, rels: map[uint32]*RelationType{}}, nil
}

// checkEmpty refuses a store without a format key that holds data: it
// was not written by relgraph, or lost its meta keyspace.
func (s *Store) checkEmpty(tx kv.Tx) error {
	for _, ks := range index.All {
		c, err := tx.Cursor(ks)
		if err != nil {
			return storageErr("cursor", err)
		}
		k, _ := c.First()
		if err := cursorErr(c); err != nil {
			return err
		}
		if k != nil {
			return formatf("not a relgraph store: keyspace %q holds data but no format version is recorded", ks)
		}
	}
	return nil
}

// Close waits for queued writes to commit, then closes the engine.
// Calls after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return closedf("close: store already closed")
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return s.engine.Close()
}

// Engine returns the engine the store runs on, for tools (backup,
// bbolt's file check). Writing through it bypasses every invariant.
func (s *Store) Engine() kv.Engine { return s.engine }

// Tx is one relgraph transaction. Every operation of the store is also a
// method of Tx, so callers can compose several in one transaction with
// Update or View. A Tx must not be used after its function returns, nor
// from other goroutines.
type Tx struct {
	kv     kv.Tx
	schema *schema
	now    time.Time
	// newSchema is set by schema changes; the committer installs it
	// after the commit.
	newSchema *schema
	// topRefills counts top lists this transaction rebuilt (top.go).
	topRefills uint64
}

// View runs fn in a read-only snapshot. It may run concurrently with
// writes and other views. Writes from fn fail with an ErrStorage.
func (s *Store) View(fn func(tx *Tx) error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return closedf("view: store is closed")
	}
	txn, err := s.engine.Begin(false)
	if err != nil {
		return storageErr("begin", err)
	}
	defer txn.Rollback()
	return fn(&Tx{kv: txn, schema: s.schema.Load(), now: s.clock()})
}

// Update runs fn as one atomic write: everything it changes commits, or
// nothing does. It returns only once the commit is durable (unless
// NoSync).
//
// Update goes through the group commit: concurrent Updates (and every
// write method of Store, which is an Update) share one engine
// transaction and one fsync. fn runs on the committer goroutine, after
// the writes queued before it and in the same transaction; it sees their
// effects. If fn returns an error or panics, its own writes are undone
// and the error returned; the other writes of the batch still commit.
// If the commit itself fails, every write of the batch gets that error.
// fn must not call other Store methods (it would deadlock): use the Tx.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.submit(&writeRequest{fn: fn})
}

// write is Update for relgraph's own operations, which validate before
// they write.
func (s *Store) write(fn func(tx *Tx) error) error {
	return s.submit(&writeRequest{fn: fn, validatesFirst: true})
}

// updateSchema runs fn alone in its own transaction; the schema it sets
// is installed before any later write runs.
func (s *Store) updateSchema(fn func(tx *Tx) error) error {
	return s.submit(&writeRequest{fn: fn, exclusive: true})
}

type writeRequest struct {
	fn        func(tx *Tx) error
	exclusive bool
	// validatesFirst marks relgraph's own operations, which validate
	// everything before their first write: they run without an undo log
	// (see tryBatch).
	validatesFirst bool
	err            error
	done           chan struct{}
	finished       bool // err is final; later attempts skip it
}

func (s *Store) submit(r *writeRequest) error {
	r.done = make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return closedf("write: store is closed")
	}
	s.queue <- r
	s.mu.RUnlock()
	<-r.done
	return r.err
}

// commitLoop is the group committer. It blocks for one request, then
// takes whatever else is queued (up to MaxBatch) without waiting, runs
// the batch in one transaction and commits once. A lone writer therefore
// pays no added delay, and while one batch syncs the next one queues.
func (s *Store) commitLoop() {
	defer close(s.done)
	var held *writeRequest // an exclusive request that ends a batch
	for {
		first := held
		held = nil
		if first == nil {
			var ok bool
			if first, ok = <-s.queue; !ok {
				return
			}
		}
		batch := []*writeRequest{first}
	gather:
		for !first.exclusive && len(batch) < s.opts.MaxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break gather
				}
				if r.exclusive {
					held = r
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.runBatch(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// maxAttempts bounds re-runs of a batch: on an optimistic engine's
// conflict, or after a write failed midway without an undo log.
const maxAttempts = 16

// errSpoiled says a request failed after writing without an undo log:
// the attempt must be rolled back and its neighbours run again.
var errSpoiled = errors.New("attempt spoiled by a failure after writing")

// runBatch runs the requests in one engine transaction and commits it,
// setting each request's err.
func (s *Store) runBatch(batch []*writeRequest) {
	for attempt := 1; ; attempt++ {
		err := s.tryBatch(batch)
		if (errors.Is(err, kv.ErrConflict) || err == errSpoiled) && attempt < maxAttempts {
			if errors.Is(err, kv.ErrConflict) {
				// Another store wrote what this batch read: back off a
				// little, with jitter, so contenders stop colliding.
				time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
			}
			continue
		}
		if errors.Is(err, kv.ErrTooLarge) && countLive(batch) > 1 {
			// Too big for one engine transaction: one per request.
			for _, r := range batch {
				if !r.finished {
					s.runBatch([]*writeRequest{r})
				}
			}
			return
		}
		if errors.Is(err, kv.ErrConflict) {
			err = newError(ErrStorage, err, "storage: the write conflicted with concurrent writers %d times; retry it", maxAttempts)
		}
		for _, r := range batch {
			if !r.finished && err != nil && r.err == nil {
				r.err = err
			}
		}
		return
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
func (s *Store) tryBatch(batch []*writeRequest) error {
	batchStart := time.Now()
	txn, err := s.engine.Begin(true)
	if err != nil {
		return storageErr("begin", err)
	}
	defer txn.Rollback()
	var live []*writeRequest
	for _, r := range batch {
		if !r.finished {
			r.err = nil // from an attempt that was not committed
			live = append(live, r)
		}
	}
	sc := s.schema.Load()
	now := s.clock()
	anyOK := false
	var refills uint64
	for _, r := range live {
		tx := &Tx{kv: txn, schema: sc, now: now}
		switch {
		case len(live) == 1:
			if r.err = runSafely(r.fn, tx); r.err != nil {
				r.finished = true
				return nil
			}
		case r.validatesFirst:
			counted := &countingTx{Tx: txn}
			tx.kv = counted
			if r.err = runSafely(r.fn, tx); r.err != nil {
				if counted.writes > 0 {
					r.finished = true
					return errSpoiled
				}
				continue
			}
		default:
			var undoErr error
			if r.err, undoErr = tx.savepoint(r.fn); undoErr != nil {
				return undoErr
			}
			if r.err != nil {
				continue
			}
		}
		sc = tx.installedSchema(sc)
		anyOK = true
		refills += tx.topRefills
	}
	if !anyOK {
		return nil
	}
	if s.opts.StrictMode {
		if problems := checkTx(txn); len(problems) > 0 {
			return corruptf("strict mode: commit refused, it would leave %d violation(s): %s", len(problems), summarize(problems))
		}
	}
	commitStart := time.Now()
	if err := txn.Commit(); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return err
		}
		return storageErr("commit", err)
	}
	s.commitNanos.Add(uint64(time.Since(commitStart)))
	s.batchNanos.Add(uint64(time.Since(batchStart)))
	s.schema.Store(sc)
	s.commits.Add(1)
	s.requests.Add(uint64(len(live)))
	s.topRefills.Add(refills)
	return nil
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

// Stats are counters of the group commit since Open.
type Stats struct {
	// Commits is the number of engine transactions committed.
	Commits uint64
	// Requests is the number of writes those commits carried (including
	// failed ones that shared a commit). Requests/Commits is the mean
	// batch size.
	Requests uint64
	// BatchTime is the time spent in committed batches, from the engine
	// transaction's start to its commit's end; CommitTime the part spent
	// committing (writing pages and fsync).
	BatchTime, CommitTime time.Duration
	// TopRefills counts committed writes that read all of an A profile's
	// relations to refill a top list that ran short (package doc, "top
	// lists"): the one relation write whose cost grows with A's
	// relations.
	TopRefills uint64
}

// Stats returns the group commit counters. It is cheap and safe to call
// at any time.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Requests: s.requests.Load(),
		BatchTime: time.Duration(s.batchNanos.Load()), CommitTime: time.Duration(s.commitNanos.Load()),
		TopRefills: s.topRefills.Load()}
}

func (tx *Tx) installedSchema(cur *schema) *schema {
	if tx.newSchema != nil {
		return tx.newSchema
	}
	return cur
}

// runSafely turns a panic in fn into an error, so one bad write cannot
// take the committer (and every other writer) down.
func runSafely(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = newError(ErrStorage, nil, "write panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}

// undoTx records the prior state of every key a request writes, so a
// request that fails midway can be undone without rolling back the
// other requests of its batch.
type undoTx struct {
	kv.Tx
	log []undoEntry
}

type undoEntry struct {
	ks    kv.Keyspace
	key   []byte
	prior []byte // nil: the key was absent
}

// prior reads the value key holds before a write, as an undo entry.
func (u *undoTx) prior(ks kv.Keyspace, key []byte) (undoEntry, error) {
	prior, err := u.Tx.Get(ks, key)
	if err != nil {
		return undoEntry{}, err
	}
	if prior != nil {
		prior = append([]byte{}, prior...) // non-nil even when empty
	}
	return undoEntry{ks: ks, key: bytes.Clone(key), prior: prior}, nil
}

// Put and Delete log the prior value once the write succeeded: a write
// that failed changed nothing and has nothing to undo.
func (u *undoTx) Put(ks kv.Keyspace, key, value []byte) error {
	e, err := u.prior(ks, key)
	if err != nil {
		return err
	}
	if err := u.Tx.Put(ks, key, value); err != nil {
		return err
	}
	u.log = append(u.log, e)
	return nil
}

func (u *undoTx) Delete(ks kv.Keyspace, key []byte) error {
	e, err := u.prior(ks, key)
	if err != nil {
		return err
	}
	if err := u.Tx.Delete(ks, key); err != nil {
		return err
	}
	u.log = append(u.log, e)
	return nil
}

// undo restores every remembered key, newest first.
func (u *undoTx) undo() error {
	for i := len(u.log) - 1; i >= 0; i-- {
		e := u.log[i]
		var err error
		if e.prior == nil {
			err = u.Tx.Delete(e.ks, e.key)
		} else {
			err = u.Tx.Put(e.ks, e.key, e.prior)
		}
		if err != nil {
			return err
		}
	}
	u.log = nil
	return nil
}

func summarize(problems []Problem) string {
	var b strings.Builder
	for i, p := range problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(problems)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// savepoint runs fn inside tx so that, if fn fails (or panics), exactly
// fn's writes are undone and tx goes on as before it. It keeps an undo
// log: one extra read per write. undoErr is set if the undo itself
// failed; tx must then be abandoned.
func (tx *Tx) savepoint(fn func(tx *Tx) error) (fnErr, undoErr error) {
	u := &undoTx{Tx: tx.kv}
	inner := &Tx{kv: u, schema: tx.schema, now: tx.now}
	if fnErr = runSafely(fn, inner); fnErr != nil {
		if err := u.undo(); err != nil {
			return fnErr, storageErr("undo a failed write", err)
		}
		return fnErr, nil
	}
	if inner.newSchema != nil {
		tx.newSchema = inner.newSchema
	}
	return nil, nil
}
