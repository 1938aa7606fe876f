// Package bolt implements the kv seam on go.etcd.io/bbolt: one top-level
// bucket per keyspace, one bbolt transaction per kv transaction.
//
// This is the only package of relgraph that imports bbolt.
package bolt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/relgraph/relgraph/kv"
)

// Options are the bbolt settings relgraph exposes.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process.
	// Zero means wait forever; relgraph passes a non-zero default.
	Timeout time.Duration
	// InitialMmapSize sizes the first memory map, in bytes, so a growing
	// file does not remap (which blocks writers behind readers).
	InitialMmapSize int
	// MaxSize caps the file size; a write that would grow past it fails.
	// Zero means no cap.
	MaxSize int
	// NoSync skips fsync on commit. Unsafe: a crash can lose or corrupt
	// committed data. For tests and bulk loads that can be redone.
	NoSync bool
	// ReadOnly opens the file with a shared lock; writes fail.
	ReadOnly bool
}

// Engine is a bbolt file used through the kv seam.
type Engine struct {
	db        *bbolt.DB
	keyspaces map[kv.Keyspace]bool
}

// ErrForeign is returned by Open for a file that is not a bbolt file,
// is damaged beyond opening, or holds buckets other than the keyspaces.
var ErrForeign = errors.New("not a store file of this application")

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("store file is locked by another process")

// Open opens or creates the bbolt file at path and creates every keyspace
// given (in one transaction, unless the file is read-only). It uses the
// hash-map freelist, which keeps commits cheap on large files.
func Open(path string, opts Options, keyspaces []kv.Keyspace) (*Engine, error) {
	bo := &bbolt.Options{
		Timeout:         opts.Timeout,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: opts.InitialMmapSize,
		MaxSize:         opts.MaxSize,
		NoSync:          opts.NoSync,
		ReadOnly:        opts.ReadOnly,
	}
	db, err := bbolt.Open(path, 0o600, bo)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w (waited %v)", path, ErrLocked, opts.Timeout)
		}
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrForeign, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	e := &Engine{db: db, keyspaces: make(map[kv.Keyspace]bool, len(keyspaces))}
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

// Begin starts a bbolt transaction. Only one writable transaction runs at
// a time; Begin(true) waits for the current one to end.
func (e *Engine) Begin(writable bool) (kv.Txn, error) {
	tx, err := e.db.Begin(writable)
	if err != nil {
		return nil, err
	}
	return &txn{tx: tx, e: e}, nil
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
func (e *Engine) Path() string { return e.db.Path() }

// WriteTo writes a consistent copy of the whole file to w from a read
// transaction, so writers are not blocked. It returns the bytes written.
func (e *Engine) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := e.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// CheckFile runs bbolt's own page-level consistency check and returns
// every problem it reports.
func (e *Engine) CheckFile() []error {
	var errs []error
	err := e.db.View(func(tx *bbolt.Tx) error {
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
// pages. The engine stays usable; dst must not exist.
func (e *Engine) Compact(dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("compact: %s already exists", dst)
	}
	out, err := bbolt.Open(dst, 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := bbolt.Compact(out, e.db, 64<<20); err != nil {
		out.Close()
		return fmt.Errorf("compact: %w", err)
	}
	return out.Close()
}

type txn struct {
	tx *bbolt.Tx
	e  *Engine
}

func (t *txn) bucket(ks kv.Keyspace) (*bbolt.Bucket, error) {
	if t.tx.DB() == nil {
		return nil, kv.ErrTxClosed
	}
	if !t.e.keyspaces[ks] {
		return nil, fmt.Errorf("kv: unknown keyspace %q", ks)
	}
	b := t.tx.Bucket([]byte(ks))
	if b == nil {
		return nil, fmt.Errorf("kv: keyspace %q missing from the file", ks)
	}
	return b, nil
}

func (t *txn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	b, err := t.bucket(ks)
	if err != nil {
		return nil, err
	}
	v := b.Get(key)
	if v == nil {
		// bbolt returns nil both for absence and, in principle, for an
		// empty value; tell them apart with a cursor.
		if k, _ := b.Cursor().Seek(key); k != nil && string(k) == string(key) {
			return []byte{}, nil
		}
	}
	return v, nil
}

func (t *txn) Put(ks kv.Keyspace, key, value []byte) error {
	if !t.tx.Writable() {
		return kv.ErrReadOnly
	}
	b, err := t.bucket(ks)
	if err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return b.Put(key, value)
}

func (t *txn) Delete(ks kv.Keyspace, key []byte) error {
	if !t.tx.Writable() {
		return kv.ErrReadOnly
	}
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
	return boltCursor{b.Cursor()}, nil
}

// boltCursor is a bbolt cursor, which cannot fail.
type boltCursor struct{ *bbolt.Cursor }

func (boltCursor) Err() error { return nil }

func (t *txn) Writable() bool { return t.tx.Writable() }

func (t *txn) Commit() error {
	if t.tx.DB() == nil {
		return kv.ErrTxClosed
	}
	return t.tx.Commit()
}

func (t *txn) Rollback() error {
	if t.tx.DB() == nil {
		return kv.ErrTxClosed
	}
	return t.tx.Rollback()
}
