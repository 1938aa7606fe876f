package relgraph

import (
	"bytes"
	"time"

	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

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
	// topRefills counts top lists this transaction rebuilt (refillTop).
	topRefills uint64
	// region is Options.PhoneRegion: the phone region of a database
	// that declares none (Database.phoneRegion), and of new databases.
	region string
	// restoreAt, while RestoreProfileAt runs, are the times putProfile
	// gives the profile instead of now.
	restoreAt *restoreTimes
	// prepared is the import item putProfile is given, normalized ahead
	// for its creation (importPrep, import.go); nil outside ImportBatch.
	prepared *preparedItem
	// ids is a block of generated ids checked free (profile_id.go);
	// nil outside ImportBatch.
	ids *idBlock
	// feedLast is the sequence number of the last change this
	// transaction appended to the feed (feed.go); 0 if none.
	feedLast uint64
	// scratch holds the key of a Get (getKey): engines keep no Get key,
	// so one buffer serves every point read without an allocation.
	scratch [64]byte
	// batch is room the committer's requests reuse in turn (nil
	// outside the committer): kept across resetTx.
	batch *batchRoom
}

// batchRoom is what the committer's requests reuse, one after another
// (one committer goroutine owns it): the counter a relation write
// decodes and changes (planCounter; never handed to callers), and a
// slab the keys and values a relation write puts are carved from (the
// engine may keep both until its commit is durable, so the slab is only
// appended to, and a full one is left to the GC with the bytes in it).
type batchRoom struct {
	counter record.Counter
	slab    []byte
}

// slabSize is the room a batch's slab is allocated in: the keys and
// values of about ten relation writes.
const slabSize = 8 << 10

// appendKept returns the bytes appendTo appends to an empty buffer with
// room for size bytes, for a key or value handed to the engine's Put or
// Delete: a buffer carved from the batch's slab, which keeps it until
// the batch ends (or a new one outside a batch). One slab instead of an
// allocation each saves the committer three or four allocations a
// relation write.
func (tx *Tx) appendKept(size int, appendTo func([]byte) []byte) []byte {
	if tx.batch == nil {
		return appendTo(make([]byte, 0, size))
	}
	r := tx.batch
	if cap(r.slab)-len(r.slab) < size {
		r.slab = make([]byte, 0, max(slabSize, size))
	}
	free := cap(r.slab) - len(r.slab)
	v := appendTo(r.slab[len(r.slab):len(r.slab):cap(r.slab)])
	if cap(v) == free { // still the slab's room: keep it taken
		r.slab = r.slab[:len(r.slab)+len(v)]
	}
	return v[:len(v):len(v)] // an append to it must not write into room handed out later
}

// getKey is a buffer for building the key of one Get (never of a Put or
// Delete, whose keys the engine may keep until the commit); the next
// getKey overwrites it.
func (tx *Tx) getKey() []byte { return tx.scratch[:0] }

// newTx is a transaction of s over an engine transaction, with schema
// sc and the time now.
func (s *Store) newTx(k kv.Tx, sc *schema, now time.Time) *Tx {
	tx := new(Tx)
	s.resetTx(tx, k, sc, now)
	return tx
}

// resetTx makes tx a fresh transaction, as newTx would, in place.
func (s *Store) resetTx(tx *Tx, k kv.Tx, sc *schema, now time.Time) {
	*tx = Tx{kv: k, schema: sc, now: now, region: s.opts.PhoneRegion, batch: tx.batch}
}

// over is a transaction like tx (its schema, time and phone region)
// over another engine transaction: an undo log's, an import's counter.
// What it records beyond its writes reaches tx by absorb.
func (tx *Tx) over(k kv.Tx) *Tx {
	return &Tx{kv: k, schema: tx.schema, now: tx.now, region: tx.region, batch: tx.batch}
}

// absorb takes into tx what inner, a transaction of over whose writes
// are kept, recorded beyond its writes: a schema change, top-list
// refills, the feed's last number (which wakes the feed's readers).
func (tx *Tx) absorb(inner *Tx) {
	if inner.newSchema != nil {
		tx.newSchema = inner.newSchema
	}
	tx.topRefills += inner.topRefills
	tx.feedLast = max(tx.feedLast, inner.feedLast)
}

// schemaNow is the schema as this transaction has changed it so far.
func (tx *Tx) schemaNow() *schema {
	if tx.newSchema != nil {
		return tx.newSchema
	}
	return tx.schema
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

// savepoint runs r's body inside tx so that, if it fails (or panics),
// exactly its writes are undone and tx goes on as before it. It keeps an
// undo log: one extra read per write. What r's transaction records
// beyond its writes (a schema change, top-list refills) is kept only if
// r succeeds. undoErr is set if the undo itself failed; tx must then be
// abandoned.
func (tx *Tx) savepoint(r *writeRequest) (fnErr, undoErr error) {
	u := &undoTx{Tx: tx.kv}
	inner := tx.over(u)
	if fnErr = runSafely(r, inner); fnErr != nil {
		if err := u.undo(); err != nil {
			return fnErr, storageErr("undo a failed write", err)
		}
		return fnErr, nil
	}
	tx.absorb(inner)
	return nil, nil
}
