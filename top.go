package relgraph

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

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

// adjustTop returns the list of p after the relation to b goes from ov
// (if oldHas) to nv (if newHas), given the list (which it edits in
// place) and the number of relations holding p before (held) and after
// (holds). refill reports that the result is too short and must be
// rebuilt from the relations.
// A list of an impossible length, or one missing b's old entry where it
// ranks, means the counter disagrees with the relations: an error.
func adjustTop(p Property, list []record.TopEntry, held, holds int64, b ProfileID, ov any, oldHas bool, nv any, newHas bool) (out []record.TopEntry, refill bool, err error) {
	if len(list) > topCap(p) || int64(len(list)) > held || int64(len(list)) < min(int64(p.Top), held) {
		return nil, false, fmt.Errorf("top list of property %q has %d entries for %d relations", p.Name, len(list), held)
	}
	complete := int64(len(list)) == held
	out = list // decoded for this write alone
	if oldHas {
		i, found := slices.BinarySearchFunc(out, newTopEntry(p.Type, ov, b), record.CompareTop)
		switch {
		case found:
			out = slices.Delete(out, i, i+1)
		case complete || i < len(out): // it ranks inside the head
			return nil, false, fmt.Errorf("top list of property %q misses the relation to %s", p.Name, b)
		}
	}
	if newHas {
		e := newTopEntry(p.Type, nv, b)
		// Outside an incomplete list, e would rank after every listed
		// entry: it stays out, and the list stays the ranking's head.
		if i, _ := slices.BinarySearchFunc(out, e, record.CompareTop); complete || i < len(out) {
			out = slices.Insert(out, i, e)
		}
	}
	if len(out) > topCap(p) {
		out = out[:topCap(p)]
	}
	return out, len(out) < p.Top && int64(len(out)) < holds, nil
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
		ws, err := readRelation(rt, a, other, v, &created, &updated, buf[:0])
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
