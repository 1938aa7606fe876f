package record

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxNesting bounds how deeply stored msgpack may nest: relgraph's own
// records nest four levels at most, and a decoder recurses per level.
const MaxNesting = 32

// WellFormed checks that b is exactly one msgpack value whose every
// declared length fits in the bytes that follow it, nested at most
// MaxNesting deep, before a decoder trusts those lengths: a damaged
// length could otherwise make the decoder allocate megabytes for a
// record of a few bytes (it grows its buffer towards the length it was
// told), and deep nesting exhaust its stack. One pass; it allocates
// only for nesting.
func WellFormed(b []byte) error {
	var inline [8]int
	levels := append(inline[:0], 1) // values still to read, per nesting level
	pending := uint64(1)            // their sum
	i := 0
	for len(levels) > 0 {
		if levels[len(levels)-1] == 0 {
			levels = levels[:len(levels)-1]
			continue
		}
		levels[len(levels)-1]--
		pending--
		if i >= len(b) {
			return errors.New("msgpack: value missing at the end")
		}
		c := b[i]
		i++
		var size int       // bytes of the value's length field
		var payload uint64 // bytes after it (an ext's type byte, a number, a string)
		var items uint64   // values it contains
		var n uint64       // the length read from the field
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			continue
		case c <= 0x8f:
			items = 2 * uint64(c&0x0f)
		case c <= 0x9f:
			items = uint64(c & 0x0f)
		case c <= 0xbf:
			payload = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			size = 1
		case c == 0xc5 || c == 0xda:
			size = 2
		case c == 0xc6 || c == 0xdb:
			size = 4
		case c == 0xc7:
			size, payload = 1, 1
		case c == 0xc8:
			size, payload = 2, 1
		case c == 0xc9:
			size, payload = 4, 1
		case c == 0xca:
			payload = 4
		case c == 0xcb:
			payload = 8
		case c >= 0xcc && c <= 0xcf:
			payload = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3:
			payload = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8:
			payload = 1 + 1<<(c-0xd4)
		case c == 0xdc || c == 0xde:
			size = 2
		case c == 0xdd || c == 0xdf:
			size = 4
		default:
			return fmt.Errorf("msgpack: byte 0x%02x at %d starts no value", c, i-1)
		}
		if len(b)-i < size {
			return fmt.Errorf("msgpack: length of the value at %d cut off", i-1)
		}
		switch size {
		case 1:
			n = uint64(b[i])
		case 2:
			n = uint64(binary.BigEndian.Uint16(b[i:]))
		case 4:
			n = uint64(binary.BigEndian.Uint32(b[i:]))
		}
		i += size
		switch c {
		case 0xdc, 0xdd:
			items = n
		case 0xde, 0xdf:
			items = 2 * n
		default:
			payload += n
		}
		rest := uint64(len(b) - i)
		if payload > rest {
			return fmt.Errorf("msgpack: the value at %d declares %d bytes, %d follow", i-size-1, payload, rest)
		}
		i += int(payload)
		rest -= payload
		if items > rest || pending+items > rest { // every value takes a byte at least
			return fmt.Errorf("msgpack: %d values declared, %d bytes follow", pending+items, rest)
		}
		if items > 0 {
			if len(levels) == MaxNesting {
				return fmt.Errorf("msgpack: nested more than %d deep at %d", MaxNesting, i)
			}
			levels = append(levels, int(items))
			pending += items
		}
	}
	if i != len(b) {
		return fmt.Errorf("%d trailing bytes", len(b)-i)
	}
	return nil
}
