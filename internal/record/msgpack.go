package record

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/relgraph/relgraph/internal/text"

	"github.com/vmihailenco/msgpack/v5"
)

// What the codecs share: the encoder pool, exact decoding, the strict
// readers, stored times, and the writer of the hand-written encoders.

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
func Encode(v any) ([]byte, error) {
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
// (WellFormed), and fails if bytes are left over.
func DecodeExact(b []byte, fn func(d *msgpack.Decoder) error) error {
	if err := WellFormed(b); err != nil {
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
func Unmarshal(b []byte, v any) error {
	return DecodeExact(b, func(d *msgpack.Decoder) error {
		d.DisallowUnknownFields(true)
		defer d.DisallowUnknownFields(false)
		return d.Decode(v)
	})
}

// MaxDecodedLen bounds collection lengths read from stored bytes, so a
// corrupt length cannot make a decoder allocate without limit.
const MaxDecodedLen = 1 << 16

// DecodeLen passes on a decoder's collection length n and its err,
// refusing a length outside 0 to MaxDecodedLen.
func DecodeLen(n int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	if n < 0 || n > MaxDecodedLen {
		return 0, fmt.Errorf("collection length %d out of range", n)
	}
	return n, nil
}

// Nanos converts a time to stored Unix nanoseconds (0 for the zero time).
func Nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// unixNanos converts times stored as Unix nanoseconds.
func UnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// present counts the fields that are written.
func present(fields ...bool) int {
	n := 0
	for _, p := range fields {
		if p {
			n++
		}
	}
	return n
}

// writer chains an encoder's writes and keeps the first error: every
// hand-written codec of this package writes through one.
type writer struct {
	e   *msgpack.Encoder
	err error
}

func (w *writer) try(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *writer) str(s string) *writer { w.try(w.e.EncodeString(s)); return w }

func (w *writer) int64(n int64) *writer { w.try(w.e.EncodeInt64(n)); return w }

func (w *writer) mapLen(n int) *writer { w.try(w.e.EncodeMapLen(n)); return w }

func (w *writer) arrayLen(n int) *writer { w.try(w.e.EncodeArrayLen(n)); return w }

func (w *writer) strs(ss []string) *writer {
	w.arrayLen(len(ss))
	for _, s := range ss {
		w.str(s)
	}
	return w
}

// AppendSortedKeys appends m's keys to dst and sorts what it appended:
// a caller with room on its stack (an array) sorts without allocating.
func AppendSortedKeys[V any](dst []string, m map[string]V) []string {
	n := len(dst)
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst[n:])
	return dst
}

// SortedKeys returns m's keys in order: records write maps sorted.
func SortedKeys[V any](m map[string]V) []string {
	return AppendSortedKeys(make([]string, 0, len(m)), m)
}

// Truncate cuts a stored string for a message (text.Truncate).
func Truncate(s string) string { return text.Truncate(s) }
