package relgraph

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// A counter aggregates the relations of one A profile for one relation
// type (the counter key, rel ‖ A ‖ 0x00; its record is record.Counter).
// It is kept up to date in the transaction of every write, so
// get_counter never walks edges. A profile with no relations has no
// counter record, and a property no relation holds has no entry:
// counters vanish exactly when the relations do, so attach then detach
// leaves the store byte-identical. Sums are exact (record.Int128,
// record.FloatSum), so no sequence of valid relation writes or deletes
// can overflow them or make them drift.

// sumOf is a property's sum as answered: see PropCounter.Sum.
func sumOf(pc record.PropCounter, t PropertyType) any {
	if t == PropInt {
		return pc.SumInt.Value()
	}
	return pc.SumFloat.Value()
}

// decodeCounter decodes A's counter of relation type rt, its property
// names the schema's strings. rt is nil where the type is not known
// (Check, which reads counters by key).
func decodeCounter(rt *RelationType, a ProfileID, v []byte) (*record.Counter, error) {
	var lookup record.Lookup
	var rel uint32
	if rt != nil {
		lookup, rel = rt.lookup, rt.ID
	}
	c, err := record.DecodeCounter(v, lookup)
	if err != nil {
		return nil, corruptf("counter of relation type %d for %s: %v", rel, a, err)
	}
	return c, nil
}

func (tx *Tx) loadCounter(rt *RelationType, a ProfileID) (*record.Counter, error) {
	c := new(record.Counter)
	if err := tx.readCounterInto(c, rt, a); err != nil {
		return nil, err
	}
	return c, nil
}

// loadCounterToChange is loadCounter for a relation write in the group
// commit: into the batch's counter, reused by each write in turn (its
// change is written before the next write loads one).
func (tx *Tx) loadCounterToChange(rt *RelationType, a ProfileID) (*record.Counter, error) {
	if tx.batch == nil {
		return tx.loadCounter(rt, a)
	}
	c := &tx.batch.counter
	if err := tx.readCounterInto(c, rt, a); err != nil {
		return nil, err
	}
	return c, nil
}

// readCounterInto reads A's counter of relation type rt into c (empty
// when A has none), reusing c's room.
func (tx *Tx) readCounterInto(c *record.Counter, rt *RelationType, a ProfileID) error {
	v, err := tx.kv.Get(index.Adjacency, index.AppendCounterKey(tx.getKey(), rt.ID, a))
	if err != nil {
		return storageErr("read counter", err)
	}
	if v == nil {
		c.Reset()
		return nil
	}
	if err := record.DecodeCounterInto(c, v, rt.lookup); err != nil {
		return corruptf("counter of relation type %d for %s: %v", rt.ID, a, err)
	}
	return nil
}

// counts reports whether a property value counts toward its total: it is
// present, and for bool, true.
func counts(v any, present bool) bool {
	if !present {
		return false
	}
	if b, ok := v.(bool); ok {
		return b
	}
	return true
}

// counterChange is the validated effect of one relation write on its A
// profile's counter, computed before anything is written.
type counterChange struct {
	key     []byte
	counter *record.Counter // nil: delete the record
}

// planCounter computes how the counter of A changes when the relation
// A–B goes from old to new weights (nil: no relation). It writes
// nothing; it fails only on a counter that disagrees with the
// relations (ErrCorrupt): sums are exact and cannot overflow. When a
// top list runs short it reads A's relations to refill it (see refillTop).
func (tx *Tx) planCounter(rt *RelationType, a, b ProfileID, old, new Weights) (counterChange, error) {
	c, err := tx.loadCounterToChange(rt, a)
	if err != nil {
		return counterChange{}, err
	}
	if old != nil {
		c.Total--
	}
	if new != nil {
		c.Total++
	}
	var refill []Property
	for _, p := range rt.Properties {
		ov, oldHas := old[p.Name]
		nv, newHas := new[p.Name]
		if oldHas == newHas && (!oldHas || ov == nv) {
			continue
		}
		pc := c.Props[p.Name]
		held := pc.Total
		if counts(ov, oldHas) {
			pc.Total--
		}
		if counts(nv, newHas) {
			pc.Total++
		}
		switch p.Aggregate {
		case AggSum:
			switch p.Type {
			case PropInt:
				if oldHas {
					pc.SumInt = pc.SumInt.Sub(ov.(int64))
				}
				if newHas {
					pc.SumInt = pc.SumInt.Add(nv.(int64))
				}
			case PropFloat:
				if oldHas {
					pc.SumFloat = pc.SumFloat.Sub(ov.(float64))
				}
				if newHas {
					pc.SumFloat = pc.SumFloat.Add(nv.(float64))
				}
			}
		case AggTop:
			var short bool
			if pc.Top, short, err = adjustTop(p, pc.Top, topMove{b: b, old: ov, new: nv, hadOld: oldHas, hasNew: newHas, held: held, holds: pc.Total}); err != nil {
				return counterChange{}, corruptf("counter of relation type %d for %s: %v", rt.ID, a, err)
			}
			if short {
				refill = append(refill, p)
			}
		}
		if pc.Total == 0 && !pc.IsZero() {
			return counterChange{}, corruptf("counter of relation type %d for %s: property %q is held by no relation but sums to %v", rt.ID, a, p.Name, sumOf(pc, p.Type))
		}
		if c.Props == nil {
			c.Props = map[string]record.PropCounter{}
		}
		if pc.IsZero() {
			delete(c.Props, p.Name)
		} else {
			c.Props[p.Name] = pc
		}
	}
	if len(refill) > 0 {
		if err := tx.refillTop(rt, a, b, new, refill, c); err != nil {
			return counterChange{}, err
		}
	}
	if len(c.Props) == 0 {
		c.Props = nil
	}
	ch := counterChange{key: tx.appendKept(index.CounterKeyLen, func(b []byte) []byte { return index.AppendCounterKey(b, rt.ID, a) })}
	if c.Total > 0 {
		ch.counter = c
	} else if c.Total < 0 || c.Props != nil {
		return counterChange{}, corruptf("counter of relation type %d for %s disagrees with its relations", rt.ID, a)
	}
	return ch, nil
}

// write applies a planned change.
func (ch counterChange) write(tx *Tx) error {
	if ch.counter == nil {
		if err := tx.kv.Delete(index.Adjacency, ch.key); err != nil {
			return storageErr("delete counter", err)
		}
		return nil
	}
	v := tx.appendKept(ch.counter.SizeHint(), func(b []byte) []byte { return record.AppendCounter(b, ch.counter) })
	if err := tx.kv.Put(index.Adjacency, ch.key, v); err != nil {
		return storageErr("write counter", err)
	}
	return nil
}

func addInt(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, errOverflow
	}
	return s, nil
}

var errOverflow = invalidf("int64 overflow")

// Counter runs Tx.Counter in a snapshot.
func (s *Store) Counter(ctx context.Context, rel uint32, loc Locator) (c *Counter, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		c, err = tx.Counter(rel, loc)
		return err
	})
	return c, err
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
	rec, err := tx.loadCounter(rt, a)
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

// A top property's ranking orders the relations of one A profile that
// hold the property by value, highest first, then by B's id. The A
// profile's counter record keeps the head of that ranking, so
// get_counter reads one record, and a relation write that changes the
// property edits the list inside the record it rewrites anyway: no
// other page of the store is touched. (A full ranking index costs each
// such write two more scattered pages, which on a populated store was
// most of its commit.)
//
// The list is the exact head of that ranking, at most 2N entries long:
// either every relation holding the property (complete) or at least N of
// them. A write takes its relation's old entry out and puts the new one
// where it ranks, except that an incomplete list keeps out an entry
// ranking after its last; a list over 2N drops its tail. When a write
// leaves an incomplete list shorter than N, it refills the list by
// reading all of A's relations (refillTop), O(relations of A). A refill
// leaves 2N entries or a complete list, so at least N+1 removals come
// between two refills. Stats.TopRefills counts them.

// newTopEntry is the entry of value v (of property type t) of the
// relation to b.
func newTopEntry(t PropertyType, v any, b ProfileID) record.TopEntry {
	return record.NewTopEntry(record.Type(t), v, b)
}

// topEntryOf is a stored entry as get_counter answers it.
func topEntryOf(e record.TopEntry, t PropertyType) TopEntry {
	v, b := e.Decode(record.Type(t))
	return TopEntry{ProfileB: b, Value: v}
}

// topCap is how many entries a list of property p may hold.
func topCap(p Property) int { return 2 * p.Top }

// topMove is one relation's move in a property's ranking: the relation
// to b goes from old (if hadOld) to new (if hasNew), and the relations
// holding the property number held before and holds after.
type topMove struct {
	b              ProfileID
	old, new       any
	hadOld, hasNew bool
	held, holds    int64
}

// adjustTop returns the list of p after move m, given the list (which it
// edits in place). refill reports that the result is too short and must
// be rebuilt from the relations. A list of an impossible length, or one
// missing b's old entry where it ranks, means the counter disagrees with
// the relations: an error.
func adjustTop(p Property, list []record.TopEntry, m topMove) (out []record.TopEntry, refill bool, err error) {
	if len(list) > topCap(p) || int64(len(list)) > m.held || int64(len(list)) < min(int64(p.Top), m.held) {
		return nil, false, fmt.Errorf("top list of property %q has %d entries for %d relations", p.Name, len(list), m.held)
	}
	b := m.b
	complete := int64(len(list)) == m.held
	out = list // decoded for this write alone
	if m.hadOld {
		i, found := slices.BinarySearchFunc(out, newTopEntry(p.Type, m.old, b), record.CompareTop)
		switch {
		case found:
			out = slices.Delete(out, i, i+1)
		case complete || i < len(out): // it ranks inside the head
			return nil, false, fmt.Errorf("top list of property %q misses the relation to %s", p.Name, b)
		}
	}
	if m.hasNew {
		e := newTopEntry(p.Type, m.new, b)
		// Outside an incomplete list, e would rank after every listed
		// entry: it stays out, and the list stays the ranking's head.
		if i, _ := slices.BinarySearchFunc(out, e, record.CompareTop); complete || i < len(out) {
			out = slices.Insert(out, i, e)
		}
	}
	if len(out) > topCap(p) {
		out = out[:topCap(p)]
	}
	return out, len(out) < p.Top && int64(len(out)) < m.holds, nil
}

// refillTop rebuilds the lists of props in c from every relation of A,
// counting b's relation as holding w (nil: b's relation is going away),
// since the write that needs the refill has not been applied yet.
func (tx *Tx) refillTop(rt *RelationType, a, b ProfileID, w Weights, props []Property, c *record.Counter) error {
	lists := make([][]record.TopEntry, len(props))
	found := make([]int64, len(props))
	add := func(i int, e record.TopEntry) {
		found[i]++
		lists[i] = append(lists[i], e)
		if len(lists[i]) >= 4*topCap(props[i]) { // bound memory on large A profiles
			slices.SortFunc(lists[i], record.CompareTop)
			lists[i] = lists[i][:topCap(props[i])]
		}
	}
	prefix := index.EdgePrefix(rt.ID, a)
	cur, err := tx.kv.Cursor(index.Adjacency)
	if err != nil {
		return storageErr("cursor", err)
	}
	var buf [8]record.Weight // every relation read in place, as ScanRelations does
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		if len(k) != len(prefix)+index.IDLen {
			return corruptf("%s: malformed relation key", index.Describe(index.Adjacency, k))
		}
		other := ProfileID(k[len(prefix):])
		if other == b {
			continue
		}
		var created, updated int64
		ws, err := readRelation(rt, rt.lookup, a, other, v, &created, &updated, buf[:0])
		if err != nil {
			return err
		}
		for i, p := range props {
			if sw, ok := record.FindWeight(ws, p.Name); ok {
				add(i, newTopEntry(p.Type, sw.Value(), other))
			}
		}
	}
	if err := cursorErr(cur); err != nil {
		return err
	}
	for i, p := range props {
		if val, ok := w[p.Name]; ok {
			add(i, newTopEntry(p.Type, val, b))
		}
		slices.SortFunc(lists[i], record.CompareTop)
		pc := c.Props[p.Name]
		pc.Top = lists[i][:min(len(lists[i]), topCap(p))]
		if found[i] != pc.Total {
			return corruptf("counter of relation type %d for %s: %d relations hold %q, the counter says %d", rt.ID, a, found[i], p.Name, pc.Total)
		}
		c.Props[p.Name] = pc
	}
	tx.topRefills++
	return nil
}
