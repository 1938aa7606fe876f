package relgraph

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// msgpackValue draws a value of every msgpack kind, nested.
func msgpackValue(t *rapid.T, depth int) any {
	kinds := 6
	if depth > 3 {
		kinds = 4
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
	case 0:
		return rapid.Int64().Draw(t, "int")
	case 1:
		return rapid.Float64().Draw(t, "float")
	case 2:
		return rapid.StringN(0, 300, -1).Draw(t, "str")
	case 3:
		return rapid.SliceOfN(rapid.Byte(), 0, 70000).Draw(t, "bin")
	case 4:
		n := rapid.IntRange(0, 20).Draw(t, "len")
		list := make([]any, n)
		for i := range list {
			list[i] = msgpackValue(t, depth+1)
		}
		return list
	default:
		n := rapid.IntRange(0, 20).Draw(t, "len")
		m := map[string]any{}
		for range n {
			m[rapid.StringN(0, 10, -1).Draw(t, "key")] = msgpackValue(t, depth+1)
		}
		return m
	}
}

// TestWellFormedAcceptsEncodingsAndRefusesTheirPrefixes: what msgpack
// encodes is well formed; every proper prefix of it is not.
func TestWellFormedAcceptsEncodingsAndRefusesTheirPrefixes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := msgpackValue(t, 0)
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := wellFormed(b); err != nil {
			t.Fatalf("%v refused: %v", v, err)
		}
		cut := rapid.IntRange(0, len(b)-1).Draw(t, "cut")
		if wellFormed(b[:cut]) == nil {
			t.Fatalf("a prefix of %d of %d bytes accepted", cut, len(b))
		}
		if wellFormed(append(b[:len(b):len(b)], 0)) == nil {
			t.Fatal("a trailing byte accepted")
		}
	})
}

// damagedEmail is a profile record of 20 bytes whose email declares a
// string of 3,334,915,782 bytes.
var damagedEmail = []byte("\x81\xa1e\xdb\xc6\xc6\xc6\xc6p000000000000")

// TestDamagedLengthIsRefusedBeforeDecoding: a record that declares a
// 3 GB string is refused by the length check, naming the lengths,
// before msgpack's decoder grows a buffer towards it
// (BenchmarkDecodeDamagedLength: 416 B and under a microsecond a record;
// without the check, 205 MB and 1.4 s).
func TestDamagedLengthIsRefusedBeforeDecoding(t *testing.T) {
	_, err := decodeProfile(1, ProfileID{1}, seal(append([]byte{}, damagedEmail...)))
	if err == nil || !strings.Contains(err.Error(), "declares 3334915782 bytes") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkDecodeDamagedLength(b *testing.B) {
	rec := seal(append([]byte{}, damagedEmail...))
	b.ReportAllocs()
	for b.Loop() {
		decodeProfile(1, ProfileID{1}, rec)
	}
}

// TestNestingAndUnknownKeys: nesting past maxNesting is refused before
// a decoder recurses into it (a crafted record of 8 MiB of nested lists
// overflowed its stack), and a record with a key its struct lacks does
// not decode, so a record has one encoding.
func TestNestingAndUnknownKeys(t *testing.T) {
	nested := func(depth int) []byte {
		b := bytes.Repeat([]byte{0x91}, depth) // a list of one, depth times
		return append(b, 0x01)
	}
	if err := wellFormed(nested(maxNesting - 1)); err != nil {
		t.Fatalf("%d deep: %v", maxNesting-1, err)
	}
	if err := wellFormed(nested(maxNesting)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("%d deep: %v", maxNesting, err)
	}
	if err := wellFormed(nested(1 << 20)); err == nil {
		t.Fatal("a million deep accepted")
	}
	p, _, _, _, _ := sampleRecords(t)
	body, _ := unseal(p)
	var rec map[string]any
	if err := msgpack.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	rec["zz_unknown"] = 1
	extra, err := msgpack.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeProfile(1, ProfileID{1}, seal(extra)); err == nil || !strings.Contains(err.Error(), "zz_unknown") {
		t.Fatalf("a record with an unknown key: %v", err)
	}
}

// FuzzWellFormed: wellFormed accepts exactly what msgpack's own Skip
// reads whole as one value (Skip allocates nothing for the lengths it
// is told, unlike decoding into values, so it can be the oracle).
func FuzzWellFormed(f *testing.F) {
	p, r, c, _, _ := sampleRecords(f)
	for _, rec := range [][]byte{p, r, c} {
		body, _ := unseal(rec)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := wellFormed(b)
		rd := bytes.NewReader(b)
		if err != nil && strings.Contains(err.Error(), "nested more than") {
			return // deeper than relgraph allows; Skip has no such bound
		}
		skipped := msgpack.NewDecoder(rd).Skip() == nil && rd.Len() == 0
		if skipped != (err == nil) {
			t.Fatalf("% x: msgpack skips it whole: %v; wellFormed: %v", b, skipped, err)
		}
	})
}
