package relgraph

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/relgraph/relgraph/index"
	"github.com/vmihailenco/msgpack/v5"
)

// counterRecord aggregates the relations of one A profile for one
// relation type (the counter key, rel ‖ A ‖ 0x00). It is kept up to date
// in the transaction of every write, so get_counter never walks edges. A
// profile with no relations has no counter record, and a property no
// relation holds has no entry: counters vanish exactly when the
// relations do, so attach then detach leaves the store byte-identical.
type counterRecord struct {
	Total int64
	Props map[string]propCounter
}

// propCounter is one property's aggregate. Total counts relations
// holding the property (bool: holding true); SumInt or SumFloat is the
// sum for AggSum properties; Top the head of the ranking for AggTop
// ones (see top.go). Both sums are exact: int sums are 128-bit, float
// sums unrounded (floatsum.go), so no sequence of valid relation
// writes or deletes can overflow them or make them drift.
type propCounter struct {
	Total    int64
	SumInt   int128
	SumFloat exactSum
	Top      []topEntry
}

func (pc propCounter) isZero() bool {
	return pc.Total == 0 && pc.SumInt == (int128{}) && pc.SumFloat.isZero() && len(pc.Top) == 0
}

// int128 is a two's complement 128-bit integer.
type int128 struct {
	Hi int64
	Lo uint64
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

// sum is the property's sum as answered: see PropCounter.Sum.
func (pc propCounter) sum(t PropertyType) any {
	if t == PropInt {
		return pc.SumInt.value()
	}
	return pc.SumFloat.value()
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
// profile's counter, computed before anything is written.
type counterChange struct {
	key     []byte
	counter *counterRecord // nil: delete the record
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
					pc.SumInt = pc.SumInt.sub(ov.(int64))
				}
				if newHas {
					pc.SumInt = pc.SumInt.add(nv.(int64))
				}
			case PropFloat:
				if oldHas {
					pc.SumFloat = pc.SumFloat.sub(ov.(float64))
				}
				if newHas {
					pc.SumFloat = pc.SumFloat.add(nv.(float64))
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
		if pc.Total == 0 && !pc.isZero() {
			return nil, corruptf("counter of relation type %d for %s: property %q is held by no relation but sums to %v", rt.ID, a, p.Name, pc.sum(p.Type))
		}
		if c.Props == nil {
			c.Props = map[string]propCounter{}
		}
		if pc.isZero() {
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

// EncodeMsgpack writes [total, [[name, total, sumHi, sumLo, sumFloat,
// top], ...]] with names sorted; sumFloat is a bin holding the exact
// float sum (exactSum.appendBinary, empty for zero); top is a bin of
// topEntry values in ranking order (empty for properties without a top
// aggregate).
func (c *counterRecord) EncodeMsgpack(e *msgpack.Encoder) error {
	names := sortedKeys(c.Props)
	var err error
	try := func(e error) {
		if err == nil {
			err = e
		}
	}
	try(e.EncodeArrayLen(2))
	try(e.EncodeInt64(c.Total))
	try(e.EncodeArrayLen(len(names)))
	for _, k := range names {
		p := c.Props[k]
		try(e.EncodeArrayLen(6))
		try(e.EncodeString(k))
		try(e.EncodeInt64(p.Total))
		try(e.EncodeInt64(p.SumInt.Hi))
		try(e.EncodeUint64(p.SumInt.Lo))
		try(e.EncodeBytes(p.SumFloat.appendBinary(make([]byte, 0, 16)))) // non-nil: a bin, never nil
		top := make([]byte, 0, len(p.Top)*topEntryLen)
		for _, t := range p.Top {
			top = append(top, t[:]...)
		}
		try(e.EncodeBytes(top))
	}
	return err
}

var errCounterShape = errors.New("counter record: unexpected shape")

// DecodeMsgpack reads what EncodeMsgpack writes.
func (c *counterRecord) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := decodeLen(d.DecodeArrayLen())
	if err != nil || n != 2 {
		return errCounterShape
	}
	if c.Total, err = strictInt64(d); err != nil {
		return err
	}
	if n, err = decodeLen(d.DecodeArrayLen()); err != nil {
		return err
	}
	if n > 0 {
		c.Props = make(map[string]propCounter, min(n, MaxProperties))
	}
	prev := ""
	for i := 0; i < n; i++ {
		if m, err := d.DecodeArrayLen(); err != nil || m != 6 {
			return errCounterShape
		}
		var p propCounter
		name, err := d.DecodeString()
		if err == nil && i > 0 && name <= prev {
			err = fmt.Errorf("counter record: names not sorted at %q", name)
		}
		prev = name
		if err == nil {
			p.Total, err = strictInt64(d)
		}
		if err == nil {
			p.SumInt.Hi, err = strictInt64(d)
		}
		if err == nil {
			p.SumInt.Lo, err = strictUint64(d)
		}
		if err == nil {
			p.SumFloat, err = decodeFloatSum(d)
		}
		if err == nil {
			p.Top, err = decodeTop(d)
		}
		if err != nil {
			return err
		}
		c.Props[name] = p
	}
	return nil
}

// decodeFloatSum reads a counter's exact float sum: a bin in its
// shortest form.
func decodeFloatSum(d *msgpack.Decoder) (exactSum, error) {
	b, err := shortestBin(d)
	if err != nil {
		return exactSum{}, err
	}
	return decodeExactSum(b)
}

// decodeTop reads a counter's top list: a bin (in its shortest form) of
// at most 2×MaxTop entries in strictly increasing byte order.
func decodeTop(d *msgpack.Decoder) ([]topEntry, error) {
	b, err := shortestBin(d)
	if err != nil {
		return nil, fmt.Errorf("counter record: top list: %w", err)
	}
	if len(b)%topEntryLen != 0 || len(b)/topEntryLen > 2*MaxTop {
		return nil, fmt.Errorf("counter record: top list of %d bytes", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	top := make([]topEntry, len(b)/topEntryLen)
	for i := range top {
		copy(top[i][:], b[i*topEntryLen:])
		if i > 0 && compareTop(top[i-1], top[i]) >= 0 {
			return nil, fmt.Errorf("counter record: top list out of order at entry %d", i)
		}
	}
	return top, nil
}
