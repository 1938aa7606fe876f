package relgraph

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Stored records are msgpack, canonical: map keys are sorted and every
// value has one encoding, so equal records give equal bytes. Relations
// and counters are written on every relation write, so they have
// hand-written codecs (relation_record.go, counter.go); profiles are
// written by hand too (profile_codec.go), for import, and read by
// reflection; the schema uses the reflective codec both ways. This file
// holds what the codecs share: the encoder pool, exact decoding, the
// strict readers, and stored times.

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

// decodeExact runs fn over b, once b is one well-formed msgpack value
// (wellFormed), and fails if bytes are left over.
func decodeExact(b []byte, fn func(d *msgpack.Decoder) error) error {
	if err := wellFormed(b); err != nil {
		return err
	}
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

// unmarshal decodes stored msgpack bytes into the struct v (through
// decodeExact: well formed, nothing left over), refusing keys v does not
// have, so a record has one encoding.
func unmarshal(b []byte, v any) error {
	return decodeExact(b, func(d *msgpack.Decoder) error {
		d.DisallowUnknownFields(true)
		defer d.DisallowUnknownFields(false)
		return d.Decode(v)
	})
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

// nanos converts a time to stored Unix nanoseconds (0 for the zero time).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// unixNanos converts times stored as Unix nanoseconds.
func unixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
