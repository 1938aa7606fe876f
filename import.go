package relgraph

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/index"
)

// importPrep builds the new profiles of an import batch on every core
// while the write transaction takes them in order. A new profile's
// record is a pure function of the item, the database's declarations,
// the phone region and its time — the batch's, taken when it is
// submitted — but not of its id, which is the record's key:
// normalizing, applying and encoding it need neither wait for the
// transaction nor hold it, and they are most of an import item's work.
// Its index entries are too, but for the id each ends in, which the
// transaction fills in (withProfileID). The transaction is left the
// lookups, the id and the writes.
//
// Only the creation of a profile uses a prepared result: an item that
// finds an existing profile, or any item when the schema changed in
// between, is built inside the transaction as a single import is.
// Either way the outcome is the same, errors included, but for the
// time a created profile carries.
type importPrep struct {
	d      *Database
	region string
	now    time.Time // the batch's time: Created and Updated
	items  []preparedItem
	ready  []chan struct{} // ready[k] is closed once chunk k is prepared
	next   atomic.Int64    // the next chunk a worker takes
	done   chan struct{}   // closed by finish: prepare nothing more
	wg     sync.WaitGroup  // the workers: finish waits for them
}

// preparedItem is one import item built for its creation.
type preparedItem struct {
	prep    *importPrep   // nil: not prepared (a KeepID item, an unreadable locator)
	profile *Profile      // built, without its id
	val     []byte        // profile's record, encoded
	entries []index.Entry // profile's index entries with the zero id, sorted, each once
	err     error         // what putProfile is to answer instead
}

// prepChunk is how many items a worker prepares at a time: large enough
// that handing out chunks costs nothing, small enough that the
// transaction rarely waits for the first one.
const prepChunk = 64

// startImportPrep starts GOMAXPROCS workers preparing items for
// database d at time now. The caller calls finish when the batch is over.
func startImportPrep(d *Database, region string, now time.Time, items []ImportItem) *importPrep {
	p := &importPrep{d: d, region: region, now: now, items: make([]preparedItem, len(items)),
		ready: make([]chan struct{}, (len(items)+prepChunk-1)/prepChunk), done: make(chan struct{})}
	for k := range p.ready {
		p.ready[k] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), len(p.ready)) {
		p.wg.Go(func() { p.work(items) })
	}
	return p
}

func (p *importPrep) work(items []ImportItem) {
	for {
		select {
		case <-p.done:
			return
		default:
		}
		k := int(p.next.Add(1) - 1)
		if k >= len(p.ready) {
			return
		}
		for i := k * prepChunk; i < len(items) && i < (k+1)*prepChunk; i++ {
			p.items[i] = p.prepareSafely(items[i])
		}
		close(p.ready[k])
	}
}

// prepareSafely is prepare, with a panic (a bug) leaving the item
// unprepared: the transaction then builds it itself, where a panic
// becomes the call's error instead of ending the process.
func (p *importPrep) prepareSafely(it ImportItem) (pi preparedItem) {
	defer func() {
		if recover() != nil {
			pi = preparedItem{}
		}
	}()
	return p.prepare(it)
}

// prepare builds it as putProfile does a profile it creates.
func (p *importPrep) prepare(it ImportItem) preparedItem {
	if it.KeepID {
		return preparedItem{}
	}
	var mode Mode
	if !it.Locator.IsEmpty() {
		var err error
		if mode, err = it.Locator.mode(); err != nil {
			return preparedItem{} // putProfile reports it
		}
	}
	prof := &Profile{DatabaseID: p.d.ID, Created: p.now, Updated: p.now}
	if err := buildProfile(prof, it.Data.withLocatorKey(it.Locator, mode), p.d, p.region); err != nil {
		return preparedItem{prep: p, err: err}
	}
	val, err := encodeProfile(prof)
	if err != nil {
		return preparedItem{} // putProfile reports it
	}
	return preparedItem{prep: p, profile: prof, val: val, entries: index.SortSet(indexEntries(p.d, prof))}
}

// item waits until item i is prepared and returns it, or nil when it
// was not (or will not be: the batch is finished).
func (p *importPrep) item(i int) *preparedItem {
	k := i / prepChunk
	select {
	case <-p.ready[k]:
	case <-p.done:
		select {
		case <-p.ready[k]:
		default:
			return nil // never taken, or still being prepared: not to be read
		}
	}
	if p.items[i].prep == nil {
		return nil
	}
	return &p.items[i]
}

// finish stops the workers at their next chunk and waits for them (at
// most a chunk each): once it returns, nothing reads the caller's items.
// Call it once.
func (p *importPrep) finish() {
	close(p.done)
	p.wg.Wait()
}

// usable reports whether the item was prepared for database d and the
// phone region of a transaction at time now. Its time, the batch's,
// must not be after now (a clock stepped back): a later update in the
// transaction would get an Updated before the profile's Created.
func (pi *preparedItem) usable(d *Database, region string, now time.Time) bool {
	return pi != nil && pi.prep.d == d && pi.prep.region == region && !pi.prep.now.After(now)
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
// the transaction takes them in order (importPrep, import.go); they carry
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
		prep = startImportPrep(d, d.phoneRegion(s.opts.PhoneRegion), s.clock(), items)
		defer prep.finish()
	}
	err := s.write(ctx, func(tx *Tx) error {
		counted := &countingTx{Tx: tx.kv}
		itemTx := tx.over(counted)
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
		tx.absorb(itemTx)
		return itemTx.flushIDs()
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// importItem runs one ImportItem of a batch.
func (tx *Tx) importItem(db uint32, it ImportItem) (ProfileID, bool, error) {
	if !it.KeepID {
		return tx.ImportProfile(db, it.Locator, it.Data)
	}
	id, err := ParseProfileID(it.Locator.ProfileID)
	if err != nil {
		return ProfileID{}, false, err
	}
	created, err := tx.RestoreProfile(db, id, it.Data)
	return id, created, err
}
