package index

import (
	"bytes"
	"cmp"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// sign is -1, 0 or 1, as n is negative, zero or positive.
func sign[T int | int64](n T) T { return T(cmp.Compare(n, 0)) }

func TestInt64OrderAndRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := rapid.Int64().Draw(t, "a"), rapid.Int64().Draw(t, "b")
		ea, eb := AppendInt64(nil, a), AppendInt64(nil, b)
		if sign(bytes.Compare(ea, eb)) != cmp.Compare(a, b) {
			t.Fatalf("order of %d, %d", a, b)
		}
		if got, _ := DecodeInt64(ea); got != a {
			t.Fatalf("round trip %d → %d", a, got)
		}
		da, db := AppendDescInt64(nil, a), AppendDescInt64(nil, b)
		if sign(bytes.Compare(da, db)) != -cmp.Compare(a, b) {
			t.Fatalf("descending order of %d, %d", a, b)
		}
		if got, _ := DecodeDescInt64(da); got != a {
			t.Fatalf("descending round trip %d → %d", a, got)
		}
	})
}

func finiteFloat() *rapid.Generator[float64] {
	return rapid.OneOf(
		rapid.Float64(),
		rapid.SampledFrom([]float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64}),
	).Filter(func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) })
}

func TestFloat64OrderAndRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := finiteFloat().Draw(t, "a"), finiteFloat().Draw(t, "b")
		ea, eb := AppendFloat64(nil, a), AppendFloat64(nil, b)
		if sign(bytes.Compare(ea, eb)) != cmp.Compare(a, b) {
			t.Fatalf("order of %g, %g", a, b)
		}
		if got, _ := DecodeFloat64(ea); got != a {
			t.Fatalf("round trip %g → %g", a, got)
		}
		da, db := AppendDescFloat64(nil, a), AppendDescFloat64(nil, b)
		if sign(bytes.Compare(da, db)) != -cmp.Compare(a, b) {
			t.Fatalf("descending order of %g, %g", a, b)
		}
		if got, _ := DecodeDescFloat64(da); got != a {
			t.Fatalf("descending round trip %g → %g", a, got)
		}
	})
}

// strs draws strings rich in the escape bytes 0x00, 0x01 and 0xFF.
func strs() *rapid.Generator[string] {
	return rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune{0, 1, 0xFF, 'a'})),
		rapid.Custom(func(t *rapid.T) string {
			return string(rapid.SliceOf(rapid.SampledFrom([]byte{0, 1, 0xFF, 'a'})).Draw(t, "bytes"))
		}))
}

func TestOrderedStringOrderRoundTripPrefixFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := strs().Draw(t, "a"), strs().Draw(t, "b")
		ea, eb := AppendOrderedString(nil, a), AppendOrderedString(nil, b)
		if sign(bytes.Compare(ea, eb)) != strings.Compare(a, b) {
			t.Fatalf("order of %q, %q", a, b)
		}
		got, rest, err := DecodeOrderedString(append(ea, "tail"...))
		if err != nil || got != a || string(rest) != "tail" {
			t.Fatalf("round trip %q → %q %q %v", a, got, rest, err)
		}
		if a != b && (bytes.HasPrefix(ea, eb) || bytes.HasPrefix(eb, ea)) {
			t.Fatalf("%q and %q encode with one a prefix of the other", a, b)
		}
	})
}

func value() *rapid.Generator[any] {
	return rapid.OneOf(
		rapid.Map(strs(), func(s string) any { return s }),
		rapid.Map(rapid.Int64(), func(n int64) any { return n }),
		rapid.Map(finiteFloat(), func(f float64) any { return f + 0 }),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Int64Range(-1e11, 1e11), func(s int64) any { return time.Unix(s, s%1e9*sign(s)).UTC() }),
	)
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case bool:
		return cmp.Compare(map[bool]int{false: 0, true: 1}[x], map[bool]int{false: 0, true: 1}[b.(bool)])
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	panic("unknown")
}

func kind(v any) Kind { return Kind(AppendValue(nil, v)[0]) }

func TestFieldKeysOrderRoundTripPrefixFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		field := rapid.StringN(1, 8, 64).Draw(t, "field")
		a, b := value().Draw(t, "a"), value().Draw(t, "b")
		var ida, idb [IDLen]byte
		copy(ida[:], rapid.SliceOfN(rapid.Byte(), IDLen, IDLen).Draw(t, "ida"))
		copy(idb[:], rapid.SliceOfN(rapid.Byte(), IDLen, IDLen).Draw(t, "idb"))
		ka, kb := FieldKey(1, field, a, ida), FieldKey(1, field, b, idb)
		if kind(a) == kind(b) {
			c := compareValues(a, b)
			if c != 0 && sign(bytes.Compare(ka, kb)) != c {
				t.Fatalf("order of %v, %v", a, b)
			}
		}
		if !bytes.Equal(ka, kb) && (bytes.HasPrefix(ka, kb) || bytes.HasPrefix(kb, ka)) {
			t.Fatalf("keys of (%v,%x) and (%v,%x): one is a prefix of the other", a, ida, b, idb)
		}
		prefix := AppendLenString(DB(1), field)
		got, rest, err := DecodeValue(ka[len(prefix):])
		if err != nil || compareValues(got, a) != 0 || !bytes.Equal(rest, ida[:]) {
			t.Fatalf("round trip %v → %v %x %v", a, got, rest, err)
		}
		if strings.Contains(Describe(Fields, ka), "malformed") {
			t.Fatalf("Describe cannot read %x", ka)
		}
	})
}

func TestLenKeysPrefixFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := strs().Draw(t, "a"), strs().Draw(t, "b")
		var id [IDLen]byte
		keys := [][2][]byte{
			{PhoneKey(1, a, id), PhoneKey(1, b, id)},
			{TagKey(1, "f", a, id), TagKey(1, "f", b, id)},
			{SubKey(1, 1, a, 7, id), SubKey(1, 1, b, 7, id)},
			{EmailKey(1, a), EmailKey(1, b)},
		}
		for _, k := range keys {
			if a != b && (bytes.HasPrefix(k[0], k[1]) || bytes.HasPrefix(k[1], k[0])) {
				t.Fatalf("%q and %q: %x is a prefix of %x or back", a, b, k[0], k[1])
			}
		}
	})
}

func TestDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.SliceOf(rapid.Custom(func(t *rapid.T) Entry {
			return Entry{Keyspace: Phones, Key: []byte(rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(t, "k")), Value: []byte(rapid.SampledFrom([]string{"", "1"}).Draw(t, "v"))}
		}))
		// An entry may be implied twice (the lists are sets), with one
		// value per key.
		old, new := oneValuePerKey(gen.Draw(t, "old")), oneValuePerKey(gen.Draw(t, "new"))
		del, put := Diff(old, new)
		state := map[string]string{}
		for _, e := range old {
			state[string(e.Key)] = string(e.Value)
		}
		for _, e := range del {
			delete(state, string(e.Key))
		}
		for _, e := range put {
			state[string(e.Key)] = string(e.Value)
		}
		want := map[string]string{}
		for _, e := range new {
			want[string(e.Key)] = string(e.Value)
		}
		if len(state) != len(want) {
			t.Fatalf("after diff %v, want %v", state, want)
		}
		for k, v := range want {
			if state[k] != v {
				t.Fatalf("after diff %v, want %v", state, want)
			}
		}
	})
}

func oneValuePerKey(es []Entry) []Entry {
	first := map[string][]byte{}
	out := make([]Entry, len(es))
	for i, e := range es {
		if v, seen := first[string(e.Key)]; seen {
			e.Value = v
		} else {
			first[string(e.Key)] = e.Value
		}
		out[i] = e
	}
	return out
}
