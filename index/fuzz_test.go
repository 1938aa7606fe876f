package index

import (
	"bytes"
	"testing"

	"github.com/relgraph/relgraph/internal/fuzzseed"
)

func TestWriteFuzzSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	var id [IDLen]byte
	fuzzseed.Write(t, "FuzzKeys",
		FieldKey(1, "f", "a\x00b", id), FieldKey(1, "n", int64(-5), id), TagKey(1, "t", "x", id),
		SubKey(1, 2, "+15550000001", 7, id), EmailKey(1, "a@x.io"), EdgeKey(3, id, id),
		CounterKey(3, id))
}

// FuzzKeys: every key decoder, on every keyspace, gives a value or an
// error; a value that decodes re-encodes to the same bytes.
func FuzzKeys(f *testing.F) {
	var id [IDLen]byte
	f.Add(FieldKey(1, "f", "a\x00b", id))
	f.Add(TagKey(1, "t", "x", id))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ks := range All {
			if Describe(ks, b) == "" {
				t.Fatal("empty description")
			}
		}
		if v, rest, err := DecodeValue(b); err == nil {
			enc := AppendValue(nil, v)
			if !bytes.Equal(append(enc, rest...), b) && !isNegZero(b) {
				t.Fatalf("value %v from %x re-encodes to %x", v, b, enc)
			}
		}
		if s, rest, err := DecodeOrderedString(b); err == nil {
			if !bytes.Equal(append(AppendOrderedString(nil, s), rest...), b) {
				t.Fatalf("string %q from %x does not re-encode", s, b)
			}
		}
		DecodeLenString(b)
		DecodeDescFloat64(b)
		DecodeDescInt64(b)
	})
}

// isNegZero: -0 decodes to -0 and encodes as +0, by design (they are
// equal values).
func isNegZero(b []byte) bool {
	return len(b) >= 9 && Kind(b[0]) == KindFloat && bytes.Equal(b[1:9], []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
}
