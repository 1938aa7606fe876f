// Package bolt implements the kv seam on go.etcd.io/bbolt: one top-level
// bucket per keyspace, one bbolt transaction per kv transaction.
//
// This is the only package of relgraph that imports bbolt.
//
// A damaged file never crashes the process. Open checks the file's meta
// pages and size before bbolt maps it (file.go). Every call into bbolt
// runs with memory faults turned into panics (debug.SetPanicOnFault)
// and panics turned into errors wrapping kv.ErrCorrupt. bbolt hands out
// keys and values that point into its memory map, with lengths read
// from the page: each is checked to lie within the pages the
// transaction sees before it is returned, so that no caller reads past
// the file later. A read of a damaged page fails that read, and a write
// transaction that met one cannot commit.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"unsafe"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/relgraph/relgraph/kv"
)

// Engine is a bbolt file used through the kv seam.
type Engine struct {
	db        *bbolt.DB
	path      string // the file's, kept: bbolt's Path races with its Close
	keyspaces map[kv.Keyspace]bool
	readOnly  bool
	// broken is set when bbolt panicked inside a commit: its in-memory
	// state can no longer be trusted, so no later write may begin.
	broken atomic.Pointer[error]
}

// ErrForeign is kv.ErrForeign: Open wraps it for a file that is not a
// bbolt file, or holds buckets other than the keyspaces.
var ErrForeign = kv.ErrForeign

// ErrLocked is returned by Open when another process holds the file:
// kv.ErrLocked, so errors.Is finds it through any engine on bbolt.
var ErrLocked = kv.ErrLocked

// Config is the store file's own configuration (kv.Options.Config).
// The zero value is the default.
type Config struct {
	// InitialMmapSize pre-sizes bbolt's memory map (bytes). When the file
	// outgrows the map, the commit that grows it waits for every open
	// read transaction (a long read, a running backup) to end; a map
	// larger than the file will grow to avoids that stall.
	InitialMmapSize int
	// MaxSize caps the file size in bytes; commits past it fail and
	// change nothing. Zero: no cap.
	MaxSize int
}

// configOf is the Config an Options.Config gives: nil, a Config or a
// *Config; anything else, or a negative size, wraps kv.ErrConfig.
func configOf(c any) (Config, error) {
	cfg, err := kv.ConfigAs[Config](c, "a bbolt file takes a bolt.Config")
	if err != nil {
		return cfg, err
	}
	var bad []string
	if cfg.InitialMmapSize < 0 {
		bad = append(bad, fmt.Sprintf("InitialMmapSize %d is negative", cfg.InitialMmapSize))
	}
	if cfg.MaxSize < 0 {
		bad = append(bad, fmt.Sprintf("MaxSize %d is negative", cfg.MaxSize))
	}
	if len(bad) > 0 {
		return cfg, fmt.Errorf("%w: %s", kv.ErrConfig, strings.Join(bad, "; "))
	}
	return cfg, nil
}

// Open opens or creates the bbolt file at path and creates every keyspace
// given (in one transaction, unless the file is read-only). It uses the
// hash-map freelist, which keeps commits cheap on large files. Every
// field of opts applies: a zero LockTimeout waits for the file's lock
// forever; InitialMmapSize sizes the first memory map, so a growing
// file does not remap (which waits for open readers); MaxSize caps the
// file, failing writes that would grow past it; NoSync skips fsync
// (unsafe: a machine crash can lose or corrupt committed data);
// ReadOnly takes a shared lock and cannot create the file. (relgraph
// opens store files through kv/wal, which puts a log in front of this
// engine.)
//
// A file that is not a bbolt file, or holds other buckets, is refused
// with ErrForeign; a damaged one (both meta pages bad, or shorter than
// its meta says) with an error wrapping kv.ErrCorrupt naming the damage.
func Open(path string, keyspaces []kv.Keyspace, opts kv.Options) (e *Engine, err error) {
	cfg, err := configOf(opts.Config)
	if err != nil {
		return nil, err
	}
	if err := preflight(path, opts.ReadOnly); err != nil {
		if _, named := err.(*fs.PathError); named {
			return nil, err
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer recoverInto(&err, debug.SetPanicOnFault(true))
	bo := &bbolt.Options{
		Timeout:         opts.LockTimeout,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: cfg.InitialMmapSize,
		MaxSize:         cfg.MaxSize,
		NoSync:          opts.NoSync,
		ReadOnly:        opts.ReadOnly,
	}
	db, err := bbolt.Open(path, 0o600, bo)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w (waited %v)", path, ErrLocked, opts.LockTimeout)
		}
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrForeign, err)
		}
		if _, named := err.(*fs.PathError); named {
			return nil, err // it names the path already
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e = &Engine{db: db, path: path, keyspaces: make(map[kv.Keyspace]bool, len(keyspaces)), readOnly: opts.ReadOnly}
	for _, ks := range keyspaces {
		e.keyspaces[ks] = true
	}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			if !e.keyspaces[kv.Keyspace(name)] {
				return fmt.Errorf("%w: it has a bucket %q", ErrForeign, name)
			}
			return nil
		})
	})
	if err == nil && !opts.ReadOnly {
		err = db.Update(func(tx *bbolt.Tx) error {
			for _, ks := range keyspaces {
				if _, err := tx.CreateBucketIfNotExists([]byte(ks)); err != nil {
					return fmt.Errorf("create keyspace %q: %w", ks, err)
				}
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return e, nil
}

// recoverInto is deferred by every call into bbolt, with the fault mode
// the call found: it restores that mode and turns a panic (a failed
// assertion in bbolt, or a memory fault on a damaged page) into an error
// wrapping kv.ErrCorrupt.
func recoverInto(err *error, faultMode bool) {
	debug.SetPanicOnFault(faultMode)
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: bbolt failed reading the file: %v", kv.ErrCorrupt, p)
	}
}

// Begin starts a bbolt transaction. Only one writable transaction runs at
// a time; Begin(true) waits for the current one to end. ctx is checked
// once: a local transaction does not wait on anything it could cancel.
func (e *Engine) Begin(ctx context.Context, writable bool) (_ kv.Txn, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if broken := e.broken.Load(); writable && broken != nil {
		return nil, fmt.Errorf("a commit failed on damaged data, reopen the store: %w", *broken)
	}
	defer recoverInto(&err, debug.SetPanicOnFault(true))
	tx, err := e.db.Begin(writable)
	if err != nil {
		return nil, err
	}
	return &txn{tx: tx, e: e, base: e.db.Info().Data, size: uintptr(tx.Size()), open: make([]openSpace, 0, 8)}, nil
}

// Close closes the file. It waits for open read transactions.
func (e *Engine) Close() error { return e.db.Close() }

// PageWrites is the number of page writes bbolt's commits have made
// since Open (its TxStats write count). Over a number of commits it
// gives the pages each writes, which is what a durable commit costs on
// a disk that charges by the page.
func (e *Engine) PageWrites() int64 {
	st := e.db.Stats()
	return st.TxStats.GetWrite()
}

// Path is the file's path.
func (e *Engine) Path() string { return e.path }

// Metrics (kv.Metered) are the file's size, its free pages and the page
// writes since Open.
func (e *Engine) Metrics() []kv.Metric {
	st := e.db.Stats()
	var size float64
	if info, err := os.Stat(e.path); err == nil {
		size = float64(info.Size())
	}
	return []kv.Metric{
		{Name: "store_file_bytes", Help: "Size of the store file.", Value: size},
		{Name: "store_free_pages", Help: "Pages of the store file free for reuse.", Value: float64(st.FreePageN + st.PendingPageN)},
		{Name: "store_page_writes_total", Help: "Pages written by the store file's commits since open.", Counter: true, Value: float64(st.TxStats.GetWrite())},
	}
}

// Snapshot writes a consistent copy of the whole file to w from a read
// transaction, so writers are not blocked (kv.Snapshotter). The copy
// is a bbolt file. It returns the bytes written.
func (e *Engine) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := e.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// CheckFile checks the file's page structure and returns every problem
// found, in one read transaction: first the page tree, read through
// plain file reads (file.go), then, if that is sound, bbolt's own check
// (free pages, reachability, key order), which trusts the tree.
func (e *Engine) CheckFile(ctx context.Context) []error {
	var errs []error
	err := e.db.View(func(tx *bbolt.Tx) (err error) {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := os.Open(e.db.Path())
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		// The transaction keeps the pages it reaches from being reused,
		// but not its meta page: read the metas now and find its own.
		m, err0, err1 := readMetas(f, info.Size())
		if err0 == nil && err1 == nil && m.txid != uint64(tx.ID()) {
			return fmt.Errorf("a commit overwrote the meta page of the check's transaction %d; run the check again", tx.ID())
		}
		// One damaged meta page: bbolt reads the other, so the store is
		// at that page's transaction. After a power cut during a commit
		// that was never acknowledged this loses nothing; otherwise it
		// lost the last commit. Either way the file is damaged.
		for i, err := range []error{err0, err1} {
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: meta page %d: %v; the store is read at the other meta page's transaction %d", kv.ErrCorrupt, i, err, m.txid))
			}
		}
		if err := m.check(info.Size()); err != nil {
			errs = append(errs, err)
			return nil
		}
		if walked := walkFile(f, m); len(walked) > 0 {
			errs = append(errs, walked...)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Compact copies every keyspace into a new file at dst, leaving out free
// pages (kv.Compacter). The engine stays usable. dst must not exist: it
// is created exclusively (an existing file is an error wrapping
// os.ErrExist, and is left alone), and removed again if the copy fails.
// Damage met on the way is an error wrapping kv.ErrCorrupt; damage
// inside values is copied as it is, for the caller's check of the copy
// to find.
func (e *Engine) Compact(ctx context.Context, dst string) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(dst) // this call made it
		}
	}()
	out, err := bbolt.Open(dst, 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	defer recoverInto(&err, debug.SetPanicOnFault(true))
	if err := bbolt.Compact(out, e.db, 64<<20); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

type txn struct {
	tx *bbolt.Tx
	e  *Engine
	// failed is the first panic a call of a writable transaction turned
	// into an error: bbolt's nodes may be half-changed, so later writes
	// and the commit fail with it.
	failed error
	// base and size are the address of bbolt's memory map and the bytes
	// of it holding the pages this transaction sees (the file's pages
	// below the meta's high water mark, all backed by the file).
	base, size uintptr
	// touched sums bytes read by touch, so the reads are not optimized
	// away.
	touched byte
	// open holds each keyspace's bucket once looked up, with a cursor
	// Get reuses: bbolt's own Get makes a cursor and its stack on every
	// call (a read-only transaction reopens the bucket too), which was a
	// fifth of an overwrite's allocations.
	open []openSpace
}

// openSpace is a keyspace's bucket in a transaction (nil: a read-only
// file lacks it) and the cursor Get seeks with.
type openSpace struct {
	ks kv.Keyspace
	b  *bbolt.Bucket
	c  *bbolt.Cursor
}

// checkSlice returns an error unless b, a key or value bbolt returned,
// can be read without faulting. A damaged page can give an element a
// length that runs past the file: no element is longer than the
// transaction's pages, and one that points into the map must end inside
// them. bbolt also returns keys and values it holds in memory (a write
// transaction's own, an unaligned inline bucket's copy): those are
// touched, a byte a page, under the caller's guard.
func (t *txn) checkSlice(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if uintptr(len(b)) > t.size {
		return fmt.Errorf("%w: an element of %d bytes is longer than the file's pages", kv.ErrCorrupt, len(b))
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if start-t.base < t.size { // start in the map (unsigned: below base wraps)
		if uintptr(len(b)) > t.size-(start-t.base) {
			return fmt.Errorf("%w: an element of %d bytes runs past the end of the file's pages", kv.ErrCorrupt, len(b))
		}
		return nil
	}
	for i := 0; i < len(b); i += 4096 {
		t.touched += b[i]
	}
	t.touched += b[len(b)-1]
	return nil
}

// guard is deferred by every method of a transaction with the fault
// mode it found; see recoverInto. A failure poisons a writable
// transaction.
func (t *txn) guard(err *error, faultMode bool) {
	debug.SetPanicOnFault(faultMode)
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: bbolt failed reading the file: %v", kv.ErrCorrupt, p)
		if t.tx.Writable() && t.failed == nil {
			t.failed = *err
		}
	}
}

// CheckKeyspace returns an error unless the engine was opened with ks.
func (e *Engine) CheckKeyspace(ks kv.Keyspace) error {
	if !e.keyspaces[ks] {
		return fmt.Errorf("kv: unknown keyspace %q", ks)
	}
	return nil
}

func (t *txn) bucket(ks kv.Keyspace) (*bbolt.Bucket, error) {
	s, err := t.space(ks)
	if err != nil {
		return nil, err
	}
	return s.b, nil
}

// space returns ks's bucket and cursor, looked up once per transaction.
func (t *txn) space(ks kv.Keyspace) (*openSpace, error) {
	if t.tx.DB() == nil {
		return nil, kv.ErrTxClosed
	}
	for i := range t.open {
		if t.open[i].ks == ks {
			return &t.open[i], nil
		}
	}
	if !t.e.keyspaces[ks] {
		return nil, fmt.Errorf("kv: unknown keyspace %q", ks)
	}
	b := t.tx.Bucket([]byte(ks))
	if b == nil && (t.tx.Writable() || !t.e.readOnly) {
		return nil, fmt.Errorf("kv: keyspace %q missing from the file", ks)
	}
	s := openSpace{ks: ks, b: b} // b nil: a file opened read-only that lacks the keyspace reads it as empty
	if b != nil {
		s.c = b.Cursor()
	}
	t.open = append(t.open, s)
	return &t.open[len(t.open)-1], nil
}

func (t *txn) Get(ks kv.Keyspace, key []byte) (_ []byte, err error) {
	defer t.guard(&err, debug.SetPanicOnFault(true))
	s, err := t.space(ks)
	if err != nil {
		return nil, err
	}
	if s.b == nil {
		return nil, nil
	}
	// Seek repositions the cursor from the root, so writes since its
	// last use do not matter; v is nil for a nested bucket (kv has none)
	// and empty but not nil for an empty value.
	k, v := s.c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, nil
	}
	if err := t.checkSlice(v); err != nil {
		return nil, err
	}
	return v, nil
}

func (t *txn) Put(ks kv.Keyspace, key, value []byte) (err error) {
	if !t.tx.Writable() {
		return kv.ErrReadOnly
	}
	if t.failed != nil {
		return t.failed
	}
	defer t.guard(&err, debug.SetPanicOnFault(true))
	b, err := t.bucket(ks)
	if err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return b.Put(key, value)
}

func (t *txn) Delete(ks kv.Keyspace, key []byte) (err error) {
	if !t.tx.Writable() {
		return kv.ErrReadOnly
	}
	if t.failed != nil {
		return t.failed
	}
	defer t.guard(&err, debug.SetPanicOnFault(true))
	b, err := t.bucket(ks)
	if err != nil {
		return err
	}
	return b.Delete(key)
}

func (t *txn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	b, err := t.bucket(ks)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return emptyCursor{}, nil
	}
	return &cursor{c: b.Cursor(), t: t}, nil
}

// emptyCursor walks a keyspace a read-only file lacks.
type emptyCursor struct{}

func (emptyCursor) First() ([]byte, []byte)      { return nil, nil }
func (emptyCursor) Seek([]byte) ([]byte, []byte) { return nil, nil }
func (emptyCursor) Next() ([]byte, []byte)       { return nil, nil }
func (emptyCursor) Err() error                   { return nil }

// cursor is a bbolt cursor whose moves cannot crash: a damaged page
// ends the walk (a nil key) with the error in Err.
type cursor struct {
	c   *bbolt.Cursor
	t   *txn
	err error
}

// guard is deferred by every move with the fault mode it found: a
// panic ends the walk with the error in Err. bbolt panics too on a move
// after its transaction ended: that is kv.ErrTxClosed, not damage.
func (c *cursor) guard(k, v *[]byte, faultMode bool) {
	debug.SetPanicOnFault(faultMode)
	if p := recover(); p != nil {
		if c.t.tx.DB() == nil {
			c.err = kv.ErrTxClosed
		} else {
			c.fail(fmt.Errorf("%w: bbolt failed reading the file: %v", kv.ErrCorrupt, p))
		}
		*k, *v = nil, nil
	}
}

func (c *cursor) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	if c.t.tx.Writable() && c.t.failed == nil {
		c.t.failed = err
	}
}

// checked returns k and v if they can be read safely; otherwise it ends
// the walk with the error in Err. A walk that failed stays ended.
func (c *cursor) checked(k, v []byte) ([]byte, []byte) {
	err := c.err
	if err == nil {
		if err = c.t.checkSlice(k); err == nil {
			err = c.t.checkSlice(v)
		}
	}
	if err != nil {
		c.fail(err)
		return nil, nil
	}
	return k, v
}

func (c *cursor) First() (k, v []byte) {
	defer c.guard(&k, &v, debug.SetPanicOnFault(true))
	return c.checked(c.c.First())
}

func (c *cursor) Seek(seek []byte) (k, v []byte) {
	defer c.guard(&k, &v, debug.SetPanicOnFault(true))
	return c.checked(c.c.Seek(seek))
}

func (c *cursor) Next() (k, v []byte) {
	defer c.guard(&k, &v, debug.SetPanicOnFault(true))
	return c.checked(c.c.Next())
}

func (c *cursor) Err() error { return c.err }

func (t *txn) Writable() bool { return t.tx.Writable() }

// WriteTo writes the whole file as of the transaction's snapshot (a
// bbolt file, what Snapshot writes): io.WriterTo, for an engine that
// chooses the snapshot itself (kv/wal). A damaged page is an error.
func (t *txn) WriteTo(w io.Writer) (n int64, err error) {
	if t.tx.DB() == nil {
		return 0, kv.ErrTxClosed
	}
	defer t.guard(&err, debug.SetPanicOnFault(true))
	return t.tx.WriteTo(w)
}

// Commit commits, unless a call of the transaction met damaged data. If
// bbolt panics inside the commit, the transaction is rolled back and
// the engine refuses later writes: its in-memory state is suspect.
func (t *txn) Commit() (err error) {
	if t.tx.DB() == nil {
		return kv.ErrTxClosed
	}
	if t.failed != nil {
		t.Rollback()
		return t.failed
	}
	defer func() {
		if err != nil && errors.Is(err, kv.ErrCorrupt) {
			t.e.broken.CompareAndSwap(nil, &err)
			t.Rollback()
		}
	}()
	defer t.guard(&err, debug.SetPanicOnFault(true))
	return t.tx.Commit()
}

func (t *txn) Rollback() (err error) {
	if t.tx.DB() == nil {
		return kv.ErrTxClosed
	}
	defer t.guard(&err, debug.SetPanicOnFault(true))
	return t.tx.Rollback()
}
