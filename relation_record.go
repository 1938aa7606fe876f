package relgraph

import (
	"bytes"
	"encoding/binary"
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
	var r relationRecord
	if err := decodeExact(body, r.DecodeMsgpack); err != nil {
		return nil, corruptf("relation %d %s→%s does not decode: %v", rt.ID, b, a, err)
	}
	for name, w := range r.Weights {
		p, ok := rt.Property(name)
		if !ok {
			return nil, corruptf("relation %d %s→%s: stored property %q is not declared", rt.ID, b, a, truncate(name))
		}
		if !storedTypeOK(p.Type, w) {
			return nil, corruptf("relation %d %s→%s: stored property %q is %T, declared %s", rt.ID, b, a, name, w, p.Type)
		}
	}
	if r.Weights == nil {
		r.Weights = Weights{}
	}
	return &r, nil
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

// DecodeMsgpack reads what EncodeMsgpack writes, and nothing else.
func (r *relationRecord) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := decodeLen(d.DecodeMapLen())
	if err != nil || n != 3 {
		return fmt.Errorf("relation record: want a map of 3, got %d (%v)", n, err)
	}
	for _, want := range []string{"c", "u", "w"} {
		k, err := d.DecodeString()
		if err != nil || k != want {
			return fmt.Errorf("relation record: want key %q, got %q (%v)", want, k, err)
		}
		switch k {
		case "c":
			r.Created, err = strictInt64(d)
		case "u":
			r.Updated, err = strictInt64(d)
		case "w":
			r.Weights, err = decodeWeights(d)
		}
		if err != nil {
			return fmt.Errorf("relation record %q: %w", k, err)
		}
	}
	return nil
}

func decodeWeights(d *msgpack.Decoder) (Weights, error) {
	n, err := decodeLen(d.DecodeMapLen())
	if err != nil {
		return nil, err
	}
	w := make(Weights, min(n, MaxProperties))
	prev := ""
	for i := 0; i < n; i++ {
		k, err := d.DecodeString()
		if err != nil {
			return nil, err
		}
		if i > 0 && k <= prev {
			return nil, fmt.Errorf("property names not sorted at %q", k)
		}
		prev = k
		code, err := d.PeekCode()
		if err != nil {
			return nil, err
		}
		var v any
		switch {
		case code == msgpcode.Int64:
			v, err = d.DecodeInt64()
		case code == msgpcode.Double:
			v, err = d.DecodeFloat64()
		case code == msgpcode.True || code == msgpcode.False:
			v, err = d.DecodeBool()
		case msgpcode.IsString(code):
			v, err = d.DecodeString()
		default:
			err = fmt.Errorf("property %q: unexpected msgpack code 0x%02x", k, code)
		}
		if err != nil {
			return nil, err
		}
		w[k] = v
	}
	return w, nil
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
