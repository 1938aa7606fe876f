package relgraph

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"iter"
	"math"
	"strconv"
	"unicode/utf8"

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
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return 0, "", err
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
	counter, err := tx.loadCounter(rt, a)
	if err != nil {
		return 0, "", err
	}
	prefix := index.EdgePrefix(rt.ID, a)
	start, err := pageStart(prefix, q.Cursor)
	if err != nil {
		return 0, "", err
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
		if err := view.read(rt, a, lastB, v, buf[:0]); err != nil {
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

// pageLimit is a page's size: limit, or the default for 0; out of range
// is a 400.
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultRelationsLimit, nil
	case limit < 0 || limit > MaxRelationsLimit:
		return 0, invalidf("limit %d: must be 1 to %d", limit, MaxRelationsLimit)
	}
	return limit, nil
}

// pageStart is the key a page of the list under prefix starts at: the
// prefix, or just past the id a cursor names (a cursor not of this
// store is a 400).
func pageStart(prefix []byte, cursor string) ([]byte, error) {
	if cursor == "" {
		return prefix, nil
	}
	after, err := hex.DecodeString(cursor)
	if err != nil || len(after) != index.IDLen {
		return nil, invalidf("cursor %q is not one this store returned", truncate(cursor))
	}
	return append(append(bytes.Clone(prefix), after...), 0), nil
}

// Relations runs Tx.Relations in a snapshot.
func (s *Store) Relations(ctx context.Context, q RelationsQuery) (page *RelationsPage, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		page, err = tx.Relations(q)
		return err
	})
	return page, err
}

// ScanRelations runs Tx.ScanRelations in a snapshot: fn sees each
// relation of the page read in place, and must not keep the view.
func (s *Store) ScanRelations(ctx context.Context, q RelationsQuery, fn func(*RelationView) error) (total int64, nextCursor string, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		total, nextCursor, err = tx.ScanRelations(q, fn)
		return err
	})
	return total, nextCursor, err
}

// RelationView is one relation as Tx.ScanRelations hands it to its
// callback: read in place from the store, with no map and no
// allocation. It is valid only during the callback (the next relation
// reuses it; what the callback writes into it is not read back);
// Weights copies the properties into a map of the caller's own.
type RelationView struct {
	ProfileA  ProfileID
	ProfileB  ProfileID
	DatabaseB uint32
	Created   int64 // Unix nanoseconds
	Updated   int64 // Unix nanoseconds
	weights   []record.Weight
}

// read points v at the relation a→b of type rt stored as val: its times,
// and its properties read in place into buf (no allocation).
func (v *RelationView) read(rt *RelationType, a, b ProfileID, val []byte, buf []record.Weight) (err error) {
	*v = RelationView{ProfileA: a, ProfileB: b, DatabaseB: rt.DatabaseB}
	v.weights, err = readRelation(rt, rt.lookup, a, b, val, &v.Created, &v.Updated, buf)
	return err
}

// weight finds property name among the relation's set properties, if
// it has type t.
func (v *RelationView) weight(name string, t PropertyType) (record.Weight, bool) {
	w, ok := record.FindWeight(v.weights, name)
	return w, ok && w.Type == record.Type(t)
}

// Int is int property name's value; 0 and false when the relation does
// not have it set or it is not an int property.
func (v *RelationView) Int(name string) (int64, bool) {
	if w, ok := v.weight(name, PropInt); ok {
		return int64(w.Bits), true
	}
	return 0, false
}

// Float is float property name's value; 0 and false when the relation
// does not have it set or it is not a float property.
func (v *RelationView) Float(name string) (float64, bool) {
	if w, ok := v.weight(name, PropFloat); ok {
		return math.Float64frombits(w.Bits), true
	}
	return 0, false
}

// Bool is bool property name's value; false and false when the
// relation does not have it set or it is not a bool property.
func (v *RelationView) Bool(name string) (value, ok bool) {
	if w, ok := v.weight(name, PropBool); ok {
		return w.Bits == 1, true
	}
	return false, false
}

// String is string property name's value (a copy); "" and false when
// the relation does not have it set or it is not a string property.
func (v *RelationView) String(name string) (string, bool) {
	if w, ok := v.weight(name, PropString); ok {
		return string(w.Str), true
	}
	return "", false
}

// Properties yields each property the relation has set, in name order
// (byte order, as stored), with its type: read its value with the
// accessor of that type. It allocates nothing.
func (v *RelationView) Properties() iter.Seq2[string, PropertyType] {
	return func(yield func(string, PropertyType) bool) {
		for _, w := range v.weights {
			if !yield(w.Name, PropertyType(w.Type)) {
				return
			}
		}
	}
}

// Len is the number of properties the relation has set.
func (v *RelationView) Len() int { return len(v.weights) }

// Weights is the relation's properties as RelationItem holds them: a
// new map (int64, float64, bool or string values), the caller's to keep.
func (v *RelationView) Weights() Weights { return weightsOf(v.weights) }

// Item is the relation as Relations returns it, the caller's to keep.
func (v *RelationView) Item() RelationItem {
	return RelationItem{ProfileA: v.ProfileA, ProfileB: v.ProfileB, DatabaseB: v.DatabaseB,
		Weights: v.Weights(), Created: v.Created, Updated: v.Updated}
}

// encodeRelation returns the stored bytes of a relation, carved from
// tx's slab (appendKept).
func (tx *Tx) encodeRelation(r *record.Relation) ([]byte, error) {
	var err error
	b := tx.appendKept(record.RelationSize(r), func(b []byte) []byte {
		b, err = record.AppendRelation(b, r)
		return b
	})
	if err != nil {
		return nil, storageErr("encode relation", err)
	}
	return b, nil
}

// decodeRelation decodes stored bytes and checks every weight against
// the relation type; anything else is ErrCorrupt.
func decodeRelation(rt *RelationType, a, b ProfileID, v []byte) (*record.Relation, error) {
	return decodeRelationBy(rt, rt.lookup, a, b, v)
}

// decodeStoredRelation decodes a record written under an earlier form
// of rt (a change the feed keeps): its properties as the record holds
// them, declared now or not.
func decodeStoredRelation(rt *RelationType, a, b ProfileID, v []byte) (*record.Relation, error) {
	return decodeRelationBy(rt, rt.lookupStored, a, b, v)
}

func decodeRelationBy(rt *RelationType, lookup record.Lookup, a, b ProfileID, v []byte) (*record.Relation, error) {
	r := new(record.Relation)
	if err := decodeRelationInto(rt, lookup, a, b, v, r); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeRelationInto is decodeRelationBy into r, which the caller owns
// (a relation write keeps the one it loads in itself: one allocation
// less).
func decodeRelationInto(rt *RelationType, lookup record.Lookup, a, b ProfileID, v []byte, r *record.Relation) error {
	var buf [8]record.Weight
	ws, err := readRelation(rt, lookup, a, b, v, &r.Created, &r.Updated, buf[:0])
	if err != nil {
		return err
	}
	r.Weights = weightsOf(ws)
	return nil
}

// readRelation reads a sealed relation record in place: created and
// updated, and the weights appended to ws (names from the schema,
// strings pointing into v). Every weight is checked against the
// relation type (by lookup: rt.lookup, or rt.lookupStored for past
// records); anything else is ErrCorrupt.
func readRelation(rt *RelationType, lookup record.Lookup, a, b ProfileID, v []byte, created, updated *int64, ws []record.Weight) ([]record.Weight, error) {
	ws, err := record.ParseRelation(v, lookup, created, updated, ws)
	if err != nil {
		return nil, corruptf("relation %d %s→%s: %v", rt.ID, b, a, err)
	}
	return ws, nil
}

// lookup finds a declared property by the bytes of its name
// (record.Lookup): the schema's copy of the name, and its type.
func (r *RelationType) lookup(name []byte) (string, record.Type, bool) {
	p, ok := r.Property(string(name)) // no allocation: the conversion is only compared
	return p.Name, record.Type(p.Type), ok
}

// lookupStored is lookup for records written under an earlier form of
// the type (the change feed's): every name is taken, with the type its
// record holds, the schema's copy of the name where it still has it.
func (r *RelationType) lookupStored(name []byte) (string, record.Type, bool) {
	if p, ok := r.Property(string(name)); ok {
		return p.Name, record.TypeStored, true
	}
	return string(name), record.TypeStored, true
}

// weightsOf builds the map of ws.
func weightsOf(ws []record.Weight) Weights {
	m := make(Weights, len(ws))
	for _, w := range ws {
		m[w.Name] = w.Value()
	}
	return m
}

// Weights are a relation's property values by name: int64, float64,
// bool or string, as the relation type declares.
type Weights map[string]any

// normalizeWeight checks one property value against its declaration
// and returns it as int64, float64, bool or string. It takes Go values
// of the property's type only: any Go integer for int, a float or an
// exactly representable integer for float, a bool, a string. Text such
// as "12" is the wire format's business (package api).
func normalizeWeight(p Property, v any) (any, error) {
	bad := func(why string) error {
		return invalidf("property %q (%s): %s", p.Name, p.Type, why)
	}
	switch p.Type {
	case PropInt:
		n, err := toInt64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		if _, ok := v.(int64); ok {
			return v, nil // already canonical: boxing n again would allocate
		}
		return n, nil
	case PropFloat:
		x, err := toFloat64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		if _, ok := v.(float64); ok {
			return v, nil
		}
		return x, nil
	case PropBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a bool, got %T", v))
		}
		return b, nil
	case PropString:
		s, ok := v.(string)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a string, got %T", v))
		}
		if len(s) > MaxPropertyStringBytes {
			return nil, bad("longer than " + strconv.Itoa(MaxPropertyStringBytes) + " bytes")
		}
		if !utf8.ValidString(s) {
			return nil, bad("not valid UTF-8")
		}
		return s, nil
	}
	return nil, bad("unknown type")
}

// checkWeights normalizes the request's weights against the relation
// type; none may be nil (only Overwrite removes properties, and it
// checks each weight itself).
func checkWeights(rt *RelationType, in map[string]any) (Weights, error) {
	out := make(Weights, len(in))
	for name, v := range in {
		n, err := checkWeight(rt, name, v, false)
		if err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, nil
}

// checkWeight normalizes one of the request's weights, name = v,
// against the relation type: an error for an undeclared property, a
// value of the wrong type, or a nil value unless allowNull (then nil is
// returned: the property is to be removed).
func checkWeight(rt *RelationType, name string, v any, allowNull bool) (any, error) {
	p, ok := rt.Property(name)
	if !ok {
		return nil, invalidf("property %q is not declared in relation type %d", truncate(name), rt.ID)
	}
	if v == nil {
		if !allowNull {
			return nil, invalidf("property %q: null is only allowed in edit (it removes the property)", name)
		}
		return nil, nil
	}
	return normalizeWeight(p, v)
}

// sameWeights reports whether a and b hold the same values of the same
// types, which is when their canonical encodings are equal.
func sameWeights(a, b Weights) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
