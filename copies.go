package relgraph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// The store's copies and checks of its file: a backup to a writer, a
// compacted copy, a copy into another store (on another engine too), a
// digest to compare copies, and the engine's check of its own file. Each
// uses a capability the engine names in package kv, and fails with
// ErrInvalid, saying so, on an engine without it.

// Backup writes a consistent copy of the whole store to w from one read
// snapshot: writers go on meanwhile. The copy is what the engine opens
// (for bbolt, a store file). It returns the bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	b, ok := s.engine.(kv.Snapshotter)
	if !ok {
		return 0, invalidf("backup: the engine cannot copy itself (it is no kv.Snapshotter); copy the store with CopyTo")
	}
	n, err := b.Snapshot(ctx, w)
	if err != nil {
		return n, storageErr("backup", err)
	}
	return n, nil
}

// CheckFile checks the structure of the engine's own file beneath the
// keyspaces (for bbolt: meta pages, page tree, free pages) and returns
// every problem found. An engine without a file to check (etcd) has
// none. It reads the whole file; a ctx that ends between its passes is
// reported as a problem.
func (s *Store) CheckFile(ctx context.Context) []error {
	if c, ok := s.engine.(kv.FileChecker); ok {
		return c.CheckFile(ctx)
	}
	return nil
}

// Compact writes a compacted copy of the store (no free space) to a new
// file at dst, then verifies it (Verify) and removes it if that fails.
// dst must not exist: an existing file is refused (ErrInvalid, wrapping
// os.ErrExist) and left as it was; Compact removes only the file it
// made. The source's file must check clean first: a damaged file would
// be read at an older commit, or its damage copied. Writers go on
// meanwhile. ctx bounds the checkpoint before the copy and the check
// after it; the copy itself, once begun, runs to its end.
func (s *Store) Compact(ctx context.Context, dst string) error {
	c, ok := s.engine.(kv.Compacter)
	if !ok {
		return invalidf("compact: the engine has no file to compact (it is no kv.Compacter)")
	}
	if problems := s.CheckFile(ctx); len(problems) > 0 {
		return newError(ErrCorrupt, problems[0], "compact: the store's file has %d problem(s), run Check; the first", len(problems))
	}
	if err := c.Compact(ctx, dst); err != nil {
		if errors.Is(err, os.ErrExist) {
			return newError(ErrInvalid, err, "compact: %s already exists; name a new file", dst)
		}
		return storageErr("compact", err) // the engine removed what it made
	}
	if err := Verify(ctx, dst); err != nil {
		os.Remove(dst) // made by c.Compact above
		return err
	}
	return nil
}

// Verify opens the store at location read-only and checks its file
// (CheckFile) and its invariants (Check): nil when both are clean, else
// an error saying how many problems there are and the first. It is how
// a copy (a backup, a compaction) is proved before it is kept.
func Verify(ctx context.Context, location string) error {
	s, err := Open(location, &Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if problems := s.CheckFile(ctx); len(problems) > 0 {
		return newError(ErrCorrupt, problems[0], "%s: %d problem(s) in the file, the first", location, len(problems))
	}
	problems, err := s.Check(ctx)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return corruptf("%s: %d violation(s), the first: %s", location, len(problems), problems[0])
	}
	return nil
}

// Copy chunks: what one transaction of the target takes, small enough
// for etcd's default limits (128 operations, 1.5 MiB a request).
const (
	copyChunkKeys  = 100
	copyChunkBytes = 1 << 20
)

// CopyTo copies every key of every keyspace, from one snapshot of s,
// into dst, a new store (on any engine) that holds nothing yet and that
// nothing else writes to meanwhile. It writes through dst's engine in
// chunks that fit etcd's limits, then compares the two stores'
// digests, loads dst's schema and runs Check on dst: an error says what
// differs.
// It returns the keys copied. Writers of s go on meanwhile.
func (s *Store) CopyTo(ctx context.Context, dst *Store) (int, error) {
	if err := dst.refuseUnlessEmpty(ctx); err != nil {
		return 0, err
	}
	src, err := s.engine.Begin(ctx, false)
	if err != nil {
		return 0, beginErr(err)
	}
	defer src.Rollback()
	total := 0
	for _, ks := range index.All {
		n, err := copyKeyspace(ctx, src, dst.engine, ks)
		total += n
		if err != nil {
			return total, err
		}
	}
	want, err := digestTx(src)
	if err != nil {
		return total, err
	}
	got, err := dst.Digest(ctx)
	if err != nil {
		return total, err
	}
	if got != want {
		return total, corruptf("copy: the copy's digest %s differs from the source's %s", got, want)
	}
	// After the digest: on a shared engine it bumps the schema's
	// generation, a key the source may not have.
	if err := dst.reloadSchema(ctx); err != nil {
		return total, err
	}
	problems, err := dst.Check(ctx)
	if err != nil {
		return total, err
	}
	if len(problems) > 0 {
		return total, corruptf("copy: the copy has %d violation(s), the first: %s", len(problems), problems[0])
	}
	return total, nil
}

// refuseUnlessEmpty refuses a store holding anything but its format
// version.
func (s *Store) refuseUnlessEmpty(ctx context.Context) error {
	return s.View(ctx, func(tx *Tx) error {
		for _, ks := range index.All {
			c, err := tx.kv.Cursor(ks)
			if err != nil {
				return storageErr("cursor", err)
			}
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if ks != index.Meta || !bytes.Equal(k, index.FormatKey) {
					return invalidf("copy: the target is not empty (keyspace %s holds data): copy into a new store only", ks)
				}
			}
			if err := cursorErr(c); err != nil {
				return err
			}
		}
		return nil
	})
}

// copyKeyspace copies keyspace ks from src into dst in chunks.
func copyKeyspace(ctx context.Context, src kv.Tx, dst kv.Engine, ks kv.Keyspace) (int, error) {
	c, err := src.Cursor(ks)
	if err != nil {
		return 0, storageErr("cursor", err)
	}
	var keys, vals [][]byte
	size, total := 0, 0
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		w, err := dst.Begin(ctx, true)
		if err != nil {
			return beginErr(err)
		}
		defer w.Rollback()
		for i := range keys {
			if err := w.Put(ks, keys[i], vals[i]); err != nil {
				return storageErr("copy", err)
			}
		}
		if err := w.Commit(); err != nil {
			return storageErr(fmt.Sprintf("copy %s", ks), err)
		}
		total += len(keys)
		keys, vals, size = keys[:0], vals[:0], 0
		return nil
	}
	for k, v := c.First(); k != nil; k, v = c.Next() {
		keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
		if size += len(k) + len(v); len(keys) == copyChunkKeys || size >= copyChunkBytes {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := cursorErr(c); err != nil {
		return total, err
	}
	return total, flush()
}

// reloadSchema loads the schema from the engine, after a copy wrote it
// beneath the store, and installs it as a schema change: on a shared
// engine that bumps the stored generation, so processes already open on
// the copy's prefix read it too.
func (s *Store) reloadSchema(ctx context.Context) error {
	return s.updateSchema(ctx, func(tx *Tx) error {
		sc, err := loadSchema(tx.kv)
		if err == nil {
			tx.newSchema = sc
		}
		return err
	})
}

// Digest returns a SHA-256 over every key and value of every keyspace,
// in order, from one snapshot: two stores with the same digest hold the
// same data byte for byte. It reads the whole store.
func (s *Store) Digest(ctx context.Context) (string, error) {
	var digest string
	err := s.View(ctx, func(tx *Tx) error {
		var err error
		digest, err = digestTx(tx.kv)
		return err
	})
	return digest, err
}

func digestTx(tx kv.Tx) (string, error) {
	h := sha256.New()
	var n [4]byte
	for _, ks := range index.All {
		c, err := tx.Cursor(ks)
		if err != nil {
			return "", storageErr("cursor", err)
		}
		h.Write([]byte(ks))
		for k, v := c.First(); k != nil; k, v = c.Next() {
			binary.BigEndian.PutUint32(n[:], uint32(len(k)))
			h.Write(n[:])
			h.Write(k)
			binary.BigEndian.PutUint32(n[:], uint32(len(v)))
			h.Write(n[:])
			h.Write(v)
		}
		if err := cursorErr(c); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
