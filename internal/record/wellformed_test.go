package record

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
		if err := WellFormed(b); err != nil {
			t.Fatalf("%v refused: %v", v, err)
		}
		cut := rapid.IntRange(0, len(b)-1).Draw(t, "cut")
		if WellFormed(b[:cut]) == nil {
			t.Fatalf("a prefix of %d of %d bytes accepted", cut, len(b))
		}
		if WellFormed(append(b[:len(b):len(b)], 0)) == nil {
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
	_, err := DecodeProfile(Seal(append([]byte{}, damagedEmail...)))
	if err == nil || !strings.Contains(err.Error(), "declares 3334915782 bytes") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkDecodeDamagedLength(b *testing.B) {
	rec := Seal(append([]byte{}, damagedEmail...))
	b.ReportAllocs()
	for b.Loop() {
		DecodeProfile(rec)
	}
}

// TestNestingAndUnknownKeys: nesting past MaxNesting is refused before
// a decoder recurses into it (a crafted record of 8 MiB of nested lists
// overflowed its stack), and a record with a key its struct lacks does
// not decode, so a record has one encoding.
func TestNestingAndUnknownKeys(t *testing.T) {
	nested := func(depth int) []byte {
		b := bytes.Repeat([]byte{0x91}, depth) // a list of one, depth times
		return append(b, 0x01)
	}
	if err := WellFormed(nested(MaxNesting - 1)); err != nil {
		t.Fatalf("%d deep: %v", MaxNesting-1, err)
	}
	if err := WellFormed(nested(MaxNesting)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("%d deep: %v", MaxNesting, err)
	}
	if err := WellFormed(nested(1 << 20)); err == nil {
		t.Fatal("a million deep accepted")
	}
	body, _ := Unseal(samples(t)[0])
	var rec map[string]any
	if err := msgpack.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	rec["zz_unknown"] = 1
	extra, err := msgpack.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeProfile(Seal(extra)); err == nil || !strings.Contains(err.Error(), "zz_unknown") {
		t.Fatalf("a record with an unknown key: %v", err)
	}
}

// FuzzWellFormed: WellFormed accepts exactly what msgpack's own Skip
// reads whole as one value (Skip allocates nothing for the lengths it
// is told, unlike decoding into values, so it can be the oracle).
func FuzzWellFormed(f *testing.F) {
	for _, rec := range samples(f) {
		body, _ := Unseal(rec)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := WellFormed(b)
		rd := bytes.NewReader(b)
		if err != nil && strings.Contains(err.Error(), "nested more than") {
			return // deeper than relgraph allows; Skip has no such bound
		}
		skipped := msgpack.NewDecoder(rd).Skip() == nil && rd.Len() == 0
		if skipped != (err == nil) {
			t.Fatalf("% x: msgpack skips it whole: %v; WellFormed: %v", b, skipped, err)
		}
	})
}

// samples are a stored profile, relation and counter, each with every
// kind of value.
func samples(t testing.TB) [][]byte {
	p, err := EncodeProfile(&Profile{Email: "a@x.io", Phones: []string{"+15550000001"},
		Fields: []Field{{Name: "n", Value: ValueOf(int64(1))}, {Name: "s", Value: ValueOf("x")}, {Name: "t", Value: ValueOf([]string{"a", "b"})}},
		Subs:   []Subscription{{ResourceID: 1, Channel: "email", Email: "a@x.io"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := EncodeRelation(&Relation{Weights: map[string]any{"i": int64(2), "f": 0.5, "b": true, "s": "x"}, Created: 1, Updated: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := EncodeCounter(&Counter{Total: 2, Props: map[string]PropCounter{"i": {Total: 2, SumInt: Int128{Lo: 5}},
		"f": {Total: 2, SumFloat: FloatSum{}.Add(0.5).Add(1e300)},
		"t": {Total: 2, Top: []TopEntry{NewTopEntry(TypeInt, int64(9), [12]byte{2}), NewTopEntry(TypeInt, int64(1), [12]byte{1})}}}})
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{p, r, c}
}
