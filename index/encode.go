// Package index holds relgraph's key encodings: how profile ids, database
// and relation ids, and typed values become bytes that sort correctly and
// never collide.
//
// Rules every key follows: fixed-width big-endian integers;
// variable-length parts are length-prefixed, or escaped where their order
// matters; no separator that data can contain. So no key of one
// (value, id) is a prefix of another's, and bytes.Compare on encodings
// agrees with comparing the values they encode.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// IDLen is the length of a profile id in bytes.
const IDLen = 12

// ErrMalformed is returned by decoders given bytes no encoder produces.
var ErrMalformed = errors.New("malformed key")

// AppendUint32 appends v big-endian.
func AppendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// AppendUint64 appends v big-endian.
func AppendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// AppendInt64 appends v so that byte order equals numeric order: the sign
// bit is flipped, then big-endian.
func AppendInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^(1<<63))
}

// DecodeInt64 reverses AppendInt64 on the first 8 bytes of b.
func DecodeInt64(b []byte) (int64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: int64 needs 8 bytes, have %d", ErrMalformed, len(b))
	}
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)), nil
}

// AppendFloat64 appends f so that byte order equals numeric order:
// positive floats get the sign bit set, negative ones are inverted whole.
// -0 is encoded as +0 so the two compare equal, as they do in Go. NaN is
// not a storable value and must be refused before encoding.
func AppendFloat64(b []byte, f float64) []byte {
	if f == 0 {
		f = 0 // folds -0 into +0
	}
	u := math.Float64bits(f)
	if u&(1<<63) != 0 {
		u = ^u
	} else {
		u |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(b, u)
}

// DecodeFloat64 reverses AppendFloat64 on the first 8 bytes of b.
func DecodeFloat64(b []byte) (float64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: float64 needs 8 bytes, have %d", ErrMalformed, len(b))
	}
	u := binary.BigEndian.Uint64(b)
	if u&(1<<63) != 0 {
		u &^= 1 << 63
	} else {
		u = ^u
	}
	return math.Float64frombits(u), nil
}

// AppendDescFloat64 appends f so that byte order is the reverse of
// numeric order (highest first), for top-N lists.
func AppendDescFloat64(b []byte, f float64) []byte {
	n := len(b)
	b = AppendFloat64(b, f)
	for i := n; i < len(b); i++ {
		b[i] = ^b[i]
	}
	return b
}

// DecodeDescFloat64 reverses AppendDescFloat64.
func DecodeDescFloat64(b []byte) (float64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: float64 needs 8 bytes, have %d", ErrMalformed, len(b))
	}
	var inv [8]byte
	for i := range inv {
		inv[i] = ^b[i]
	}
	return DecodeFloat64(inv[:])
}

// AppendDescInt64 appends v so that byte order is the reverse of numeric
// order (highest first).
func AppendDescInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, ^(uint64(v) ^ (1 << 63)))
}

// DecodeDescInt64 reverses AppendDescInt64.
func DecodeDescInt64(b []byte) (int64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: int64 needs 8 bytes, have %d", ErrMalformed, len(b))
	}
	return int64(^binary.BigEndian.Uint64(b) ^ (1 << 63)), nil
}

// AppendOrderedString appends s so that byte order equals string order
// and no encoding is a prefix of another: each 0x00 byte becomes 0x00
// 0xFF, and the string ends with 0x00 0x01.
func AppendOrderedString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			b = append(b, 0, 0xFF)
		} else {
			b = append(b, s[i])
		}
	}
	return append(b, 0, 1)
}

// DecodeOrderedString reverses AppendOrderedString and returns the string
// and the bytes after it.
func DecodeOrderedString(b []byte) (string, []byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", nil, fmt.Errorf("%w: string escape cut short", ErrMalformed)
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			return string(out), b[i+2:], nil
		default:
			return "", nil, fmt.Errorf("%w: bad string escape 0x00 0x%02x", ErrMalformed, b[i+1])
		}
	}
	return "", nil, fmt.Errorf("%w: string not terminated", ErrMalformed)
}

// AppendLenString appends a 2-byte length then s. Use it where the parts
// after s must be found by position and order among strings of different
// lengths does not matter. s must be shorter than 64 KiB.
func AppendLenString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// DecodeLenString reverses AppendLenString and returns the rest.
func DecodeLenString(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, fmt.Errorf("%w: length prefix cut short", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, fmt.Errorf("%w: string of %d bytes cut short at %d", ErrMalformed, n, len(b)-2)
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}
