package relgraph

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// The schema (databases, relation types, the feed's configuration) is
// read once at Open and kept in memory. On a store file that is exact:
// one process holds the file, and every schema change goes through its
// committer. On a shared engine (kv.Shared: etcd) another process can
// change the schema meanwhile, so the store keeps the schema's
// generation with it (index.SchemaGenKey, one more per schema change)
// and every transaction reads the stored generation first: one more
// read, which an optimistic engine then validates at commit like any
// other, so a write never commits under a schema that changed before it
// did. A generation other than the one kept means the schema is read
// again in that transaction.

// shared reports whether other processes can write the engine.
func (s *Store) shared() bool {
	sh, ok := s.engine.(kv.Shared)
	return ok && sh.SharedWriters()
}

// readSchemaGen reads the stored schema generation (0 when absent).
func readSchemaGen(tx kv.Tx) (uint64, error) {
	v, err := tx.Get(index.Meta, index.SchemaGenKey)
	if err != nil {
		return 0, storageErr("read schema generation", err)
	}
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, corruptf("meta %q: %d bytes, want 8", index.SchemaGenKey, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// writeSchemaGen stores gen as the schema's generation.
func writeSchemaGen(tx kv.Tx, gen uint64) error {
	if err := tx.Put(index.Meta, index.SchemaGenKey, binary.BigEndian.AppendUint64(nil, gen)); err != nil {
		return storageErr("write schema generation", err)
	}
	return nil
}

// currentSchema is the schema a transaction on txn runs under: the one
// kept, or, on a shared engine where another process changed it, the
// one stored, read in txn and kept from then on.
func (s *Store) currentSchema(txn kv.Tx) (*schema, error) {
	sc := s.schema.Load()
	if !s.shared() {
		return sc, nil
	}
	checked := time.Now()
	gen, err := readSchemaGen(txn)
	if err != nil {
		return sc, err
	}
	s.schemaChecked.Store(checked.UnixNano())
	if gen == sc.gen {
		return sc, nil
	}
	fresh, err := loadSchema(txn)
	if err != nil {
		return nil, err
	}
	fresh.gen = gen
	s.keepSchema(fresh)
	return fresh, nil
}

// keepSchema installs sc as the store's schema. On a shared engine it
// keeps the newer of sc and what another transaction may have kept
// meanwhile (generations only grow), so a transaction that ran under an
// older generation never puts it back.
func (s *Store) keepSchema(sc *schema) {
	if !s.shared() {
		s.schema.Store(sc)
		return
	}
	for {
		kept := s.schema.Load()
		if kept.gen >= sc.gen || s.schema.CompareAndSwap(kept, sc) {
			return
		}
	}
}

// latestSchema is the schema for the accessors that run no transaction
// of their own (Database, RelationTypes, …): the one kept. On a shared
// engine, unless a transaction checked the stored generation within
// schemaRecheck, it is checked first (one read; when the engine cannot
// be reached, the kept schema answers): another process's change
// reaches the accessors within schemaRecheck, and the HTTP API, which
// calls them for every request, pays no round trip per call.
func (s *Store) latestSchema() *schema {
	if !s.shared() || time.Since(time.Unix(0, s.schemaChecked.Load())) < schemaRecheck {
		return s.schema.Load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), accessorTimeout)
	defer cancel()
	var sc *schema
	if err := s.View(ctx, func(tx *Tx) error { sc = tx.schema; return nil }); err != nil {
		return s.schema.Load()
	}
	return sc
}

// schemaRecheck is how stale the accessors' schema may be on a shared
// engine; accessorTimeout bounds their check.
const (
	schemaRecheck   = 100 * time.Millisecond
	accessorTimeout = 10 * time.Second
)

// schemaChanged is called by a transaction that changed the schema from
// was to now, before it commits: on a shared engine it stores the next
// generation, which now carries.
func (s *Store) schemaChanged(txn kv.Tx, was, now *schema) error {
	if !s.shared() {
		return nil
	}
	now.gen = was.gen + 1
	return writeSchemaGen(txn, now.gen)
}
