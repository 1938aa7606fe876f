package relgraph

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
	_ "github.com/relgraph/relgraph/kv/wal" // the "file" engine of Open: bbolt with a log in front
)

// This file holds the Store itself: opening (with the format check),
// closing, and its generic reads (View) and writes (Update). Each
// operation's Store method lives with its noun (profile.go, import.go,
// overwrite.go, relations.go, counter.go, schema.go, copies.go) and runs
// the Tx method of the same name in its own transaction: writes through
// the group commit (Update), reads in a snapshot (View); its contract is
// the Tx method's.

// Store is a relgraph store: profiles, their indexes and relations in
// one ordered KV engine. It is safe for concurrent use. Writes from all
// goroutines go through one group committer (see Update); reads run in
// parallel snapshots (see View).
//
// Every method that can wait (in the commit queue, for the fsync, on a
// remote engine) takes a context. A write whose context ends while it
// is queued is not applied and returns the context's error; once its
// batch has begun, it returns the outcome it had.
type Store struct {
	engine kv.Engine
	opts   Options
	schema atomic.Pointer[schema]
	// schemaChecked is when a transaction last read the stored schema
	// generation (unix nanoseconds; shared engines, schema_shared.go).
	schemaChecked atomic.Int64

	clock func() time.Time // time.Now; fixed by tests that compare stores
	// noImportPrep turns ImportBatch's normalizing ahead off, for the
	// tests that compare both ways.
	noImportPrep bool

	stats *statCounters
	// room is what the committer's requests reuse (tx.go, batchRoom).
	room batchRoom
	// feed wakes readers of the change feed after each durable batch
	// that appended to it; trimStop and trimDone stop its retention.
	feed               feedSignal
	trimStop, trimDone chan struct{}

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *writeRequest
	done   chan struct{}
}

// Open opens the store at location, creating it if it does not exist: a
// file path (bbolt, the embedded engine), or a URL scheme://… of an
// engine whose package the program imports (kv/etcd registers etcd://;
// see kv.Register). A file held by another process is waited for up to
// opts.Timeout, then refused. A file of another format version, or not
// a relgraph store, is refused with ErrFormat; a damaged one with
// ErrCorrupt; bad options with ErrInvalid.
func Open(location string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	e, err := kv.Open(location, index.All, o.engine())
	if err != nil {
		return nil, openErr(err)
	}
	s, err := openStore(e, o)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// OpenEngine opens a store on an already open engine, which must have
// every keyspace of index.All. The store owns the engine from then on
// and closes it in Close. The engine's options (Timeout,
// NoSync, ReadOnly, Engine) were the engine's to take
// when it was opened: set here, they are refused (ErrInvalid).
func OpenEngine(e kv.Engine, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if set := o.engineFieldsSet(); len(set) > 0 {
		return nil, invalidf("invalid options: %v are the engine's, set when it is opened; OpenEngine takes an open engine", set)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return openStore(e, o)
}

func openStore(e kv.Engine, o Options) (*Store, error) {
	o = o.withDefaults(e)
	s := &Store{engine: e, opts: o, clock: time.Now, stats: newStatCounters()}
	sc, err := s.init()
	if err != nil {
		return nil, err
	}
	s.schema.Store(sc)
	s.queue = make(chan *writeRequest, o.MaxBatch)
	s.done = make(chan struct{})
	go s.commitLoop()
	if !o.ReadOnly {
		s.trimStop, s.trimDone = make(chan struct{}), make(chan struct{})
		go s.trimLoop(s.trimStop, s.trimDone)
	}
	return s, nil
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
	s.mu.Unlock()
	if s.trimStop != nil {
		close(s.trimStop) // its last write finishes before the queue closes
		<-s.trimDone
	}
	s.mu.Lock()
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return s.engine.Close()
}

// View runs fn in a read-only snapshot. It may run concurrently with
// writes and other views. Writes from fn fail with an ErrStorage. ctx
// bounds the snapshot's waits on a remote engine.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return closedf("view: store is closed")
	}
	txn, err := s.engine.Begin(ctx, false)
	if err != nil {
		return beginErr(err)
	}
	defer txn.Rollback()
	sc, err := s.currentSchema(txn)
	if err != nil {
		return err
	}
	return fn(s.newTx(txn, sc, s.clock()))
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
// fn may run more than once, each time in a new transaction of which
// only the last commits (the batch runs again when a write of it fails
// after writing, or on an optimistic engine's conflict), so it must
// have no effect outside the Tx. If ctx ends while the write waits in
// the queue, fn never runs and Update returns ctx's error.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return s.submit(ctx, &writeRequest{fn: fn})
}

// write is Update for relgraph's own operations, which validate before
// they write.
func (s *Store) write(ctx context.Context, fn func(tx *Tx) error) error {
	return s.submit(ctx, &writeRequest{fn: fn, validatesFirst: true})
}

// updateSchema runs fn alone in its own transaction; the schema it sets
// is installed before any later write runs.
func (s *Store) updateSchema(ctx context.Context, fn func(tx *Tx) error) error {
	return s.submit(ctx, &writeRequest{fn: fn, exclusive: true})
}

// FormatVersion is written into every store. Open refuses a store with
// another version (see record.Version), except FormatVersionFeed.
const FormatVersion = record.Version

// FormatVersionFeed is the version of a store while its change feed is
// on (see record.VersionFeed): relgraph builds older than the feed
// refuse it.
const FormatVersionFeed = record.VersionFeed

// init checks the format version (writing it into a new store) and loads
// the schema.
func (s *Store) init() (*schema, error) {
	ctx := context.Background()
	txn, err := s.engine.Begin(ctx, false)
	if err != nil {
		return nil, beginErr(err)
	}
	v, err := txn.Get(index.Meta, index.FormatKey)
	if err != nil {
		err = storageErr("read format", err)
	}
	if err == nil && v == nil {
		err = s.checkEmpty(txn)
	}
	var sc *schema
	if err == nil && v != nil {
		if string(v) != FormatVersion && string(v) != FormatVersionFeed {
			err = formatf("store format %q, this relgraph reads %q and %q: open it with the relgraph that wrote it (export its profiles, or serve it), or start a new store", truncate(string(v)), FormatVersion, FormatVersionFeed)
		} else {
			sc, err = loadSchema(txn)
		}
		if err == nil && s.shared() {
			sc.gen, err = readSchemaGen(txn)
		}
	}
	txn.Rollback()
	if err != nil || sc != nil {
		return sc, err
	}
	// A new, empty store: record the format.
	w, err := s.engine.Begin(ctx, true)
	if err != nil {
		return nil, beginErr(err)
	}
	defer w.Rollback()
	if err := w.Put(index.Meta, index.FormatKey, []byte(FormatVersion)); err != nil {
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
