package relgraph

import (
	"bytes"
	"context"
	"math"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// RelationRequest names a relation by type and by a locator per side,
// with the property values of the write.
type RelationRequest struct {
	// RelationType is the rel_id.
	RelationType uint32
	// A finds the recipient in the type's DatabaseA, B the initiator in
	// its DatabaseB.
	A, B Locator
	// Weights are the property values: for Overwrite, a nil value
	// removes the property; for Modify, the deltas.
	Weights map[string]any
}

// RelationResult is what a relation write did.
type RelationResult struct {
	ProfileA     ProfileID
	ProfileB     ProfileID
	RelationType uint32
	// Created is true when the relation did not exist before the call.
	Created bool
}

// relationWrite is a resolved request: both profiles found, the stored
// relation (if any) loaded.
type relationWrite struct {
	rt       *RelationType
	a, b     ProfileID
	old      *record.Relation // nil: no relation yet; else &loaded
	loaded   record.Relation
	oldBytes []byte
	edge     []byte   // the relation's key
	op       ChangeOp // the operation, for the change feed
}

// resolve finds A and B and loads the relation between them, for a
// write by operation op.
func (tx *Tx) resolve(req RelationRequest, op ChangeOp) (*relationWrite, error) {
	rt, err := tx.schema.rel(req.RelationType)
	if err != nil {
		return nil, err
	}
	w := &relationWrite{rt: rt, op: op}
	dbA, err := tx.schema.db(rt.DatabaseA)
	if err != nil {
		return nil, corruptf("relation type %d: database_a %d missing", rt.ID, rt.DatabaseA)
	}
	dbB, err := tx.schema.db(rt.DatabaseB)
	if err != nil {
		return nil, corruptf("relation type %d: database_b %d missing", rt.ID, rt.DatabaseB)
	}
	if w.a, err = tx.match(dbA, req.A, "profile_a"); err != nil {
		return nil, err
	}
	if w.b, err = tx.match(dbB, req.B, "profile_b"); err != nil {
		return nil, err
	}
	w.edge = tx.appendKept(index.EdgeKeyLen, func(b []byte) []byte { return index.AppendEdgeKey(b, rt.ID, w.a, w.b) })
	if _, err := w.load(tx); err != nil {
		return nil, err
	}
	return w, nil
}

// load reads the relation at w.edge, if there is one, into w.old (a
// copy of its bytes in w.oldBytes, the relation decoded into w.loaded).
func (w *relationWrite) load(tx *Tx) (found bool, err error) {
	v, err := tx.kv.Get(index.Adjacency, w.edge)
	if err != nil {
		return false, storageErr("read relation", err)
	}
	if v == nil {
		return false, nil
	}
	w.oldBytes = bytes.Clone(v)
	if err := decodeRelationInto(w.rt, w.rt.lookup, w.a, w.b, w.oldBytes, &w.loaded); err != nil {
		return false, err
	}
	w.old = &w.loaded
	return true, nil
}

// reverseKey is the key of the relation's reverse edge, carved from
// tx's slab.
func (w *relationWrite) reverseKey(tx *Tx) []byte {
	return tx.appendKept(index.ReverseEdgeKeyLen, func(b []byte) []byte { return index.AppendReverseEdgeKey(b, w.rt.ID, w.b, w.a) })
}

func (w *relationWrite) result(created bool) RelationResult {
	return RelationResult{ProfileA: w.a, ProfileB: w.b, RelationType: w.rt.ID, Created: created}
}

func (w *relationWrite) oldWeights() Weights {
	if w.old == nil {
		return nil
	}
	return w.old.Weights
}

// store validates the counter change, then writes the relation with the
// given weights (nil: delete it), its reverse edge, and A's counter
// (with its top lists). Nothing is written if validation fails or if the
// new relation is byte-identical to the stored one.
func (tx *Tx) store(w *relationWrite, weights Weights) error {
	if weights != nil && w.old != nil && sameWeights(w.old.Weights, weights) {
		return nil // byte-identical: write nothing
	}
	created := record.Nanos(tx.now)
	if w.old != nil {
		created = w.old.Created
	}
	return tx.storeAt(w, weights, created, record.Nanos(tx.now))
}

// storeAt is store with the relation's times given (RestoreRelation),
// writing even weights equal to the stored ones.
func (tx *Tx) storeAt(w *relationWrite, weights Weights, created, updated int64) error {
	var val []byte
	if weights != nil {
		var err error
		if val, err = tx.encodeRelation(&record.Relation{Weights: weights, Created: created, Updated: updated}); err != nil {
			return err
		}
		if bytes.Equal(val, w.oldBytes) {
			return nil // the same bytes (a restore run again): nothing to write, no change
		}
	}
	change, err := tx.planCounter(w.rt, w.a, w.b, w.oldWeights(), weights)
	if err != nil {
		return err
	}
	// Validation is done; from here on only writes.
	if weights == nil {
		if err := tx.kv.Delete(index.Adjacency, w.edge); err != nil {
			return storageErr("delete relation", err)
		}
		if err := tx.kv.Delete(index.ReverseEdges, w.reverseKey(tx)); err != nil {
			return storageErr("delete reverse relation", err)
		}
	} else {
		if err := tx.kv.Put(index.Adjacency, w.edge, val); err != nil {
			return storageErr("write relation", err)
		}
		if w.old == nil {
			if err := tx.kv.Put(index.ReverseEdges, w.reverseKey(tx), nil); err != nil {
				return storageErr("write reverse relation", err)
			}
		}
	}
	if err := change.write(tx); err != nil {
		return err
	}
	return tx.relationChange(w, val)
}

// Overwrite is relations/edit (docs/spec.md §4): each property sent replaces its
// stored value, a nil value removes it, properties not sent are kept;
// with no relation yet it is created. Weights must not be empty (400).
// If the result is byte-identical to the stored relation, nothing is
// written. Errors: 404 unknown relation type or no match; 409 ambiguous
// match; 400 bad weights or locators. Everything it changes (relation,
// reverse edge, counter) is written in tx, or nothing.
// Cost: two matches, one relation read, two or three writes; reading all
// of A's relations when a top list must be refilled (see refillTop).
func (tx *Tx) Overwrite(req RelationRequest) (RelationResult, error) {
	if len(req.Weights) == 0 {
		return RelationResult{}, invalidf("weights: required and must not be empty")
	}
	w, err := tx.resolve(req, OpOverwrite)
	if err != nil {
		return RelationResult{}, err
	}
	// The request's weights are checked straight into the next map, not
	// into a map of their own first: one map an overwrite less. next is
	// this call's own, so an invalid weight leaves nothing changed.
	next := make(Weights, len(w.oldWeights())+len(req.Weights))
	for k, v := range w.oldWeights() {
		next[k] = v
	}
	for k, v := range req.Weights {
		n, err := checkWeight(w.rt, k, v, true)
		if err != nil {
			return RelationResult{}, err
		}
		if n == nil {
			delete(next, k)
		} else {
			next[k] = n
		}
	}
	if err := tx.store(w, next); err != nil {
		return RelationResult{}, err
	}
	return w.result(w.old == nil), nil
}

// Modify is relations/strengthen (docs/spec.md §4): each int or float
// value is added to the stored one (missing counts as 0); negative
// values decrease. A bool or string value is set, as Overwrite does (the
// platform's own example strengthens with "is_online": true). The
// relation is created if absent. A fraction for an int property, a nil
// value, or a result outside int64 (or a non-finite float) is a 400 and
// nothing is written. Other errors as Overwrite.
func (tx *Tx) Modify(req RelationRequest) (RelationResult, error) {
	if len(req.Weights) == 0 {
		return RelationResult{}, invalidf("weights: required and must not be empty")
	}
	w, err := tx.resolve(req, OpStrengthen)
	if err != nil {
		return RelationResult{}, err
	}
	deltas, err := checkWeights(w.rt, req.Weights)
	if err != nil {
		return RelationResult{}, err
	}
	next := Weights{}
	for k, v := range w.oldWeights() {
		next[k] = v
	}
	for name, d := range deltas {
		switch d := d.(type) {
		case int64:
			cur, _ := next[name].(int64)
			sum, err := addInt(cur, d)
			if err != nil {
				return RelationResult{}, invalidf("property %q: %d + %d overflows int64", name, cur, d)
			}
			next[name] = sum
		case float64:
			cur, _ := next[name].(float64)
			sum := cur + d
			if math.IsInf(sum, 0) {
				return RelationResult{}, invalidf("property %q: %g + %g overflows float64", name, cur, d)
			}
			next[name] = sum
		default: // bool or string: set
			next[name] = d
		}
	}
	if err := tx.store(w, next); err != nil {
		return RelationResult{}, err
	}
	return w.result(w.old == nil), nil
}

// Attach is relations/attach (docs/spec.md §4): it creates the relation with the
// given weights (which may be empty) if it is absent; if present it
// changes nothing and succeeds with Created false. Errors as Overwrite.
func (tx *Tx) Attach(req RelationRequest) (RelationResult, error) {
	w, err := tx.resolve(req, OpAttach)
	if err != nil {
		return RelationResult{}, err
	}
	weights, err := checkWeights(w.rt, req.Weights)
	if err != nil {
		return RelationResult{}, err
	}
	if w.old != nil {
		return w.result(false), nil
	}
	if err := tx.store(w, weights); err != nil {
		return RelationResult{}, err
	}
	return w.result(true), nil
}

// Detach is relations/detach (docs/spec.md §4): it deletes the relation, with
// its reverse edge, and takes it out of A's counter and top lists.
// An absent relation is a 404 and changes nothing. Weights are ignored.
func (tx *Tx) Detach(req RelationRequest) (RelationResult, error) {
	w, err := tx.resolve(req, OpDetach)
	if err != nil {
		return RelationResult{}, err
	}
	if w.old == nil {
		return RelationResult{}, notFoundf("relation type %d: no relation from profile_b %s to profile_a %s", w.rt.ID, w.b, w.a)
	}
	if err := tx.store(w, nil); err != nil {
		return RelationResult{}, err
	}
	return w.result(false), nil
}

// deleteRelationsOf deletes every relation profile id of database db is
// on: as A (its edges, their reverse edges, its counter) and as B
// (each edge, its reverse edge, and its share of the A profile's
// counter and top lists).
func (tx *Tx) deleteRelationsOf(db uint32, id ProfileID) error {
	for _, rt := range tx.schema.sortedRels() {
		if rt.DatabaseA == db {
			if err := tx.deleteAsA(rt, id); err != nil {
				return err
			}
		}
		if rt.DatabaseB == db {
			if err := tx.deleteAsB(rt, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteAsA removes everything keyed under rel ‖ a in the adjacency
// keyspace (counter, relations) and the reverse edges of its
// relations.
func (tx *Tx) deleteAsA(rt *RelationType, a ProfileID) error {
	keys, vals, err := tx.entriesWithPrefix(index.Adjacency, index.AdjPrefix(rt.ID, a))
	if err != nil {
		return err
	}
	edges := index.EdgePrefix(rt.ID, a)
	for i, k := range keys {
		if err := tx.kv.Delete(index.Adjacency, k); err != nil {
			return storageErr("delete relation data", err)
		}
		if !bytes.HasPrefix(k, edges) {
			continue // the counter
		}
		if len(k) != len(edges)+index.IDLen {
			return corruptf("%s: malformed relation key", index.Describe(index.Adjacency, k))
		}
		b := ProfileID(k[len(edges):])
		if err := tx.kv.Delete(index.ReverseEdges, index.ReverseEdgeKey(rt.ID, b, a)); err != nil {
			return storageErr("delete reverse relation", err)
		}
		if err := tx.relationChange(&relationWrite{rt: rt, a: a, b: b, oldBytes: vals[i], op: OpCascade}, nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteAsB removes each relation where b is the initiator, fixing the
// counter of its A.
func (tx *Tx) deleteAsB(rt *RelationType, b ProfileID) error {
	prefix := index.ReverseEdgePrefix(rt.ID, b)
	reverse, err := tx.keysWithPrefix(index.ReverseEdges, prefix)
	if err != nil {
		return err
	}
	for _, k := range reverse {
		if len(k) != len(prefix)+index.IDLen {
			return corruptf("%s: malformed reverse edge key", index.Describe(index.ReverseEdges, k))
		}
		w := &relationWrite{rt: rt, a: ProfileID(k[len(prefix):]), b: b, op: OpCascade}
		w.edge = index.EdgeKey(rt.ID, w.a, b)
		found, err := w.load(tx)
		if err != nil {
			return err
		}
		if !found {
			return corruptf("%s has no relation", index.Describe(index.ReverseEdges, k))
		}
		if err := tx.store(w, nil); err != nil {
			return err
		}
	}
	return nil
}

// keysWithPrefix copies every key under prefix, so they can be deleted
// after the cursor is done.
func (tx *Tx) keysWithPrefix(ks kv.Keyspace, prefix []byte) ([][]byte, error) {
	keys, _, err := tx.entries(ks, prefix, false)
	return keys, err
}

// entriesWithPrefix is keysWithPrefix with the values, copied too.
func (tx *Tx) entriesWithPrefix(ks kv.Keyspace, prefix []byte) (keys, vals [][]byte, err error) {
	return tx.entries(ks, prefix, true)
}

func (tx *Tx) entries(ks kv.Keyspace, prefix []byte, withValues bool) (keys, vals [][]byte, err error) {
	c, err := tx.kv.Cursor(ks)
	if err != nil {
		return nil, nil, storageErr("cursor", err)
	}
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		if withValues {
			vals = append(vals, bytes.Clone(v))
		}
	}
	return keys, vals, cursorErr(c)
}

// relationCall is a relation write of the Store's own methods queued
// with its request and its result in one allocation (a closure over
// them took three: the closure, the result and the error).
type relationCall struct {
	writeRequest
	op  func(*Tx, RelationRequest) (RelationResult, error)
	req RelationRequest
	res RelationResult
}

// relationWrite runs op(tx, req) in its own write.
func (s *Store) relationWrite(ctx context.Context, op func(*Tx, RelationRequest) (RelationResult, error), req RelationRequest) (RelationResult, error) {
	c := &relationCall{op: op, req: req}
	c.validatesFirst = true
	c.call = c
	err := s.submit(ctx, &c.writeRequest)
	return c.res, err
}

// Overwrite runs Tx.Overwrite in its own write.
func (s *Store) Overwrite(ctx context.Context, req RelationRequest) (RelationResult, error) {
	return s.relationWrite(ctx, (*Tx).Overwrite, req)
}

// Modify runs Tx.Modify in its own write.
func (s *Store) Modify(ctx context.Context, req RelationRequest) (RelationResult, error) {
	return s.relationWrite(ctx, (*Tx).Modify, req)
}

// Attach runs Tx.Attach in its own write.
func (s *Store) Attach(ctx context.Context, req RelationRequest) (RelationResult, error) {
	return s.relationWrite(ctx, (*Tx).Attach, req)
}

// Detach runs Tx.Detach in its own write.
func (s *Store) Detach(ctx context.Context, req RelationRequest) (RelationResult, error) {
	return s.relationWrite(ctx, (*Tx).Detach, req)
}
