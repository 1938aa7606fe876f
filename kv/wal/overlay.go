package wal

import (
	"bytes"
	"unsafe"

	"github.com/tidwall/btree"

	"github.com/relgraph/relgraph/kv"
)

// The overlay holds the writes the log holds and the store file does
// not yet: every write since the last checkpoint, newest per key, in key
// order. Versions of it are immutable once published: a write
// transaction works on a copy (tidwall/btree's copy-on-write Copy is
// O(1) and shares every node until one is changed), and readers read
// the version published at their Begin without locks.

// entry is one key's newest write: a value, or a deletion. The tree
// holds pointers: a node copied on write, and a comparison, then move 8
// bytes an entry rather than 56. An entry is never changed once set.
type entry struct {
	key     string // keyspace ‖ 0x00 ‖ key
	val     []byte // nil when deleted
	deleted bool
	seq     uint64 // the log record that wrote it
}

// overlay is one version.
type overlay struct {
	t *btree.BTreeG[*entry]
	// sets counts the writes set into t: a cursor over a tree its
	// transaction writes to repositions itself when it changed
	// (mergedCursor.Next).
	sets uint64
}

func byKey(a, b *entry) bool { return a.key < b.key }

// overlayDegree is the tree's degree: nodes of 15 to 31 entries, so a
// copy-on-write of a node copies little.
const overlayDegree = 16

func newOverlay() *overlay {
	return &overlay{t: btree.NewBTreeGOptions(byKey, btree.Options{NoLocks: true, Degree: overlayDegree})}
}

// copy returns a new version sharing every node; changes to either do
// not show in the other. Only the owner of o may call it (it marks o's
// nodes shared).
func (o *overlay) copy() *overlay { return &overlay{t: o.t.Copy()} }

// probe is a transaction's scratch space for lookups: the key sought,
// which the tree does not keep.
type probe struct {
	buf []byte
	e   entry
}

// get returns the entry of key, if the overlay has one.
func (o *overlay) get(ks kv.Keyspace, key []byte, p *probe) (*entry, bool) {
	p.buf = append(append(append(p.buf[:0], ks...), 0), key...)
	p.e.key = unsafe.String(unsafe.SliceData(p.buf), len(p.buf))
	return o.t.Get(&p.e)
}

// set records a write, and returns the entry it replaced, if any.
func (o *overlay) set(e *entry) (*entry, bool) {
	o.sets++
	return o.t.Set(e)
}

func (o *overlay) len() int { return o.t.Len() }

// after is a new version holding o's entries of records after seq, and
// what they cost. It rebuilds the tree from the entries it keeps, in
// order: after a large checkpoint most entries go, and deleting them one
// by one from a copy-on-write tree costs far more.
func (o *overlay) after(seq uint64) (*overlay, int64) {
	next := newOverlay()
	var kept int64
	o.t.Scan(func(en *entry) bool {
		if en.seq > seq {
			next.t.Load(en)
			kept += entrySize(en)
		}
		return true
	})
	return next, kept
}

// entrySize is what an entry costs in memory, roughly: its bytes and
// the tree's share.
func entrySize(e *entry) int64 { return int64(len(e.key) + len(e.val) + 64) }

// mergedCursor walks one keyspace of a version of the overlay over a
// cursor of the store file: the overlay's entries win, its deletions
// hide the file's keys.
type mergedCursor struct {
	base   kv.Cursor
	ov     *overlay
	sets   uint64 // ov.sets when iter was last placed
	iter   btree.IterG[*entry]
	prefix string // keyspace ‖ 0x00
	ended  *bool  // the transaction's: once its snapshot is released, no move reads
	err    error

	// The two positions: the file's current key and value, the overlay's
	// current entry (ok false when either runs off the end).
	bk, bv []byte
	oe     *entry
	ook    bool
}

func newMergedCursor(o *overlay, base kv.Cursor, ks kv.Keyspace, ended *bool) *mergedCursor {
	return &mergedCursor{base: base, ov: o, iter: o.t.Iter(), prefix: string(ks) + "\x00", ended: ended}
}

// over ends the walk if the transaction has released its snapshot (it
// ended, or went bulk): kv.ErrTxClosed.
func (c *mergedCursor) over() bool {
	if *c.ended {
		c.err, c.bk, c.ook = kv.ErrTxClosed, nil, false
	}
	return *c.ended
}

func (c *mergedCursor) First() ([]byte, []byte) {
	if c.over() {
		return nil, nil
	}
	c.bk, c.bv = c.base.First()
	c.ook, c.sets = c.iter.Seek(&entry{key: c.prefix}), c.ov.sets
	return c.settle()
}

func (c *mergedCursor) Seek(seek []byte) ([]byte, []byte) {
	if c.over() {
		return nil, nil
	}
	c.bk, c.bv = c.base.Seek(seek)
	c.ook, c.sets = c.iter.Seek(&entry{key: c.prefix + string(seek)}), c.ov.sets
	return c.settle()
}

// Next moves past the current key, on both sides.
func (c *mergedCursor) Next() ([]byte, []byte) {
	if c.over() {
		return nil, nil
	}
	if c.ook && c.ov.sets != c.sets {
		// The transaction wrote since: the tree's nodes the iterator
		// stands on may have been changed in place (a split moves keys
		// out from under it). Place it again on the key it stood on,
		// which a write replaces but never removes.
		c.ook, c.sets = c.iter.Seek(c.oe), c.ov.sets
	}
	has, ov := c.overlayKey()
	switch {
	case c.bk == nil && !has:
		return nil, nil
	case !has || (c.bk != nil && bytes.Compare(c.bk, ov) < 0):
		c.bk, c.bv = c.base.Next()
	case c.bk == nil || bytes.Compare(ov, c.bk) < 0:
		c.ook = c.iter.Next()
	default: // the same key on both sides
		c.bk, c.bv = c.base.Next()
		c.ook = c.iter.Next()
	}
	return c.settle()
}

func (c *mergedCursor) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.base.Err()
}

// overlayKey returns the overlay's current key within the keyspace.
func (c *mergedCursor) overlayKey() (bool, []byte) {
	if !c.ook {
		return false, nil
	}
	c.oe = c.iter.Item()
	if len(c.oe.key) < len(c.prefix) || c.oe.key[:len(c.prefix)] != c.prefix {
		c.ook = false
		return false, nil
	}
	k := c.oe.key[len(c.prefix):] // the caller only reads it
	return true, unsafe.Slice(unsafe.StringData(k), len(k))
}

// settle returns the smaller of the two positions, skipping keys the
// overlay deleted.
func (c *mergedCursor) settle() ([]byte, []byte) {
	for {
		has, ov := c.overlayKey()
		switch {
		case !has && c.bk == nil:
			return nil, nil
		case !has || (c.bk != nil && bytes.Compare(c.bk, ov) < 0):
			return c.bk, c.bv
		}
		// The overlay's key comes first, or is the same as the file's.
		if !c.oe.deleted {
			return ov, c.oe.val
		}
		if c.bk != nil && bytes.Equal(c.bk, ov) {
			c.bk, c.bv = c.base.Next()
		}
		c.ook = c.iter.Next()
	}
}
