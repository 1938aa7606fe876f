package relgraph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// relationRecord is a relation as stored (msgpack, canonical: sorted
// keys, int64 and float64 keep their msgpack types).
type relationRecord struct {
	Weights Weights `msgpack:"w"`
	Created int64   `msgpack:"c"`
	Updated int64   `msgpack:"u"`
}

func encodeRelation(r *relationRecord) ([]byte, error) {
	b, err := encode(r)
	if err != nil {
		return nil, storageErr("encode relation", err)
	}
	return seal(b), nil
}

// decodeRelation decodes stored bytes and checks every weight against
// the relation type; anything else is ErrCorrupt.
func decodeRelation(rt *RelationType, a, b ProfileID, v []byte) (*relationRecord, error) {
	var buf [8]storedWeight
	var r relationRecord
	ws, err := readRelation(rt, a, b, v, &r.Created, &r.Updated, buf[:0])
	if err != nil {
		return nil, err
	}
	r.Weights = weightsOf(ws)
	return &r, nil
}

// EncodeMsgpack writes {"c": created, "u": updated, "w": {name: value}}
// with names sorted; int64 and float64 keep their 9-byte forms.
func (r *relationRecord) EncodeMsgpack(e *msgpack.Encoder) error {
	names := sortedKeys(r.Weights)
	var err error
	try := func(e error) {
		if err == nil {
			err = e
		}
	}
	try(e.EncodeMapLen(3))
	try(e.EncodeString("c"))
	try(e.EncodeInt64(r.Created))
	try(e.EncodeString("u"))
	try(e.EncodeInt64(r.Updated))
	try(e.EncodeString("w"))
	try(e.EncodeMapLen(len(names)))
	for _, k := range names {
		try(e.EncodeString(k))
		switch v := r.Weights[k].(type) {
		case int64:
			try(e.EncodeInt64(v))
		case float64:
			try(e.EncodeFloat64(v))
		case bool:
			try(e.EncodeBool(v))
		case string:
			try(e.EncodeString(v))
		default:
			try(fmt.Errorf("property %q: cannot store %T", k, v))
		}
	}
	return err
}

// readRelation reads a sealed relation record in place: created and
// updated, and the weights appended to ws (names from the schema,
// strings pointing into v). Every weight is checked against the
// relation type; anything else is ErrCorrupt.
func readRelation(rt *RelationType, a, b ProfileID, v []byte, created, updated *int64, ws []storedWeight) ([]storedWeight, error) {
	body, err := unseal(v)
	if err != nil {
		return nil, corruptf("relation %d %s→%s: %v", rt.ID, b, a, err)
	}
	ws, err = parseRelation(body, rt, created, updated, ws)
	if err != nil {
		return nil, corruptf("relation %d %s→%s does not decode: %v", rt.ID, b, a, err)
	}
	return ws, nil
}

// storedWeight is one property of a stored relation, read in place.
type storedWeight struct {
	name string       // the schema's copy: no allocation
	typ  PropertyType // as declared, and as stored (parseRelation checks)
	bits uint64       // int64 or float64 bits; 1 for true
	str  []byte       // a string property's bytes, inside the record
}

// value is the weight as Weights holds it.
func (w storedWeight) value() any {
	switch w.typ {
	case PropInt:
		return int64(w.bits)
	case PropFloat:
		return math.Float64frombits(w.bits)
	case PropBool:
		return w.bits == 1
	default:
		return string(w.str)
	}
}

// findWeight is property name's weight among ws, if the relation has it.
func findWeight(ws []storedWeight, name string) (storedWeight, bool) {
	for _, w := range ws {
		if w.name == name {
			return w, true
		}
	}
	return storedWeight{}, false
}

// weightsOf builds the map of ws.
func weightsOf(ws []storedWeight) Weights {
	m := make(Weights, len(ws))
	for _, w := range ws {
		m[w.name] = w.value()
	}
	return m
}

// parseRelation reads a relation record's body as EncodeMsgpack writes
// it, byte by byte: relations/get and top-list refills read many
// records, and a general msgpack decoder spends most of its time on what
// this format never holds. It accepts that format only, strictly:
// {"c": int64, "u": int64, "w": {name: value}} with names sorted and
// declared by rt, each value of its property's type (no NaN or
// infinity, strings within MaxPropertyStringBytes), every string in its
// shortest form, nothing after. The weights are appended to ws.
func parseRelation(b []byte, rt *RelationType, created, updated *int64, ws []storedWeight) ([]storedWeight, error) {
	for _, part := range []struct {
		head []byte
		to   *int64
	}{{recordC, created}, {recordU, updated}} {
		if !bytes.HasPrefix(b, part.head) || len(b) < len(part.head)+8 {
			return nil, errors.New("relation record: unexpected header")
		}
		*part.to = int64(binary.BigEndian.Uint64(b[len(part.head):]))
		b = b[len(part.head)+8:]
	}
	if !bytes.HasPrefix(b, recordW) || len(b) < len(recordW)+1 {
		return nil, errors.New("relation record: unexpected header")
	}
	b = b[len(recordW):]
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
		p, ok := rt.Property(string(key)) // no allocation: the conversion is only compared
		if !ok {
			return nil, fmt.Errorf("stored property %q is not declared", truncate(string(key)))
		}
		if len(b) == 0 {
			return nil, errors.New("relation record: truncated")
		}
		w := storedWeight{name: p.Name}
		switch c := b[0]; {
		case c == msgpcode.Int64 && len(b) >= 9:
			w.typ, w.bits, b = PropInt, binary.BigEndian.Uint64(b[1:]), b[9:]
		case c == msgpcode.Double && len(b) >= 9:
			w.typ, w.bits, b = PropFloat, binary.BigEndian.Uint64(b[1:]), b[9:]
			if f := math.Float64frombits(w.bits); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("stored property %q is %v", p.Name, f)
			}
		case c == msgpcode.True || c == msgpcode.False:
			w.typ, b = PropBool, b[1:]
			if c == msgpcode.True {
				w.bits = 1
			}
		default:
			s, rest, ok := cutCanonicalString(b)
			if !ok {
				return nil, fmt.Errorf("property %q: unexpected msgpack code 0x%02x", p.Name, c)
			}
			if len(s) > MaxPropertyStringBytes {
				return nil, fmt.Errorf("stored property %q is a string of %d bytes, at most %d", p.Name, len(s), MaxPropertyStringBytes)
			}
			w.typ, w.str, b = PropString, s, rest
		}
		if w.typ != p.Type {
			return nil, fmt.Errorf("stored property %q is %s, declared %s", p.Name, w.typ, p.Type)
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
	recordC = []byte{0x83, 0xa1, 'c', msgpcode.Int64}
	recordU = []byte{0xa1, 'u', msgpcode.Int64}
	recordW = []byte{0xa1, 'w'}
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
