package relgraph

import (
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

func decodeCounter(rel uint32, a ProfileID, v []byte) (*record.Counter, error) {
	c, err := record.DecodeCounter(v)
	if err != nil {
		return nil, corruptf("counter of relation type %d for %s: %v", rel, a, err)
	}
	return c, nil
}

func (tx *Tx) loadCounter(rel uint32, a ProfileID) (*record.Counter, error) {
	v, err := tx.kv.Get(index.Adjacency, index.CounterKey(rel, a))
	if err != nil {
		return nil, storageErr("read counter", err)
	}
	if v == nil {
		return &record.Counter{}, nil
	}
	return decodeCounter(rel, a, v)
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
// top list runs short it reads A's relations to refill it (see top.go).
func (tx *Tx) planCounter(rt *RelationType, a, b ProfileID, old, new Weights) (*counterChange, error) {
	c, err := tx.loadCounter(rt.ID, a)
	if err != nil {
		return nil, err
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
			if pc.Top, short, err = adjustTop(p, pc.Top, held, pc.Total, b, ov, oldHas, nv, newHas); err != nil {
				return nil, corruptf("counter of relation type %d for %s: %v", rt.ID, a, err)
			}
			if short {
				refill = append(refill, p)
			}
		}
		if pc.Total == 0 && !pc.IsZero() {
			return nil, corruptf("counter of relation type %d for %s: property %q is held by no relation but sums to %v", rt.ID, a, p.Name, sumOf(pc, p.Type))
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
			return nil, err
		}
	}
	if len(c.Props) == 0 {
		c.Props = nil
	}
	ch := &counterChange{key: index.CounterKey(rt.ID, a)}
	if c.Total > 0 {
		ch.counter = c
	} else if c.Total < 0 || c.Props != nil {
		return nil, corruptf("counter of relation type %d for %s disagrees with its relations", rt.ID, a)
	}
	return ch, nil
}

// write applies a planned change.
func (ch *counterChange) write(tx *Tx) error {
	if ch.counter == nil {
		if err := tx.kv.Delete(index.Adjacency, ch.key); err != nil {
			return storageErr("delete counter", err)
		}
		return nil
	}
	v, err := record.EncodeCounter(ch.counter)
	if err != nil {
		return storageErr("encode counter", err)
	}
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
