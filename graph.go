package relgraph

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	_ "github.com/relgraph/relgraph/kv/wal" // the "file" engine of Open: bbolt with a log in front
)

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

	clock func() time.Time // time.Now; fixed by tests that compare stores
	// noImportPrep turns ImportBatch's normalizing ahead off, for the
	// tests that compare both ways.
	noImportPrep bool

	stats *statCounters

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
// InitialMmapSize, MaxSize, NoSync, ReadOnly) were the engine's to take
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
	return fn(&Tx{kv: txn, schema: s.schema.Load(), now: s.clock(), region: s.opts.PhoneRegion})
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
// If ctx ends while the write waits in the queue, fn never runs and
// Update returns ctx's error.
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

// The Store methods below run one Tx method in its own transaction:
// writes through the group commit (Update), reads in a snapshot (View).
// Their contracts are those of the Tx methods of the same names.

// ImportProfile runs Tx.ImportProfile in its own write.
func (s *Store) ImportProfile(ctx context.Context, db uint32, loc Locator, data ProfileData) (id ProfileID, created bool, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, created, err = tx.ImportProfile(db, loc, data)
		return err
	})
	return id, created, err
}

// CheckSubscription reports whether sub would be accepted by an import
// (a 400 naming what is wrong if not), without writing anything.
func (s *Store) CheckSubscription(sub Subscription) error {
	_, err := sub.normalize(s.opts.PhoneRegion)
	return err
}

// RestoreProfile runs Tx.RestoreProfile in its own write.
func (s *Store) RestoreProfile(ctx context.Context, db uint32, id ProfileID, data ProfileData) (created bool, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		created, err = tx.RestoreProfile(db, id, data)
		return err
	})
	return created, err
}

// UpdateProfile runs Tx.UpdateProfile in its own write.
func (s *Store) UpdateProfile(ctx context.Context, db uint32, loc Locator, data ProfileData) (id ProfileID, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, err = tx.UpdateProfile(db, loc, data)
		return err
	})
	return id, err
}

// DeleteProfile runs Tx.DeleteProfile in its own write.
func (s *Store) DeleteProfile(ctx context.Context, db uint32, loc Locator) (id ProfileID, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, err = tx.DeleteProfile(db, loc)
		return err
	})
	return id, err
}

// GetProfile runs Tx.GetProfile in a snapshot.
func (s *Store) GetProfile(ctx context.Context, db uint32, loc Locator) (p *Profile, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		p, err = tx.GetProfile(db, loc)
		return err
	})
	return p, err
}

// Match runs Tx.Match in a snapshot.
func (s *Store) Match(ctx context.Context, db uint32, loc Locator) (id ProfileID, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		id, err = tx.Match(db, loc)
		return err
	})
	return id, err
}

// ImportItem is one profile of an ImportBatch: Tx.ImportProfile of
// Locator and Data, or, with KeepID, Tx.RestoreProfile of the id in
// Locator.ProfileID (an export imported again).
type ImportItem struct {
	Locator Locator
	Data    ProfileData
	KeepID  bool
}

// ImportResult is the outcome of one ImportItem.
type ImportResult struct {
	ID      ProfileID
	Created bool
	Err     error // nil on success
}

// MaxImportBatch is the most items ImportBatch takes in one call.
const MaxImportBatch = 10000

// ImportBatch imports every item into database db in one transaction
// and one commit. Each item succeeds or fails on its own: a failed item
// changes nothing and does not stop the others; later items see earlier
// ones (an email imported by item 3 conflicts in item 7). The error is
// for the whole call: too many items (ErrInvalid), or the store's fault
// (storage failure, corruption, failed commit), in which case nothing
// was stored.
//
// Items validate before they write, so a failed item has written
// nothing and needs no undo log; an item that fails after writing (an
// engine fault) fails the whole call.
//
// The profiles a batch creates are built ahead, on every core, while
// the transaction takes them in order (import_prepare.go); they carry
// the time the batch was submitted as Created and Updated (the
// transaction's time, a little later, goes on the profiles it updates).
// Calls from several goroutines commit one after another; one submitted
// while another commits has its profiles built meanwhile, so a bulk
// loader with two calls under way (and no order between their items)
// imports faster: about 10% in BenchmarkImport, where one call at a time
// leaves a core idle during each batch's commit.
func (s *Store) ImportBatch(ctx context.Context, db uint32, items []ImportItem) ([]ImportResult, error) {
	if len(items) > MaxImportBatch {
		return nil, invalidf("import_batch: %d items, at most %d", len(items), MaxImportBatch)
	}
	results := make([]ImportResult, len(items))
	var prep *importPrep
	if d, err := s.schema.Load().db(db); err == nil && !s.noImportPrep {
		prep = startImportPrep(d, s.opts.PhoneRegion, s.clock(), items)
		defer prep.finish()
	}
	err := s.write(ctx, func(tx *Tx) error {
		counted := &countingTx{Tx: tx.kv}
		itemTx := &Tx{kv: counted, schema: tx.schema, now: tx.now, region: tx.region}
		if prep != nil {
			if err := itemTx.reserveIDs(len(items)); err != nil {
				return err
			}
		}
		for i, it := range items {
			before := counted.writes
			var err error
			results[i] = ImportResult{}
			if prep != nil {
				itemTx.prepared = prep.item(i)
			}
			results[i].ID, results[i].Created, err = itemTx.importItem(db, it)
			if err != nil && (!isRequestError(err) || counted.writes != before) {
				return err // storage failure or corruption: store nothing
			}
			results[i].Err = err
		}
		return itemTx.flushIDs()
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// Overwrite runs Tx.Overwrite in its own write.
func (s *Store) Overwrite(ctx context.Context, req RelationRequest) (res RelationResult, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		res, err = tx.Overwrite(req)
		return err
	})
	return res, err
}

// Modify runs Tx.Modify in its own write.
func (s *Store) Modify(ctx context.Context, req RelationRequest) (res RelationResult, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		res, err = tx.Modify(req)
		return err
	})
	return res, err
}

// Attach runs Tx.Attach in its own write.
func (s *Store) Attach(ctx context.Context, req RelationRequest) (res RelationResult, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		res, err = tx.Attach(req)
		return err
	})
	return res, err
}

// Detach runs Tx.Detach in its own write.
func (s *Store) Detach(ctx context.Context, req RelationRequest) (res RelationResult, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		res, err = tx.Detach(req)
		return err
	})
	return res, err
}

// Relations runs Tx.Relations in a snapshot.
func (s *Store) Relations(ctx context.Context, q RelationsQuery) (page *RelationsPage, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		page, err = tx.Relations(q)
		return err
	})
	return page, err
}

// ScanRelations runs Tx.ScanRelations in a snapshot: fn sees each
// relation of the page read in place, and must not keep the view.
func (s *Store) ScanRelations(ctx context.Context, q RelationsQuery, fn func(*RelationView) error) (total int64, nextCursor string, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		total, nextCursor, err = tx.ScanRelations(q, fn)
		return err
	})
	return total, nextCursor, err
}

// Counter runs Tx.Counter in a snapshot.
func (s *Store) Counter(ctx context.Context, rel uint32, loc Locator) (c *Counter, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		c, err = tx.Counter(rel, loc)
		return err
	})
	return c, err
}

// EachProfile calls fn with every profile of database db in id order,
// in one read snapshot, stopping at fn's first error. A record that does
// not decode stops it with ErrCorrupt.
func (s *Store) EachProfile(ctx context.Context, db uint32, fn func(p *Profile) error) error {
	return s.View(ctx, func(tx *Tx) error {
		if _, err := tx.schema.db(db); err != nil {
			return err
		}
		return tx.scanProfiles(db, fn)
	})
}
