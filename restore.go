package relgraph

import (
	"bytes"
	"context"
	"math"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// Restoring what an export wrote: profiles with their ids and times,
// relations with their times, so that an export imported into a fresh
// store gives the same store (relgraph export and import; their line
// format is docs/spec.md §8).

// RestoreProfileAt is RestoreProfile that then gives the profile the
// creation and update times an export recorded (UTC, to the
// nanosecond), instead of the transaction's. Needs a writable Tx;
// errors as RestoreProfile.
func (tx *Tx) RestoreProfileAt(db uint32, id ProfileID, data ProfileData, created, updated time.Time) (bool, error) {
	if err := checkTimes(created, updated); err != nil {
		return false, err
	}
	tx.restoreAt = &restoreTimes{created.UTC(), updated.UTC()}
	defer func() { tx.restoreAt = nil }()
	return tx.RestoreProfile(db, id, data)
}

// The times a store keeps: nanoseconds since 1970 in an int64.
var (
	minStoredTime = time.Unix(0, math.MinInt64).UTC()
	maxStoredTime = time.Unix(0, math.MaxInt64).UTC()
)

// checkTimes refuses restored times the store cannot keep (before
// 1677-09-21 or after 2262-04-11) and an update before the creation.
func checkTimes(created, updated time.Time) error {
	for _, t := range []time.Time{created, updated} {
		if t.Before(minStoredTime) || t.After(maxStoredTime) {
			return invalidf("time %s: the store keeps times from %s to %s", t.Format(time.RFC3339Nano), minStoredTime.Format(time.DateOnly), maxStoredTime.Format(time.DateOnly))
		}
	}
	if updated.Before(created) {
		return invalidf("updated %s is before created %s", updated.Format(time.RFC3339Nano), created.Format(time.RFC3339Nano))
	}
	return nil
}

// restoreTimes are a restored profile's times (Tx.restoreAt).
type restoreTimes struct{ created, updated time.Time }

// RestoreRelation sets the relation of type rel from profile a to
// profile b (found by id) to weights, with the creation and update
// times an export recorded, creating it when there is none; A's counter
// follows as for any relation write. Weights are checked as Attach
// checks them (none is a relation without properties). Needs a writable
// Tx. Errors: 404 unknown type or profile, 400 bad weights.
func (tx *Tx) RestoreRelation(rel uint32, a, b ProfileID, weights Weights, created, updated time.Time) error {
	if err := checkTimes(created, updated); err != nil {
		return err
	}
	w, err := tx.resolve(RelationRequest{RelationType: rel, A: Locator{ProfileID: a.String()}, B: Locator{ProfileID: b.String()}}, OpRestore)
	if err != nil {
		return err
	}
	checked, err := checkWeights(w.rt, weights)
	if err != nil {
		return err
	}
	return tx.storeAt(w, checked, record.Nanos(created.UTC()), record.Nanos(updated.UTC()))
}

// EachRelation calls fn with every relation of type rel, ordered by A's
// id then B's, in one read snapshot, as ScanRelations hands them (the
// view is valid only during the call), stopping at fn's first error
// (ErrStopScan ends it with nil). It reads every relation of the type:
// one cursor step and one in-place decode each. An unknown type is a
// 404; a record that does not decode stops it with ErrCorrupt.
func (s *Store) EachRelation(ctx context.Context, rel uint32, fn func(*RelationView) error) error {
	err := s.View(ctx, func(tx *Tx) error {
		rt, err := tx.schema.rel(rel)
		if err != nil {
			return err
		}
		c, err := tx.kv.Cursor(index.Adjacency)
		if err != nil {
			return storageErr("cursor", err)
		}
		prefix := index.AppendUint32(nil, rt.ID)
		var buf [8]record.Weight
		var view RelationView
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			// rel ‖ A ‖ tag, then B for an edge (index.EdgeKey); the
			// counter (index.CounterKey) is skipped.
			const edgeLen = 4 + 2*index.IDLen + 1
			if len(k) == 4+index.IDLen+1 && k[4+index.IDLen] == index.TagCounter {
				continue
			}
			if len(k) != edgeLen || k[4+index.IDLen] != index.TagEdge {
				return corruptf("%s: malformed relation key", index.Describe(index.Adjacency, k))
			}
			a, b := ProfileID(k[4:4+index.IDLen]), ProfileID(k[4+index.IDLen+1:])
			if err := view.read(rt, a, b, v, buf[:0]); err != nil {
				return err
			}
			if err := fn(&view); err != nil {
				return err
			}
		}
		return cursorErr(c)
	})
	if err == ErrStopScan {
		return nil
	}
	return err
}
