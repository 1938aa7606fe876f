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
	body, err := unseal(v)
	if err != nil {
		return nil, corruptf("relation %d %s→%s: %v", rt.ID, b, a, err)
	}
	r, err := parseRelation(body, rt)
	if err != nil {
		return nil, corruptf("relation %d %s→%s does not decode: %v", rt.ID, b, a, err)
	}
	for name, w := range r.Weights {
		p, _ := rt.Property(name)
		if !storedTypeOK(p.Type, w) {
			return nil, corruptf("relation %d %s→%s: stored property %q is %T, declared %s", rt.ID, b, a, name, w, p.Type)
		}
	}
	return r, nil
}

func storedTypeOK(t PropertyType, v any) bool {
	switch x := v.(type) {
	case int64:
		return t == PropInt
	case float64:
		return t == PropFloat && !math.IsNaN(x) && !math.IsInf(x, 0)
	case bool:
		return t == PropBool
	case string:
		return t == PropString && len(x) <= MaxPropertyStringBytes
	}
	return false
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

// parseRelation reads a relation record's body as EncodeMsgpack writes
// it, and nothing else (every length in its shortest form, names sorted),
// byte by byte: relations/get and top-list refills read many records,
// and a general msgpack decoder spends most of its time on what this
// format never holds. Property names are the relation type's own strings
// (no copy per record); a name it does not declare is an error.
func parseRelation(b []byte, rt *RelationType) (*relationRecord, error) {
	var r relationRecord
	for _, part := range []struct {
		head []byte
		to   *int64
	}{{recordC, &r.Created}, {recordU, &r.Updated}} {
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
	r.Weights = make(Weights, n)
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
		var v any
		switch c := b[0]; {
		case c == msgpcode.Int64 && len(b) >= 9:
			v, b = int64(binary.BigEndian.Uint64(b[1:])), b[9:]
		case c == msgpcode.Double && len(b) >= 9:
			v, b = math.Float64frombits(binary.BigEndian.Uint64(b[1:])), b[9:]
		case c == msgpcode.True || c == msgpcode.False:
			v, b = c == msgpcode.True, b[1:]
		default:
			s, rest, ok := cutCanonicalString(b)
			if !ok {
				return nil, fmt.Errorf("property %q: unexpected msgpack code 0x%02x", p.Name, c)
			}
			v, b = string(s), rest
		}
		r.Weights[p.Name] = v
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return &r, nil
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

// numericWeight reads property name's int64 or float64 from a sealed
// relation record without decoding the rest: top-list refills read
// every relation of a profile, and the full decoder spends most of its
// time building maps they do not need. ok is false when the bytes are
// not shaped as EncodeMsgpack writes them (or the checksum fails): the
// caller then decodes with decodeRelation, which names the problem. It
// checks only what it reads; Check validates whole records.
func numericWeight(v []byte, name string) (val any, has, ok bool) {
	b, err := unseal(v)
	if err != nil {
		return nil, false, false
	}
	for _, want := range [][]byte{recordC, recordU, recordW} {
		if !bytes.HasPrefix(b, want) {
			return nil, false, false
		}
		b = b[len(want):]
		if want[len(want)-1] == msgpcode.Int64 {
			if len(b) < 8 {
				return nil, false, false
			}
			b = b[8:]
		}
	}
	if len(b) == 0 {
		return nil, false, false
	}
	var n int
	switch {
	case b[0]&0xf0 == 0x80: // fixmap
		n, b = int(b[0]&0x0f), b[1:]
	case b[0] == msgpcode.Map16 && len(b) >= 3:
		n, b = int(b[1])<<8|int(b[2]), b[3:]
	default:
		return nil, false, false
	}
	for range n {
		var key []byte
		if key, b, ok = cutString(b); !ok || len(b) == 0 {
			return nil, false, false
		}
		var value []byte
		switch c := b[0]; {
		case c == msgpcode.Int64 || c == msgpcode.Double:
			if len(b) < 9 {
				return nil, false, false
			}
			value, b = b[:9], b[9:]
		case c == msgpcode.True || c == msgpcode.False:
			value, b = b[:1], b[1:]
		default:
			if _, b, ok = cutString(b); !ok {
				return nil, false, false
			}
		}
		if string(key) != name {
			continue
		}
		switch {
		case len(value) == 9 && value[0] == msgpcode.Int64:
			return int64(binary.BigEndian.Uint64(value[1:])), true, true
		case len(value) == 9:
			return math.Float64frombits(binary.BigEndian.Uint64(value[1:])), true, true
		default:
			return nil, false, false // not numeric
		}
	}
	return nil, false, len(b) == 0
}

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
