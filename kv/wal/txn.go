package wal

import (
	"unsafe"

	"github.com/relgraph/relgraph/kv"
)

// The engine's transactions: a read transaction reads a published
// version of the overlay over a bbolt snapshot; a write transaction
// keeps its own writes in a tree of its own over the writer's version.
// Their commits are in commit.go (logged) and bulk.go (bulk).

// readTxn reads a version of the overlay over a bbolt snapshot.
type readTxn struct {
	base   kv.Txn
	ov     *overlay
	closed bool
	probe  probe // scratch for overlay lookups
}

func (t *readTxn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	if t.closed {
		return nil, kv.ErrTxClosed
	}
	if e, ok := t.ov.get(ks, key, &t.probe); ok {
		if e.deleted {
			return nil, nil
		}
		return e.val, nil
	}
	return t.base.Get(ks, key)
}

func (t *readTxn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	if t.closed {
		return nil, kv.ErrTxClosed
	}
	c, err := t.base.Cursor(ks)
	if err != nil {
		return nil, err
	}
	return newMergedCursor(t.ov, c, ks, &t.closed), nil
}

func (t *readTxn) Put(kv.Keyspace, []byte, []byte) error { return kv.ErrReadOnly }
func (t *readTxn) Delete(kv.Keyspace, []byte) error      { return kv.ErrReadOnly }
func (t *readTxn) Writable() bool                        { return false }

func (t *readTxn) Commit() error { return t.Rollback() }

func (t *readTxn) Rollback() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	t.closed = true
	return t.base.Rollback()
}

// writeTxn keeps its writes in a tree of its own (the log's record),
// and reads over the overlay over a bbolt snapshot. Its commit logs the
// writes and makes the overlay's next version.
//
// A small transaction (at most Config.directKeys keys: every group
// commit of relation writes) also sets each write into that next
// version as it makes it: a copy-on-write copy of the current one,
// taken at its first write, which its reads then read and its commit
// makes current. So no merge is left between the log's write and its
// sync: the sets are made while the transaction runs, most of them
// while the commit before it syncs. A larger one reads its own tree
// over the current version, and its commit merges the two (merged).
type writeTxn struct {
	readTxn // ov: the next version while direct, else cur
	e       *Engine
	seq     uint64   // the record this transaction becomes
	own     *overlay // its writes, newest per key
	// cur is the current version as of Begin, which the transaction
	// does not change; grown is what its writes add to the overlay's
	// size while it is direct.
	cur   *overlay
	grown int64
	bulk  kv.Txn // once it is bulk: the store file's write transaction
	ended bool
	// slab is where its next overlay entries come from (newEntry).
	slab []entry
}

// entrySlab is how many overlay entries a transaction allocates at a
// time: one allocation per that many writes instead of one per write.
const entrySlab = 32

// newEntry is a zeroed entry from the transaction's slab. An entry a
// later write of the same key replaces stays in the slab, unused, until
// every entry of its slab has left the overlay.
func (t *writeTxn) newEntry() *entry {
	if len(t.slab) == 0 {
		t.slab = make([]entry, entrySlab)
	}
	e := &t.slab[0]
	t.slab = t.slab[1:]
	return e
}

func (t *writeTxn) Writable() bool { return true }

func (t *writeTxn) write(ks kv.Keyspace, key, value []byte, deleted bool) error {
	if t.ended {
		return kv.ErrTxClosed
	}
	if t.bulk != nil {
		if deleted {
			return t.bulk.Delete(ks, key)
		}
		return t.bulk.Put(ks, key, value)
	}
	if t.own.len() >= t.e.cfg.BulkKeys {
		if err := t.goBulk(); err != nil {
			return err
		}
		return t.write(ks, key, value, deleted)
	}
	// The overlay key (keyspace ‖ 0x00 ‖ key) and the value, copied (the
	// caller may reuse both), share one allocation; nothing writes to
	// it afterwards, so the key can be a string over its bytes.
	n := len(ks) + 1 + len(key)
	size := n
	if !deleted {
		size += len(value)
	}
	buf := make([]byte, size)
	copy(buf[copy(buf, ks)+1:], key)
	e := t.newEntry()
	*e = entry{key: unsafe.String(&buf[0], n), deleted: deleted, seq: t.seq}
	if !deleted {
		copy(buf[n:], value)
		e.val = buf[n:size:size]
	}
	t.own.set(e)
	switch {
	case t.own.len() <= t.e.cfg.directKeys:
		if !t.direct() { // the first write
			t.ov = t.cur.copy()
		}
		if prev, replaced := t.ov.set(e); replaced {
			t.grown -= entrySize(prev)
		}
		t.grown += entrySize(e)
	case t.direct(): // past directKeys: the commit merges own instead
		t.ov, t.grown = t.cur, 0
	}
	return nil
}

func (t *writeTxn) Put(ks kv.Keyspace, key, value []byte) error {
	if err := t.e.store.CheckKeyspace(ks); err != nil {
		return err
	}
	return t.write(ks, key, value, false)
}

func (t *writeTxn) Delete(ks kv.Keyspace, key []byte) error {
	if err := t.e.store.CheckKeyspace(ks); err != nil {
		return err
	}
	return t.write(ks, key, nil, true)
}

func (t *writeTxn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return t.bulk.Get(ks, key)
	}
	if !t.direct() { // the transaction's writes are in own alone
		if e, ok := t.own.get(ks, key, &t.probe); ok {
			if e.deleted {
				return nil, nil
			}
			return e.val, nil
		}
	}
	return t.readTxn.Get(ks, key)
}

func (t *writeTxn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return t.bulk.Cursor(ks)
	}
	// The transaction's later writes change the trees these cursors
	// walk in place; a cursor places itself again after them
	// (mergedCursor.Next), so a write to another keyspace does not move
	// it (kv.Tx.Cursor).
	c, err := t.readTxn.Cursor(ks)
	if err != nil || t.direct() {
		return c, err
	}
	return newMergedCursor(t.own, c, ks, &t.closed), nil
}

// direct reports whether the transaction sets its writes into its own
// copy of the current version, ov, as it makes them.
func (t *writeTxn) direct() bool { return t.ov != t.cur }

// next returns the overlay's next version: the current one with the
// transaction's writes, and what they add to its size. It needs the
// log's record written: making room for it may have checkpointed and
// pruned the overlay, and the next version is then the pruned one with
// the writes, not the one as of Begin (which would bring back what the
// store file now holds, and outgrow the size counted).
func (t *writeTxn) next() (*overlay, int64) {
	if t.e.cur != t.cur {
		t.cur, t.ov = t.e.cur, t.e.cur
	}
	if t.direct() {
		return t.ov, t.grown
	}
	return t.merged()
}

// merged is next for a transaction that is not direct. A few writes are
// set into a copy (copy-on-write: the current version is untouched);
// many are merged with it into a new tree, in one ordered pass.
func (t *writeTxn) merged() (*overlay, int64) {
	var grown int64
	if t.own.len()*8 < t.ov.len() {
		next := t.ov.copy()
		t.own.t.Scan(func(e *entry) bool {
			if prev, replaced := next.t.Set(e); replaced {
				grown -= entrySize(prev)
			}
			grown += entrySize(e)
			return true
		})
		return next, grown
	}
	next := newOverlay()
	a, b := t.ov.t.Iter(), t.own.t.Iter()
	aok, bok := a.First(), b.First()
	for aok || bok {
		switch {
		case !bok || (aok && a.Item().key < b.Item().key):
			next.t.Load(a.Item())
			aok = a.Next()
		case !aok || b.Item().key < a.Item().key:
			next.t.Load(b.Item())
			grown += entrySize(b.Item())
			bok = b.Next()
		default: // the transaction replaced the entry
			next.t.Load(b.Item())
			grown += entrySize(b.Item()) - entrySize(a.Item())
			aok, bok = a.Next(), b.Next()
		}
	}
	return next, grown
}

func (t *writeTxn) Rollback() error {
	if t.ended {
		return kv.ErrTxClosed
	}
	t.end()
	return nil
}

// end releases the snapshot (or the bulk transaction) and the writer
// lock.
func (t *writeTxn) end() {
	t.ended = true
	if t.bulk != nil {
		t.bulk.Rollback()
		t.bulk = nil
		t.e.ckptMu.Unlock()
	}
	if !t.closed {
		t.closed = true
		t.base.Rollback()
	}
	t.e.wmu.Unlock()
}
