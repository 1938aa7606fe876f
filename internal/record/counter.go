package record

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/relgraph/relgraph/index"
)

// Counter aggregates the relations of one A profile for one relation
// type, as stored (the counter key). A profile with no relations has no
// counter record, and a property no relation holds has no entry.
type Counter struct {
	Total int64
	Props map[string]PropCounter
	// spare holds top lists of a previous decode (DecodeCounterInto),
	// their room reused by the next.
	spare [][]TopEntry
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

// EncodeCounter returns the stored bytes of c (sealed): [total,
// [[name, total, sumHi, sumLo, sumFloat, top], ...]] with names sorted;
// sumFloat is a bin holding the exact float sum (FloatSum.AppendBinary,
// empty for zero); top is a bin of TopEntry values in ranking order
// (empty for properties without a top aggregate). The bytes are
// msgpack's (bytes_codec.go).
func EncodeCounter(c *Counter) ([]byte, error) {
	return AppendCounter(make([]byte, 0, c.SizeHint()), c), nil
}

// AppendCounter appends the stored bytes of c (EncodeCounter's) to dst;
// a dst with c.SizeHint() bytes of room takes them without growing.
func AppendCounter(dst []byte, c *Counter) []byte {
	var keys [MaxProperties]string
	names := AppendSortedKeys(keys[:0], c.Props)
	start := len(dst)
	b := appendArrayLen(dst, 2)
	b = appendInt64(b, c.Total)
	b = appendArrayLen(b, len(names))
	for _, k := range names {
		p := c.Props[k]
		b = appendArrayLen(b, 6)
		b = appendStr(b, k)
		b = appendInt64(b, p.Total)
		b = appendInt64(b, p.SumInt.Hi)
		b = appendUint64(b, p.SumInt.Lo)
		var sumBuf [64]byte
		sum := p.SumFloat.AppendBinary(sumBuf[:0])
		b = append(appendBinLen(b, len(sum)), sum...)
		b = appendBinLen(b, len(p.Top)*TopEntryLen)
		for _, t := range p.Top {
			b = append(b, t[:]...)
		}
	}
	return sealFrom(b, start)
}

var errCounterShape = errors.New("counter record: unexpected shape")

// DecodeCounter decodes stored bytes: sealed, one record in exactly the
// form EncodeCounter writes, a total that is not negative. A property
// name lookup (which may be nil) knows is keyed by lookup's string, the
// schema's, not a new one: a counter is decoded on every relation write.
func DecodeCounter(b []byte, lookup Lookup) (*Counter, error) {
	c := new(Counter)
	if err := DecodeCounterInto(c, b, lookup); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeCounterInto is DecodeCounter into c, whose previous contents it
// replaces, reusing their room (its map, its top lists): a writer that
// decodes one counter per relation write allocates nothing for it once
// warm. What c held before must no longer be in use.
func DecodeCounterInto(c *Counter, b []byte, lookup Lookup) error {
	body, err := Unseal(b)
	if err != nil {
		return err
	}
	c.Reset()
	if err := c.decode(&byteReader{b: body}, lookup); err != nil {
		return fmt.Errorf("does not decode: %w", err)
	}
	if c.Total < 0 {
		return fmt.Errorf("negative total %d", c.Total)
	}
	return nil
}

// Reset empties c, keeping its room (map, top lists) for the next
// DecodeCounterInto.
func (c *Counter) Reset() {
	for _, p := range c.Props {
		// At most a counter's worth: writes that add a top list take
		// a new one, and the spare ones must not pile up.
		if cap(p.Top) > 0 && len(c.spare) < MaxProperties {
			c.spare = append(c.spare, p.Top[:0])
		}
	}
	clear(c.Props)
	c.Total = 0
}

// SizeHint is about how many bytes AppendCounter appends for c: enough
// unless a float sum is very wide (its exact form can take a few
// hundred bytes), when appending grows the buffer.
func (c *Counter) SizeHint() int {
	size := 16
	for k, p := range c.Props {
		size += 64 + len(k) + len(p.Top)*TopEntryLen
	}
	return size
}

// spareTop is a top list's room from a previous decode, or nil.
func (c *Counter) spareTop() []TopEntry {
	if n := len(c.spare); n > 0 {
		t := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return t
	}
	return nil
}

func (c *Counter) decode(r *byteReader, lookup Lookup) error {
	if r.arrayLen() != 2 {
		return errors.Join(errCounterShape, r.err)
	}
	c.Total = r.int64()
	n := r.arrayLen()
	if n > MaxProperties {
		return fmt.Errorf("counter record: %d properties", n)
	}
	if n > 0 && c.Props == nil {
		c.Props = make(map[string]PropCounter, n)
	}
	var prev []byte
	for i := 0; i < n && r.err == nil; i++ {
		if r.arrayLen() != 6 {
			return errors.Join(errCounterShape, r.err)
		}
		var p PropCounter
		name := r.str()
		if i > 0 && string(name) <= string(prev) {
			return fmt.Errorf("counter record: names not sorted at %q", Truncate(string(name)))
		}
		prev = name
		p.Total = r.int64()
		p.SumInt.Hi = r.int64()
		p.SumInt.Lo = r.uint64()
		sum, top := r.bin(), r.bin()
		if r.err != nil {
			break
		}
		var err error
		if p.SumFloat, err = ParseFloatSum(sum); err != nil {
			return err
		}
		if p.Top, err = decodeTop(c.spareTop(), top); err != nil {
			return err
		}
		key, ok := "", false
		if lookup != nil {
			key, _, ok = lookup(name)
		}
		if !ok {
			key = string(name)
		}
		c.Props[key] = p
	}
	return r.end()
}

// decodeTop reads a counter's top list: at most 2×MaxTop entries in
// strictly increasing byte order, into room's space when it has enough
// (room for one more: a write inserts one).
func decodeTop(room []TopEntry, b []byte) ([]TopEntry, error) {
	if len(b)%TopEntryLen != 0 || len(b)/TopEntryLen > 2*MaxTop {
		return nil, fmt.Errorf("counter record: top list of %d bytes", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	for i := TopEntryLen; i < len(b); i += TopEntryLen {
		if bytes.Compare(b[i-TopEntryLen:i], b[i:i+TopEntryLen]) >= 0 {
			return nil, fmt.Errorf("counter record: top list out of order at entry %d", i/TopEntryLen)
		}
	}
	n := len(b) / TopEntryLen
	top := room[:0]
	if cap(top) < n+1 {
		top = make([]TopEntry, 0, n+1)
	}
	top = top[:n]
	for i := range top {
		top[i] = TopEntry(b[i*TopEntryLen:])
	}
	return top, nil
}
