package record

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/relgraph/relgraph/index"
)

// Counter aggregates the relations of one A profile for one relation
// type, as stored (the counter key). A profile with no relations has no
// counter record, and a property no relation holds has no entry.
type Counter struct {
	Total int64
	Props map[string]PropCounter
}

// PropCounter is one property's aggregate. Total counts relations
// holding the property (bool: holding true); SumInt or SumFloat is the
// sum of a sum property; Top the head of a top property's ranking. Both
// sums are exact: int sums are 128-bit, float sums unrounded (FloatSum).
type PropCounter struct {
	Total    int64
	SumInt   Int128
	SumFloat FloatSum
	Top      []TopEntry
}

// IsZero reports whether pc holds nothing.
func (pc PropCounter) IsZero() bool {
	return pc.Total == 0 && pc.SumInt == (Int128{}) && pc.SumFloat.IsZero() && len(pc.Top) == 0
}

// Int128 is a two's complement 128-bit integer.
type Int128 struct {
	Hi int64
	Lo uint64
}

// Add returns x + v.
func (x Int128) Add(v int64) Int128 {
	lo, carry := bits.Add64(x.Lo, uint64(v), 0)
	hi := x.Hi + int64(carry)
	if v < 0 {
		hi-- // v's high word is all ones
	}
	return Int128{hi, lo}
}

// Sub returns x - v.
func (x Int128) Sub(v int64) Int128 {
	lo, borrow := bits.Sub64(x.Lo, uint64(v), 0)
	hi := x.Hi - int64(borrow)
	if v < 0 {
		hi++
	}
	return Int128{hi, lo}
}

// Value returns x as an int64 when it fits, else as a *big.Int.
func (x Int128) Value() any {
	if (x.Hi == 0 && x.Lo < 1<<63) || (x.Hi == -1 && x.Lo >= 1<<63) {
		return int64(x.Lo)
	}
	b := new(big.Int).SetInt64(x.Hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(x.Lo))
}

// TopEntryLen is the length of a TopEntry.
const TopEntryLen = 8 + index.IDLen

// TopEntry is one relation in a top list: a descending rank of the
// value followed by B's id, so byte order is ranking order (highest
// first, then by B).
type TopEntry [TopEntryLen]byte

// NewTopEntry is the entry of value v (an int64 for TypeInt, else a
// float64) of the relation to b.
func NewTopEntry(t Type, v any, b [index.IDLen]byte) TopEntry {
	var e TopEntry
	var rank []byte
	if t == TypeInt {
		rank = index.AppendDescInt64(e[:0], v.(int64))
	} else {
		rank = index.AppendDescFloat64(e[:0], v.(float64))
	}
	copy(e[len(rank):], b[:])
	return e
}

// CompareTop orders top entries by rank.
func CompareTop(x, y TopEntry) int { return bytes.Compare(x[:], y[:]) }

// Decode returns e's value (an int64 for TypeInt, else a float64) and
// B's id.
func (e TopEntry) Decode(t Type) (value any, b [index.IDLen]byte) {
	copy(b[:], e[8:])
	if t == TypeInt {
		value, _ = index.DecodeDescInt64(e[:8])
	} else {
		value, _ = index.DecodeDescFloat64(e[:8])
	}
	return value, b
}

// EncodeCounter returns the stored bytes of c (sealed).
func EncodeCounter(c *Counter) ([]byte, error) {
	b, err := Encode(c)
	if err != nil {
		return nil, err
	}
	return Seal(b), nil
}

// DecodeCounter decodes stored bytes: sealed, one well-formed record as
// EncodeMsgpack writes it, a total that is not negative.
func DecodeCounter(b []byte) (*Counter, error) {
	body, err := Unseal(b)
	if err != nil {
		return nil, err
	}
	var c Counter
	if err := DecodeExact(body, c.DecodeMsgpack); err != nil {
		return nil, fmt.Errorf("does not decode: %w", err)
	}
	if c.Total < 0 {
		return nil, fmt.Errorf("negative total %d", c.Total)
	}
	return &c, nil
}

// EncodeMsgpack writes [total, [[name, total, sumHi, sumLo, sumFloat,
// top], ...]] with names sorted; sumFloat is a bin holding the exact
// float sum (FloatSum.AppendBinary, empty for zero); top is a bin of
// TopEntry values in ranking order (empty for properties without a top
// aggregate).
func (c *Counter) EncodeMsgpack(e *msgpack.Encoder) error {
	names := SortedKeys(c.Props)
	w := writer{e: e}
	w.arrayLen(2).int64(c.Total).arrayLen(len(names))
	for _, k := range names {
		p := c.Props[k]
		w.arrayLen(6).str(k).int64(p.Total).int64(p.SumInt.Hi)
		w.try(e.EncodeUint64(p.SumInt.Lo))
		w.try(e.EncodeBytes(p.SumFloat.AppendBinary(make([]byte, 0, 16)))) // non-nil: a bin, never nil
		top := make([]byte, 0, len(p.Top)*TopEntryLen)
		for _, t := range p.Top {
			top = append(top, t[:]...)
		}
		w.try(e.EncodeBytes(top))
	}
	return w.err
}

var errCounterShape = errors.New("counter record: unexpected shape")

// DecodeMsgpack reads what EncodeMsgpack writes.
func (c *Counter) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := DecodeLen(d.DecodeArrayLen())
	if err != nil || n != 2 {
		return errCounterShape
	}
	if c.Total, err = StrictInt64(d); err != nil {
		return err
	}
	if n, err = DecodeLen(d.DecodeArrayLen()); err != nil {
		return err
	}
	if n > 0 {
		c.Props = make(map[string]PropCounter, min(n, MaxProperties))
	}
	prev := ""
	for i := 0; i < n; i++ {
		if m, err := d.DecodeArrayLen(); err != nil || m != 6 {
			return errCounterShape
		}
		var p PropCounter
		name, err := d.DecodeString()
		if err == nil && i > 0 && name <= prev {
			err = fmt.Errorf("counter record: names not sorted at %q", Truncate(name))
		}
		prev = name
		if err == nil {
			p.Total, err = StrictInt64(d)
		}
		if err == nil {
			p.SumInt.Hi, err = StrictInt64(d)
		}
		if err == nil {
			p.SumInt.Lo, err = StrictUint64(d)
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
func decodeFloatSum(d *msgpack.Decoder) (FloatSum, error) {
	b, err := ShortestBin(d)
	if err != nil {
		return FloatSum{}, err
	}
	return ParseFloatSum(b)
}

// decodeTop reads a counter's top list: a bin (in its shortest form) of
// at most 2×MaxTop entries in strictly increasing byte order.
func decodeTop(d *msgpack.Decoder) ([]TopEntry, error) {
	b, err := ShortestBin(d)
	if err != nil {
		return nil, fmt.Errorf("counter record: top list: %w", err)
	}
	if len(b)%TopEntryLen != 0 || len(b)/TopEntryLen > 2*MaxTop {
		return nil, fmt.Errorf("counter record: top list of %d bytes", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	top := make([]TopEntry, len(b)/TopEntryLen)
	for i := range top {
		copy(top[i][:], b[i*TopEntryLen:])
		if i > 0 && CompareTop(top[i-1], top[i]) >= 0 {
			return nil, fmt.Errorf("counter record: top list out of order at entry %d", i)
		}
	}
	return top, nil
}
