package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/relgraph/relgraph/index"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The change feed's records (docs/spec.md §9).
//
// A change, under its sequence number in index.Changes, is a msgpack
// array of eight, sealed:
//
//	[time int64, kind uint64, op uint64, space uint64,
//	 a bin(12), b bin(12), before bin|nil, after bin|nil]
//
// time is the commit's (Unix nanoseconds); space the relation type of a
// relation change, the database of a profile change; a and b the
// relation's profiles (b zero for a profile change); before and after
// the record's stored bytes, sealed as stored, nil where it was or is
// absent. The bytes are those msgpack.Encoder writes for the same calls
// (a test holds them to it).

// Change is a change record, decoded.
type Change struct {
	Time          int64
	Kind, Op      uint8
	Space         uint32
	A, B          [index.IDLen]byte
	Before, After []byte // nil: absent
}

// MaxChangeCode bounds Kind and Op: codes past it are damage.
const MaxChangeCode = 63

// ChangeLen is the length of c's sealed record (AppendChange): a
// buffer of this capacity takes it without growing.
func ChangeLen(c *Change) int {
	n := 1 + 4*9 + 2*(2+index.IDLen) + 4
	for _, v := range [][]byte{c.Before, c.After} {
		switch {
		case v == nil:
			n++ // nil
		case len(v) < 256:
			n += 2 + len(v) // bin 8
		case len(v) <= math.MaxUint16:
			n += 3 + len(v) // bin 16
		default:
			n += 5 + len(v) // bin 32
		}
	}
	return n
}

// AppendChange appends c's sealed record to b.
func AppendChange(b []byte, c *Change) []byte {
	start := len(b)
	b = appendArrayLen(b, 8)
	b = appendInt64(b, c.Time)
	b = appendUint64(b, uint64(c.Kind))
	b = appendUint64(b, uint64(c.Op))
	b = appendUint64(b, uint64(c.Space))
	b = append(appendBinLen(b, index.IDLen), c.A[:]...)
	b = append(appendBinLen(b, index.IDLen), c.B[:]...)
	for _, v := range [][]byte{c.Before, c.After} {
		if v == nil {
			b = append(b, msgpcode.Nil)
		} else {
			b = append(appendBinLen(b, len(v)), v...)
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// DecodeChange reads a sealed change record. Before and After share v's
// bytes.
func DecodeChange(v []byte) (*Change, error) {
	body, err := Unseal(v)
	if err != nil {
		return nil, err
	}
	r := &byteReader{b: body}
	if n := r.arrayLen(); r.err == nil && n != 8 {
		return nil, fmt.Errorf("change: an array of %d, want 8", n)
	}
	c := &Change{Time: r.int64()}
	kind, op, space := r.uint64(), r.uint64(), r.uint64()
	copy(c.A[:], r.id())
	copy(c.B[:], r.id())
	c.Before, c.After = r.binOrNil(), r.binOrNil()
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("change: %w", err)
	}
	if kind > MaxChangeCode || op > MaxChangeCode || space > 1<<32-1 {
		return nil, fmt.Errorf("change: kind %d, op %d, space %d out of range", kind, op, space)
	}
	c.Kind, c.Op, c.Space = uint8(kind), uint8(op), uint32(space)
	return c, nil
}

// ChangeTime reads a change record's time without decoding the rest;
// math.MaxInt64 (never expired) for bytes that are not a change.
func ChangeTime(v []byte) int64 {
	if len(v) < 10 || v[0] != msgpcode.FixedArrayLow|8 || v[1] != msgpcode.Int64 {
		return math.MaxInt64
	}
	return int64(binary.BigEndian.Uint64(v[2:10]))
}

// id reads a bin of exactly index.IDLen bytes.
func (r *byteReader) id() []byte {
	b := r.bin()
	if r.err == nil && len(b) != index.IDLen {
		r.fail(fmt.Errorf("an id of %d bytes", len(b)))
	}
	return b
}

// binOrNil reads nil (returned as nil) or a bin (never nil).
func (r *byteReader) binOrNil() []byte {
	if r.err == nil && len(r.b) > 0 && r.b[0] == msgpcode.Nil {
		r.take(1)
		return nil
	}
	return r.bin()
}

// FeedState is the feed's bookkeeping (meta key index.FeedStateKey):
// changes First..Last are kept (none when First > Last), Bytes is the
// sum of their records' lengths. Last is the last sequence number ever
// given, so numbering goes on after retention dropped everything.
type FeedState struct {
	First, Last, Bytes uint64
}

// EncodeFeedState returns the stored state: three 8-byte big-endian
// numbers, sealed.
func EncodeFeedState(s FeedState) []byte {
	b := make([]byte, 0, 28)
	b = binary.BigEndian.AppendUint64(b, s.First)
	b = binary.BigEndian.AppendUint64(b, s.Last)
	b = binary.BigEndian.AppendUint64(b, s.Bytes)
	return Seal(b)
}

// DecodeFeedState reads a stored state.
func DecodeFeedState(v []byte) (FeedState, error) {
	b, err := Unseal(v)
	if err == nil && len(b) != 24 {
		err = fmt.Errorf("%d bytes, want 24", len(b))
	}
	if err != nil {
		return FeedState{}, fmt.Errorf("feed state: %w", err)
	}
	s := FeedState{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])}
	if s.First == 0 || s.First > s.Last+1 {
		return FeedState{}, fmt.Errorf("feed state: first %d, last %d", s.First, s.Last)
	}
	return s, nil
}

// FeedConfig is the feed's configuration (meta key
// index.FeedConfigKey): whether writes append changes, and the bounds
// retention keeps the feed within (0: no bound of that kind).
type FeedConfig struct {
	On                        bool
	MaxChanges, MaxBytes, Age uint64 // Age in nanoseconds
}

// EncodeFeedConfig returns the stored configuration: a flag byte and
// three 8-byte big-endian numbers, sealed.
func EncodeFeedConfig(c FeedConfig) []byte {
	b := make([]byte, 1, 29)
	if c.On {
		b[0] = 1
	}
	b = binary.BigEndian.AppendUint64(b, c.MaxChanges)
	b = binary.BigEndian.AppendUint64(b, c.MaxBytes)
	b = binary.BigEndian.AppendUint64(b, c.Age)
	return Seal(b)
}

// DecodeFeedConfig reads a stored configuration.
func DecodeFeedConfig(v []byte) (FeedConfig, error) {
	b, err := Unseal(v)
	if err == nil && (len(b) != 25 || b[0] > 1) {
		err = fmt.Errorf("malformed (%d bytes)", len(b))
	}
	if err != nil {
		return FeedConfig{}, fmt.Errorf("feed configuration: %w", err)
	}
	return FeedConfig{On: b[0] == 1, MaxChanges: binary.BigEndian.Uint64(b[1:]), MaxBytes: binary.BigEndian.Uint64(b[9:]), Age: binary.BigEndian.Uint64(b[17:])}, nil
}
