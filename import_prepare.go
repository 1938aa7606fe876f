package relgraph

import (
	"runtime"
	"sync/atomic"
)

// importPrep normalizes the new profiles of an import batch on every
// core while the write transaction takes them in order. Normalizing is
// pure (a function of the data, the database's declarations and the
// phone region) and costs more than the rest of an import item (phones
// above all: libphonenumber's parse is several microseconds), so it
// need neither wait for the transaction nor hold it.
//
// Only the creation of a profile uses a prepared result: an item that
// finds an existing profile, or any item when the schema changed in
// between, is normalized inside the transaction as a single import is.
// Either way the outcome is the same, errors included.
type importPrep struct {
	d      *Database
	region string
	items  []preparedItem
	ready  []chan struct{} // ready[k] is closed once chunk k is prepared
	next   atomic.Int64    // the next chunk a worker takes
	done   chan struct{}   // closed by finish: prepare nothing more
}

// preparedItem is one import item normalized for its creation.
type preparedItem struct {
	prep *importPrep
	ok   bool // prepared (not a KeepID item, its locator readable)
	data ProfileData
	err  error
}

// prepChunk is how many items a worker prepares at a time: large enough
// that handing out chunks costs nothing, small enough that the
// transaction rarely waits for the first one.
const prepChunk = 64

// startImportPrep starts GOMAXPROCS workers preparing items for
// database d. The caller calls finish when the batch is over.
func startImportPrep(d *Database, region string, items []ImportItem) *importPrep {
	p := &importPrep{d: d, region: region, items: make([]preparedItem, len(items)),
		ready: make([]chan struct{}, (len(items)+prepChunk-1)/prepChunk), done: make(chan struct{})}
	for k := range p.ready {
		p.ready[k] = make(chan struct{})
	}
	for range min(runtime.GOMAXPROCS(0), len(p.ready)) {
		go p.work(items)
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
			p.items[i] = p.prepare(items[i])
		}
		close(p.ready[k])
	}
}

// prepare normalizes it as putProfile does for a profile it creates.
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
	data, err := it.Data.withLocatorKey(it.Locator, mode).normalize(p.d, p.region)
	return preparedItem{prep: p, ok: true, data: data, err: err}
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
	if !p.items[i].ok {
		return nil
	}
	return &p.items[i]
}

// finish stops the workers at their next chunk. Call it once.
func (p *importPrep) finish() { close(p.done) }

// usable reports whether the item was prepared for database d and the
// phone region of tx.
func (pi *preparedItem) usable(d *Database, region string) bool {
	return pi != nil && pi.prep.d == d && pi.prep.region == region
}
