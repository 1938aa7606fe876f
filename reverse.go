package relgraph

import (
	"bytes"
	"context"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// Relations seen from their B side: who relates to a profile. Every
// relation has a reverse entry, rel ‖ B ‖ A (index.ReverseEdges), written
// in the relation's own transaction, so the reverse list is exact in
// any snapshot.

// ReverseQuery selects the relations of one relation type whose B is
// the profile B designates (in the type's database_b).
type ReverseQuery struct {
	RelationType uint32
	B            Locator
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Cursor, the NextCursor of the previous page, resumes after it in
	// O(log n).
	Cursor string
	// Count asks for Total, which costs a walk of B's reverse entries
	// (keys only, no record read): O(relations B has). Without it,
	// Total is -1.
	Count bool
}

// ScanReverse calls fn with each relation of the page q selects, ordered
// by A's id, as a view read in place (as ScanRelations: valid during the
// call only). It returns Total (with q.Count, the number of relations B
// has of this type, from the same snapshot; else -1) and NextCursor
// (empty on the last page). A page costs one seek, then a cursor step
// and a point read of the relation per item. Errors: 404 unknown type
// or no match, 409 ambiguous, 400 bad paging, ErrCorrupt for a record
// that does not decode or a reverse entry without its relation.
func (tx *Tx) ScanReverse(q ReverseQuery, fn func(*RelationView) error) (total int64, nextCursor string, err error) {
	rt, err := tx.schema.rel(q.RelationType)
	if err != nil {
		return 0, "", err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return 0, "", err
	}
	dbB, err := tx.schema.db(rt.DatabaseB)
	if err != nil {
		return 0, "", err
	}
	b, err := tx.match(dbB, q.B, "profile_b")
	if err != nil {
		return 0, "", err
	}
	prefix := index.ReverseEdgePrefix(rt.ID, b)
	start, err := pageStart(prefix, q.Cursor)
	if err != nil {
		return 0, "", err
	}
	total = -1
	if q.Count {
		if total, err = tx.countPrefix(index.ReverseEdges, prefix); err != nil {
			return 0, "", err
		}
	}
	c, err := tx.kv.Cursor(index.ReverseEdges)
	if err != nil {
		return 0, "", storageErr("cursor", err)
	}
	var buf [8]record.Weight
	var view RelationView
	var lastA ProfileID
	var edge []byte // the relation's key, rebuilt in place per item
	n := 0
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if n == limit {
			nextCursor = lastA.String()
			break
		}
		if len(k) != len(prefix)+index.IDLen {
			return 0, "", corruptf("%s: malformed reverse edge key", index.Describe(index.ReverseEdges, k))
		}
		lastA = ProfileID(k[len(prefix):])
		edge = index.AppendEdgeKey(edge[:0], rt.ID, lastA, b)
		v, err := tx.kv.Get(index.Adjacency, edge)
		if err != nil {
			return 0, "", storageErr("read relation", err)
		}
		if v == nil {
			return 0, "", corruptf("%s has no relation", index.Describe(index.ReverseEdges, k))
		}
		if err := view.read(rt, lastA, b, v, buf[:0]); err != nil {
			return 0, "", err
		}
		if err := fn(&view); err != nil {
			return 0, "", err
		}
		n++
	}
	if err := cursorErr(c); err != nil {
		return 0, "", err
	}
	return total, nextCursor, nil
}

// countPrefix counts the keys of ks under prefix.
func (tx *Tx) countPrefix(ks kv.Keyspace, prefix []byte) (int64, error) {
	c, err := tx.kv.Cursor(ks)
	if err != nil {
		return 0, storageErr("cursor", err)
	}
	var n int64
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n, cursorErr(c)
}

// ScanReverse runs Tx.ScanReverse in a snapshot.
func (s *Store) ScanReverse(ctx context.Context, q ReverseQuery, fn func(*RelationView) error) (total int64, nextCursor string, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		total, nextCursor, err = tx.ScanReverse(q, fn)
		return err
	})
	return total, nextCursor, err
}
