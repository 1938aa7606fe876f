package relgraph

import (
	"bytes"
	"encoding/hex"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// Pagination limits of relations/get.
const (
	DefaultRelationsLimit = 100
	MaxRelationsLimit     = 1000
)

// RelationsQuery selects the relations of one A profile.
type RelationsQuery struct {
	RelationType uint32
	A            Locator
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Offset skips that many relations (costs O(offset) reads); Cursor,
	// the NextCursor of the previous page, resumes in O(log n). Give at
	// most one.
	Offset int
	Cursor string
}

// RelationItem is one relation of a page.
type RelationItem struct {
	ProfileA  ProfileID
	ProfileB  ProfileID
	DatabaseB uint32
	Weights   Weights
	Created   int64 // Unix nanoseconds
	Updated   int64 // Unix nanoseconds
}

// RelationsPage is one page of relations, ordered by B's id.
type RelationsPage struct {
	Items []RelationItem
	// Total is the number of relations A has of this type.
	Total int64
	// NextCursor resumes after the last item; empty on the last page.
	NextCursor string
}

// Relations is relations/get (docs/spec.md §4): a page of the relations of the A
// profile q.A designates, ordered by B's id. Total comes from the
// counter (O(1)); the page costs O(log n + limit) reads, plus O(offset),
// and a map per relation (ScanRelations reads the same page without).
// Errors: 404 unknown type or no match, 409 ambiguous, 400 bad paging,
// ErrCorrupt for a record that does not decode.
func (tx *Tx) Relations(q RelationsQuery) (*RelationsPage, error) {
	page := &RelationsPage{Items: []RelationItem{}}
	var err error
	page.Total, page.NextCursor, err = tx.ScanRelations(q, func(v *RelationView) error {
		page.Items = append(page.Items, v.Item())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// ScanRelations reads the page of relations Relations would return and
// calls fn with each, in B's id order, as a view read in place: no map
// and no allocation per relation, so a caller that reads a few
// properties of each pays for nothing else. It returns what the page
// would hold besides its items: Total (the counter's, O(1)) and
// NextCursor (empty on the last page). An error from fn stops the scan
// and is returned as it is. Errors otherwise as Relations.
func (tx *Tx) ScanRelations(q RelationsQuery, fn func(*RelationView) error) (total int64, nextCursor string, err error) {
	rt, err := tx.schema.rel(q.RelationType)
	if err != nil {
		return 0, "", err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultRelationsLimit
	case limit < 0 || limit > MaxRelationsLimit:
		return 0, "", invalidf("limit %d: must be 1 to %d", limit, MaxRelationsLimit)
	}
	if q.Offset < 0 {
		return 0, "", invalidf("offset %d: must be >= 0", q.Offset)
	}
	if q.Offset > 0 && q.Cursor != "" {
		return 0, "", invalidf("give offset or cursor, not both")
	}
	dbA, err := tx.schema.db(rt.DatabaseA)
	if err != nil {
		return 0, "", err
	}
	a, err := tx.match(dbA, q.A, "profile_a")
	if err != nil {
		return 0, "", err
	}
	counter, err := tx.loadCounter(rt.ID, a)
	if err != nil {
		return 0, "", err
	}
	prefix := index.EdgePrefix(rt.ID, a)
	start := prefix
	if q.Cursor != "" {
		after, err := hex.DecodeString(q.Cursor)
		if err != nil || len(after) != index.IDLen {
			return 0, "", invalidf("cursor %q is not one this store returned", truncate(q.Cursor))
		}
		// Seek just past the cursor's B.
		start = append(append(bytes.Clone(prefix), after...), 0)
	}
	c, err := tx.kv.Cursor(index.Adjacency)
	if err != nil {
		return 0, "", storageErr("cursor", err)
	}
	var buf [8]record.Weight
	var view RelationView
	var lastB ProfileID
	skip, n := q.Offset, 0
	k, v := c.Seek(start)
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if skip > 0 {
			skip--
			continue
		}
		if n == limit {
			nextCursor = lastB.String()
			break
		}
		if len(k) != len(prefix)+index.IDLen {
			return 0, "", corruptf("%s: malformed relation key", index.Describe(index.Adjacency, k))
		}
		lastB = ProfileID(k[len(prefix):])
		view = RelationView{ProfileA: a, ProfileB: lastB, DatabaseB: rt.DatabaseB}
		if view.weights, err = readRelation(rt, a, lastB, v, &view.Created, &view.Updated, buf[:0]); err != nil {
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
	return counter.Total, nextCursor, nil
}

// Counter is get_counter's answer.
type Counter struct {
	ProfileA ProfileID
	// Total is the number of relations A has of this type.
	Total int64
	// Props has every declared property while A has relations, and is
	// empty when it has none.
	Props map[string]PropCounter
}

// PropCounter aggregates one property over A's relations.
type PropCounter struct {
	// Total counts relations holding the property (bool: holding true).
	Total int64
	// Sum is the sum for AggSum properties, else nil. For int properties
	// an int64, or a *big.Int when the sum leaves the int64 range. For
	// float properties the exact sum of the values, correctly rounded
	// (to nearest, ties to even) to a float64, or a *big.Float of 53
	// bits when the exact sum lies beyond ±math.MaxFloat64: a sum is
	// never infinite.
	Sum any
	// Top lists the highest values, highest first (ties by B's id), for
	// AggTop properties, else nil.
	Top []TopEntry
}

// TopEntry is one entry of a top list.
type TopEntry struct {
	ProfileB ProfileID
	Value    any // int64 or float64
}

// Counter is relations/get_counter (docs/spec.md §4): the aggregates of the
// relations of the A profile that loc designates. It reads one counter
// record, which holds the top lists too: its cost does not depend on how
// many relations A has. Errors as Relations.
func (tx *Tx) Counter(rel uint32, loc Locator) (*Counter, error) {
	rt, err := tx.schema.rel(rel)
	if err != nil {
		return nil, err
	}
	dbA, err := tx.schema.db(rt.DatabaseA)
	if err != nil {
		return nil, err
	}
	a, err := tx.match(dbA, loc, "profile_a")
	if err != nil {
		return nil, err
	}
	rec, err := tx.loadCounter(rt.ID, a)
	if err != nil {
		return nil, err
	}
	out := &Counter{ProfileA: a, Total: rec.Total, Props: map[string]PropCounter{}}
	if rec.Total == 0 {
		return out, nil
	}
	for _, p := range rt.Properties {
		pc := rec.Props[p.Name]
		res := PropCounter{Total: pc.Total}
		switch p.Aggregate {
		case AggSum:
			res.Sum = sumOf(pc, p.Type)
		case AggTop:
			res.Top = make([]TopEntry, 0, p.Top)
			for _, e := range pc.Top[:min(len(pc.Top), p.Top)] {
				res.Top = append(res.Top, topEntryOf(e, p.Type))
			}
		}
		out.Props[p.Name] = res
	}
	return out, nil
}
