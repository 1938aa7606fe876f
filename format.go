package relgraph

import (
	"context"
	"errors"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// FormatVersion is written into every store. Open refuses a store with
// another version (see record.Version).
const FormatVersion = record.Version

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
		if string(v) != FormatVersion {
			err = formatf("store format %q, this relgraph reads %q: open it with the relgraph that wrote it (export its profiles, or serve it), or start a new store", truncate(string(v)), FormatVersion)
		} else {
			sc, err = loadSchema(txn)
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

// openErr gives an engine's open error its kind. The engine's error
// names the store.
func openErr(err error) error {
	switch {
	case errors.Is(err, kv.ErrForeign):
		return &Error{Kind: ErrFormat, Err: err}
	case errors.Is(err, kv.ErrCorrupt):
		return &Error{Kind: ErrCorrupt, Err: err}
	case errors.Is(err, kv.ErrReadOnly), errors.Is(err, kv.ErrNoEngine):
		return &Error{Kind: ErrInvalid, Err: err}
	}
	return &Error{Kind: ErrStorage, Err: err}
}

// beginErr gives an error of Begin its kind: a context's error is
// returned as it is.
func beginErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return storageErr("begin", err)
}
