package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpack written and read straight on byte slices, for the records on
// every write's path (counters): the encoder and decoder of
// vmihailenco/msgpack cost an interface call, a reader and a pool per
// value, which came to a third of an overwrite's CPU. The bytes are the
// ones msgpack.Encoder writes for the same calls (a test holds them to
// it); the reader takes those forms only, so a record has one encoding.

func appendArrayLen(b []byte, n int) []byte {
	return appendLen(b, n, msgpcode.FixedArrayLow, msgpcode.Array16, msgpcode.Array32)
}

func appendMapLen(b []byte, n int) []byte {
	return appendLen(b, n, msgpcode.FixedMapLow, msgpcode.Map16, msgpcode.Map32)
}

// appendLen writes an array's or a map's length in its shortest form,
// as msgpack.Encoder does: fixed below 16, then 16 or 32 bits.
func appendLen(b []byte, n int, fixed, c16, c32 byte) []byte {
	switch {
	case n < 16:
		return append(b, fixed|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

// appendInt64 writes n as EncodeInt64 does: always 0xd3 and 8 bytes.
func appendInt64(b []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Int64), uint64(n))
}

// appendUint64 writes n as EncodeUint64 does: always 0xcf and 8 bytes.
func appendUint64(b []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Uint64), n)
}

func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, msgpcode.FixedStrLow|byte(n))
	case n < 256:
		b = append(b, msgpcode.Str8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Str16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Str32), uint32(n))
	}
	return append(b, s...)
}

// appendBinLen starts a bin of n bytes (never nil): the caller appends
// them.
func appendBinLen(b []byte, n int) []byte {
	switch {
	case n < 256:
		return append(b, msgpcode.Bin8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Bin16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, msgpcode.Bin32), uint32(n))
}

var errShort = errors.New("ends early")

// byteReader reads what the appenders write, in their forms only, and
// keeps the first error: every read after it returns zeros.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *byteReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail(errShort)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *byteReader) code() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *byteReader) uint16() int {
	if b := r.take(2); b != nil {
		return int(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *byteReader) uint32() int {
	if b := r.take(4); b != nil {
		return int(binary.BigEndian.Uint32(b))
	}
	return 0
}

// arrayLen reads an array's length in its shortest form, at most
// MaxDecodedLen.
func (r *byteReader) arrayLen() int {
	c, n := r.code(), 0
	switch {
	case c&0xf0 == msgpcode.FixedArrayLow:
		n = int(c & 0x0f)
	case c == msgpcode.Array16:
		if n = r.uint16(); n < 16 {
			r.fail(fmt.Errorf("an array16 of %d", n))
		}
	case c == msgpcode.Array32:
		if n = r.uint32(); n <= math.MaxUint16 {
			r.fail(fmt.Errorf("an array32 of %d", n))
		}
	default:
		r.fail(fmt.Errorf("want an array, got 0x%02x", c))
	}
	if n > MaxDecodedLen {
		r.fail(fmt.Errorf("collection length %d out of range", n))
	}
	if r.err != nil {
		return 0
	}
	return n
}

func (r *byteReader) int64() int64 {
	if c := r.code(); c != msgpcode.Int64 {
		r.fail(fmt.Errorf("want an int64 (0xd3), got 0x%02x", c))
	}
	if b := r.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *byteReader) uint64() uint64 {
	if c := r.code(); c != msgpcode.Uint64 {
		r.fail(fmt.Errorf("want a uint64 (0xcf), got 0x%02x", c))
	}
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// str reads a string in its shortest form; the result shares r's bytes.
func (r *byteReader) str() []byte {
	c, n := r.code(), 0
	switch {
	case c&0xe0 == msgpcode.FixedStrLow:
		n = int(c & 0x1f)
	case c == msgpcode.Str8:
		if n = int(r.code()); n < 32 {
			r.fail(fmt.Errorf("a str8 of %d", n))
		}
	case c == msgpcode.Str16:
		if n = r.uint16(); n < 256 {
			r.fail(fmt.Errorf("a str16 of %d", n))
		}
	case c == msgpcode.Str32:
		if n = r.uint32(); n <= math.MaxUint16 {
			r.fail(fmt.Errorf("a str32 of %d", n))
		}
	default:
		r.fail(fmt.Errorf("want a string, got 0x%02x", c))
	}
	return r.take(n)
}

// bin reads a bin in its shortest form (never nil, even empty); the
// result shares r's bytes.
func (r *byteReader) bin() []byte {
	c, n := r.code(), 0
	switch c {
	case msgpcode.Bin8:
		n = int(r.code())
	case msgpcode.Bin16:
		if n = r.uint16(); n < 256 {
			r.fail(fmt.Errorf("a bin16 of %d bytes", n))
		}
	case msgpcode.Bin32:
		if n = r.uint32(); n <= math.MaxUint16 {
			r.fail(fmt.Errorf("a bin32 of %d bytes", n))
		}
	default:
		r.fail(fmt.Errorf("want a bin, got 0x%02x", c))
	}
	return r.take(n)
}

// end fails unless every byte was read.
func (r *byteReader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Errorf("%d trailing bytes", len(r.b)))
	}
	return r.err
}
