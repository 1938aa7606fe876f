package relgraph

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/relgraph/relgraph/index"
)

// counterRecord aggregates the relations of one A profile for one
// relation type (the counter keyspace, rel ‖ A). It is kept up to date in
// the transaction of every write, so get_counter never walks edges. A
// profile with no relations has no counter record, and a property no
// relation holds has no entry: counters vanish exactly when the
// relations do, so attach then detach leaves the store byte-identical.
type counterRecord struct {
	Total int64                  `msgpack:"t"`
	Props map[string]propCounter `msgpack:"p,omitempty"`
}

// propCounter is one property's aggregate. Total counts relations
// holding the property (bool: holding true); SumInt or SumFloat is the
// sum for AggSum properties. Int sums are 128-bit, so no sequence of
// valid relation writes or deletes can overflow them.
type propCounter struct {
	Total    int64   `msgpack:"t"`
	SumInt   int128  `msgpack:"i"`
	SumFloat float64 `msgpack:"f,omitempty"`
}

// int128 is a two's complement 128-bit integer.
type int128 struct {
	Hi int64  `msgpack:"h,omitempty"`
	Lo uint64 `msgpack:"l,omitempty"`
}

func (x int128) add(v int64) int128 {
	lo, carry := bits.Add64(x.Lo, uint64(v), 0)
	hi := x.Hi + int64(carry)
	if v < 0 {
		hi-- // v's high word is all ones
	}
	return int128{hi, lo}
}

func (x int128) sub(v int64) int128 {
	lo, borrow := bits.Sub64(x.Lo, uint64(v), 0)
	hi := x.Hi - int64(borrow)
	if v < 0 {
		hi++
	}
	return int128{hi, lo}
}

// value returns x as an int64 when it fits, else as a *big.Int.
func (x int128) value() any {
	if (x.Hi == 0 && x.Lo < 1<<63) || (x.Hi == -1 && x.Lo >= 1<<63) {
		return int64(x.Lo)
	}
	b := new(big.Int).SetInt64(x.Hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(x.Lo))
}

func decodeCounter(rel uint32, a ProfileID, v []byte) (*counterRecord, error) {
	body, err := unseal(v)
	if err != nil {
		return nil, corruptf("counter of relation type %d for %s: %v", rel, a, err)
	}
	var c counterRecord
	if err := decodeExact(body, c.DecodeMsgpack); err != nil {
		return nil, corruptf("counter of relation type %d for %s does not decode: %v", rel, a, err)
	}
	if c.Total < 0 {
		return nil, corruptf("counter of relation type %d for %s: negative total %d", rel, a, c.Total)
	}
	return &c, nil
}

func (tx *Tx) loadCounter(rel uint32, a ProfileID) (*counterRecord, error) {
	v, err := tx.kv.Get(index.Adjacency, index.CounterKey(rel, a))
	if err != nil {
		return nil, storageErr("read counter", err)
	}
	if v == nil {
		return &counterRecord{}, nil
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
// profile's counter and top entries, computed before anything is written.
type counterChange struct {
	key       []byte
	counter   *counterRecord // nil: delete the record
	topDelete [][]byte
	topPut    [][]byte
}

// planCounter computes how the counter of A changes when the relation
// A–B goes from old to new weights (nil: no relation). It writes
// nothing; it fails only on a corrupt counter or a float sum turning
// infinite (400).
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
	ch := &counterChange{key: index.CounterKey(rt.ID, a)}
	for _, p := range rt.Properties {
		ov, oldHas := old[p.Name]
		nv, newHas := new[p.Name]
		if oldHas == newHas && (!oldHas || ov == nv) {
			continue
		}
		pc := c.Props[p.Name]
		if counts(ov, oldHas) {
			pc.Total--
		}
		if counts(nv, newHas) {
			pc.Total++
		}
		if p.Aggregate == AggSum {
			switch p.Type {
			case PropInt:
				if oldHas {
					pc.SumInt = pc.SumInt.sub(ov.(int64))
				}
				if newHas {
					pc.SumInt = pc.SumInt.add(nv.(int64))
				}
			case PropFloat:
				if oldHas {
					pc.SumFloat -= ov.(float64)
				}
				if newHas {
					pc.SumFloat += nv.(float64)
				}
				if math.IsInf(pc.SumFloat, 0) {
					return nil, invalidf("property %q: the sum over profile %s's relations would overflow float64", p.Name, a)
				}
			}
		}
		if pc.Total == 0 {
			pc = propCounter{} // a float sum may keep rounding residue
		}
		if c.Props == nil {
			c.Props = map[string]propCounter{}
		}
		if pc == (propCounter{}) {
			delete(c.Props, p.Name)
		} else {
			c.Props[p.Name] = pc
		}
		if p.Aggregate == AggTop {
			if oldHas {
				ch.topDelete = append(ch.topDelete, topKey(rt.ID, a, p, ov, b))
			}
			if newHas {
				ch.topPut = append(ch.topPut, topKey(rt.ID, a, p, nv, b))
			}
		}
	}
	if len(c.Props) == 0 {
		c.Props = nil
	}
	if c.Total > 0 {
		ch.counter = c
	} else if c.Total < 0 || c.Props != nil {
		return nil, corruptf("counter of relation type %d for %s disagrees with its relations", rt.ID, a)
	}
	return ch, nil
}

// topKey ranks value v of top property p for A's relation to b.
func topKey(rel uint32, a ProfileID, p Property, v any, b ProfileID) []byte {
	var rank []byte
	if p.Type == PropInt {
		rank = index.AppendDescInt64(nil, v.(int64))
	} else {
		rank = index.AppendDescFloat64(nil, v.(float64))
	}
	return index.TopKey(rel, a, p.Name, rank, b)
}

// write applies a planned change.
func (ch *counterChange) write(tx *Tx) error {
	for _, k := range ch.topDelete {
		if err := tx.kv.Delete(index.Adjacency, k); err != nil {
			return storageErr("delete top entry", err)
		}
	}
	for _, k := range ch.topPut {
		if err := tx.kv.Put(index.Adjacency, k, nil); err != nil {
			return storageErr("write top entry", err)
		}
	}
	if ch.counter == nil {
		if err := tx.kv.Delete(index.Adjacency, ch.key); err != nil {
			return storageErr("delete counter", err)
		}
		return nil
	}
	v, err := encode(ch.counter)
	if err != nil {
		return storageErr("encode counter", err)
	}
	v = seal(v)
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
