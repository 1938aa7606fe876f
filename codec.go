package relgraph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Relations and counters are written on every relation write, so they
// have hand-written msgpack codecs (no reflection); profiles and schema
// use the reflective codec. All encodings are canonical: map keys are
// sorted, so equal values give equal bytes.

var encoders = sync.Pool{New: func() any {
	buf := new(bytes.Buffer)
	enc := msgpack.NewEncoder(buf)
	enc.SetSortMapKeys(true)
	return &pooledEncoder{buf: buf, enc: enc}
}}

type pooledEncoder struct {
	buf *bytes.Buffer
	enc *msgpack.Encoder
}

// encode marshals v canonically and returns a fresh slice, with room
// for the checksum that seal appends.
func encode(v any) ([]byte, error) {
	p := encoders.Get().(*pooledEncoder)
	defer encoders.Put(p)
	p.buf.Reset()
	if err := p.enc.Encode(v); err != nil {
		return nil, err
	}
	out := make([]byte, p.buf.Len(), p.buf.Len()+4)
	copy(out, p.buf.Bytes())
	return out, nil
}

// decodeExact runs fn over b and fails if bytes are left over.
func decodeExact(b []byte, fn func(d *msgpack.Decoder) error) error {
	r := bytes.NewReader(b)
	d := msgpack.GetDecoder()
	defer msgpack.PutDecoder(d)
	d.Reset(r)
	if err := fn(d); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", r.Len())
	}
	return nil
}

// maxDecodedLen bounds collection lengths read from stored bytes, so a
// corrupt length cannot make a decoder allocate without limit.
const maxDecodedLen = 1 << 16

func decodeLen(n int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	if n < 0 || n > maxDecodedLen {
		return 0, fmt.Errorf("collection length %d out of range", n)
	}
	return n, nil
}

// strictInt64 reads an int64 written by EncodeInt64 (code 0xd3), and
// nothing else, so a record has one encoding only.
func strictInt64(d *msgpack.Decoder) (int64, error) {
	if code, err := d.PeekCode(); err != nil || code != msgpcode.Int64 {
		return 0, fmt.Errorf("want an int64 (0xd3), got 0x%02x (%v)", code, err)
	}
	return d.DecodeInt64()
}

func strictUint64(d *msgpack.Decoder) (uint64, error) {
	if code, err := d.PeekCode(); err != nil || code != msgpcode.Uint64 {
		return 0, fmt.Errorf("want a uint64 (0xcf), got 0x%02x (%v)", code, err)
	}
	return d.DecodeUint64()
}

func strictFloat64(d *msgpack.Decoder) (float64, error) {
	if code, err := d.PeekCode(); err != nil || code != msgpcode.Double {
		return 0, fmt.Errorf("want a float64 (0xcb), got 0x%02x (%v)", code, err)
	}
	return d.DecodeFloat64()
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

// shortestBin reads a bin8 or bin16 and refuses a bin16 that a bin8
// could hold, so a record has one encoding only.
func shortestBin(d *msgpack.Decoder) ([]byte, error) {
	code, err := d.PeekCode()
	if err != nil || (code != msgpcode.Bin8 && code != msgpcode.Bin16) {
		return nil, fmt.Errorf("want a bin (0xc4 or 0xc5), got 0x%02x (%v)", code, err)
	}
	b, err := d.DecodeBytes()
	if err != nil {
		return nil, err
	}
	if code == msgpcode.Bin16 && len(b) <= math.MaxUint8 {
		return nil, fmt.Errorf("a bin16 of %d bytes", len(b))
	}
	return b, nil
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
