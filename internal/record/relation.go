package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Bounds the decoders hold stored records to: no write stores more, so
// a record past them is damage.
const (
	MaxProperties          = 64   // weights in a relation, properties in a counter
	MaxTop                 = 100  // a top list holds at most 2×MaxTop entries
	MaxPropertyStringBytes = 1024 // a relation's string property
)

// Type is a relation property's type, named as the schema names it.
type Type string

// The property types.
const (
	TypeInt    Type = "int"
	TypeFloat  Type = "float"
	TypeBool   Type = "bool"
	TypeString Type = "string"
	// TypeStored, from a Lookup, takes a property as the record holds
	// it, whatever its declaration says now (a change feed's past
	// records).
	TypeStored Type = "stored"
)

// Relation is a relation as stored: its weights by property name, and
// its times (Unix nanoseconds).
type Relation struct {
	Weights map[string]any // int64, float64, bool or string
	Created int64
	Updated int64
}

// EncodeRelation returns the stored bytes of r (sealed): the bytes
// EncodeMsgpack has msgpack.Encoder write (a test holds them to it),
// written straight into one buffer of RelationSize(r).
func EncodeRelation(r *Relation) ([]byte, error) {
	return AppendRelation(make([]byte, 0, RelationSize(r)), r)
}

// RelationSize is room enough for r's stored bytes: AppendRelation
// into a buffer with that much room left does not reallocate.
func RelationSize(r *Relation) int {
	size := len(relationC) + 8 + len(relationU) + 8 + len(relationW) + 5 + 4 // 4: the seal
	for k, v := range r.Weights {
		size += 5 + len(k) + 9
		if s, ok := v.(string); ok {
			size += 5 + len(s)
		}
	}
	return size
}

// AppendRelation appends r's stored bytes (EncodeRelation's) to dst,
// sealed on their own: dst's earlier bytes are not part of the record.
// It fails on a weight that is not an int64, float64, bool or string.
func AppendRelation(dst []byte, r *Relation) ([]byte, error) {
	var keys [MaxProperties]string
	names := AppendSortedKeys(keys[:0], r.Weights)
	start := len(dst)
	b := appendInt64(append(dst, relationC[:len(relationC)-1]...), r.Created)
	b = appendInt64(append(b, relationU[:len(relationU)-1]...), r.Updated)
	b = appendMapLen(append(b, relationW...), len(names))
	for _, k := range names {
		b = appendStr(b, k)
		switch v := r.Weights[k].(type) {
		case int64:
			b = appendInt64(b, v)
		case float64:
			b = binary.BigEndian.AppendUint64(append(b, msgpcode.Double), math.Float64bits(v))
		case bool:
			c := msgpcode.False
			if v {
				c = msgpcode.True
			}
			b = append(b, c)
		case string:
			b = appendStr(b, v)
		default:
			return nil, fmt.Errorf("property %q: cannot store %T", k, v)
		}
	}
	return sealFrom(b, start), nil
}

// EncodeMsgpack writes {"c": created, "u": updated, "w": {name: value}}
// with names sorted; int64 and float64 keep their 9-byte forms.
func (r *Relation) EncodeMsgpack(e *msgpack.Encoder) error {
	var keys [MaxProperties]string
	names := AppendSortedKeys(keys[:0], r.Weights)
	w := writer{e: e}
	w.mapLen(3).str("c").int64(r.Created).str("u").int64(r.Updated).str("w").mapLen(len(names))
	for _, k := range names {
		w.str(k)
		switch v := r.Weights[k].(type) {
		case int64:
			w.int64(v)
		case float64:
			w.try(e.EncodeFloat64(v))
		case bool:
			w.try(e.EncodeBool(v))
		case string:
			w.str(v)
		default:
			w.try(fmt.Errorf("property %q: cannot store %T", k, v))
		}
	}
	return w.err
}

// Weight is one property of a stored relation, read in place.
type Weight struct {
	Name string // the name Lookup gave: the schema's copy, no allocation
	Type Type   // as declared, and as stored (ParseRelation checks)
	Bits uint64 // int64 or float64 bits; 1 for true
	Str  []byte // a string property's bytes, inside the record
}

// Value is the weight as a Go value: int64, float64, bool or string.
func (w Weight) Value() any {
	switch w.Type {
	case TypeInt:
		return int64(w.Bits)
	case TypeFloat:
		return math.Float64frombits(w.Bits)
	case TypeBool:
		return w.Bits == 1
	default:
		return string(w.Str)
	}
}

// FindWeight is property name's weight among ws, if the relation has it.
func FindWeight(ws []Weight, name string) (Weight, bool) {
	for _, w := range ws {
		if w.Name == name {
			return w, true
		}
	}
	return Weight{}, false
}

// Lookup finds a declared property by its name (the bytes in a record):
// the schema's own copy of the name, and its type.
type Lookup func(name []byte) (string, Type, bool)

// ParseRelation reads a sealed relation record in place, byte by byte
// as EncodeMsgpack writes it: relations/get and top-list refills read
// many records, and a general msgpack decoder spends most of its time on
// what this format never holds. It accepts that format only, strictly:
// {"c": int64, "u": int64, "w": {name: value}} with names sorted and
// declared (lookup), each value of its property's type (no NaN or
// infinity, strings within MaxPropertyStringBytes), every string in its
// shortest form, nothing after. It sets created and updated and appends
// the weights to ws.
func ParseRelation(v []byte, lookup Lookup, created, updated *int64, ws []Weight) ([]Weight, error) {
	b, err := Unseal(v)
	if err != nil {
		return nil, err
	}
	for _, part := range []struct {
		head []byte
		to   *int64
	}{{relationC, created}, {relationU, updated}} {
		if !bytes.HasPrefix(b, part.head) || len(b) < len(part.head)+8 {
			return nil, errors.New("relation record: unexpected header")
		}
		*part.to = int64(binary.BigEndian.Uint64(b[len(part.head):]))
		b = b[len(part.head)+8:]
	}
	if !bytes.HasPrefix(b, relationW) || len(b) < len(relationW)+1 {
		return nil, errors.New("relation record: unexpected header")
	}
	b = b[len(relationW):]
	var n int
	switch c := b[0]; {
	case c&0xf0 == 0x80:
		n, b = int(c&0x0f), b[1:]
	case c == msgpcode.Map16 && len(b) >= 3:
		n, b = int(binary.BigEndian.Uint16(b[1:])), b[3:]
		if n < 16 {
			return nil, errors.New("relation record: a map16 of fewer than 16")
		}
	default:
		return nil, errors.New("relation record: weights are not a map")
	}
	if n > MaxProperties {
		return nil, fmt.Errorf("relation record: %d weights", n)
	}
	var prev []byte
	for i := 0; i < n; i++ {
		key, rest, ok := cutCanonicalString(b)
		if !ok || (i > 0 && bytes.Compare(key, prev) <= 0) {
			return nil, errors.New("relation record: property names not sorted, or malformed")
		}
		prev, b = key, rest
		name, declared, ok := lookup(key)
		if !ok {
			return nil, fmt.Errorf("stored property %q is not declared", Truncate(string(key)))
		}
		if len(b) == 0 {
			return nil, errors.New("relation record: truncated")
		}
		w := Weight{Name: name}
		switch c := b[0]; {
		case c == msgpcode.Int64 && len(b) >= 9:
			w.Type, w.Bits, b = TypeInt, binary.BigEndian.Uint64(b[1:]), b[9:]
		case c == msgpcode.Double && len(b) >= 9:
			w.Type, w.Bits, b = TypeFloat, binary.BigEndian.Uint64(b[1:]), b[9:]
			if f := math.Float64frombits(w.Bits); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("stored property %q is %v", name, f)
			}
		case c == msgpcode.True || c == msgpcode.False:
			w.Type, b = TypeBool, b[1:]
			if c == msgpcode.True {
				w.Bits = 1
			}
		default:
			s, rest, ok := cutCanonicalString(b)
			if !ok {
				return nil, fmt.Errorf("property %q: unexpected msgpack code 0x%02x", name, c)
			}
			if len(s) > MaxPropertyStringBytes {
				return nil, fmt.Errorf("stored property %q is a string of %d bytes, at most %d", name, len(s), MaxPropertyStringBytes)
			}
			w.Type, w.Str, b = TypeString, s, rest
		}
		if declared != TypeStored && w.Type != declared {
			return nil, fmt.Errorf("stored property %q is %s, declared %s", name, w.Type, declared)
		}
		ws = append(ws, w)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return ws, nil
}

// cutCanonicalString splits a msgpack str off the front of b, in its
// shortest form (fix, 8 or 16 bits of length).
func cutCanonicalString(b []byte) (s, rest []byte, ok bool) {
	s, rest, ok = cutString(b)
	if !ok {
		return nil, nil, false
	}
	switch n := len(s); {
	case b[0] == msgpcode.Str8 && n < 32, b[0] == msgpcode.Str16 && n < 256:
		return nil, nil, false
	}
	return s, rest, true
}

// How every relation record starts (EncodeMsgpack): a map of three,
// "c" and "u" with 8-byte int64 values, then "w".
var (
	relationC = []byte{0x83, 0xa1, 'c', msgpcode.Int64}
	relationU = []byte{0xa1, 'u', msgpcode.Int64}
	relationW = []byte{0xa1, 'w'}
)

// cutString splits a msgpack str (fix, 8 or 16) off the front of b.
func cutString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	var n, head int
	switch c := b[0]; {
	case c&0xe0 == 0xa0:
		n, head = int(c&0x1f), 1
	case c == msgpcode.Str8 && len(b) >= 2:
		n, head = int(b[1]), 2
	case c == msgpcode.Str16 && len(b) >= 3:
		n, head = int(b[1])<<8|int(b[2]), 3
	default:
		return nil, nil, false
	}
	if len(b) < head+n {
		return nil, nil, false
	}
	return b[head : head+n], b[head+n:], true
}
