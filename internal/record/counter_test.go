package record

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// msgpackCounter writes c as the counter codec did through
// msgpack.Encoder, before it wrote bytes itself: stored counters are
// these bytes.
func msgpackCounter(t interface{ Fatal(...any) }, c *Counter) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	names := SortedKeys(c.Props)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.EncodeArrayLen(2))
	must(e.EncodeInt64(c.Total))
	must(e.EncodeArrayLen(len(names)))
	for _, k := range names {
		p := c.Props[k]
		must(e.EncodeArrayLen(6))
		must(e.EncodeString(k))
		must(e.EncodeInt64(p.Total))
		must(e.EncodeInt64(p.SumInt.Hi))
		must(e.EncodeUint64(p.SumInt.Lo))
		must(e.EncodeBytes(p.SumFloat.AppendBinary(make([]byte, 0, 16))))
		top := make([]byte, 0, len(p.Top)*TopEntryLen)
		for _, e := range p.Top {
			top = append(top, e[:]...)
		}
		must(e.EncodeBytes(top))
	}
	return Seal(buf.Bytes())
}

func drawCounter(t *rapid.T) *Counter {
	c := &Counter{Total: rapid.Int64Min(0).Draw(t, "total")}
	names := rapid.SliceOfNDistinct(rapid.OneOf(rapid.StringN(0, 40, -1),
		rapid.Custom(func(t *rapid.T) string {
			return strings.Repeat("n", rapid.SampledFrom([]int{31, 32, 255, 256}).Draw(t, "len"))
		})), 0, MaxProperties, func(s string) string { return s }).Draw(t, "names")
	if len(names) > 0 || rapid.Bool().Draw(t, "emptyMap") {
		c.Props = map[string]PropCounter{}
	}
	for i, name := range names {
		p := PropCounter{Total: rapid.Int64().Draw(t, fmt.Sprint("ptotal", i)),
			SumInt: Int128{rapid.Int64().Draw(t, fmt.Sprint("hi", i)), rapid.Uint64().Draw(t, fmt.Sprint("lo", i))}}
		for _, x := range rapid.SliceOfN(rapid.Float64Range(-1e300, 1e300), 0, 4).Draw(t, fmt.Sprint("floats", i)) {
			p.SumFloat = p.SumFloat.Add(x)
		}
		top := rapid.SliceOfNDistinct(rapid.SliceOfN(rapid.Byte(), TopEntryLen, TopEntryLen), 0, 2*MaxTop,
			func(b []byte) string { return string(b) }).Draw(t, fmt.Sprint("top", i))
		for _, e := range top {
			p.Top = append(p.Top, TopEntry(e))
		}
		sortTop(p.Top)
		c.Props[name] = p
	}
	return c
}

func sortTop(top []TopEntry) {
	for i := 1; i < len(top); i++ {
		for j := i; j > 0 && CompareTop(top[j-1], top[j]) > 0; j-- {
			top[j-1], top[j] = top[j], top[j-1]
		}
	}
}

// The counter codec writes the bytes msgpack.Encoder wrote, for every
// shape of counter (names of every string form, tops up to their bound,
// float sums), and reads back what it wrote.
func TestCounterCodecMatchesMsgpack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCounter(t)
		got, err := EncodeCounter(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := msgpackCounter(t, c); !bytes.Equal(got, want) {
			t.Fatalf("encoded %x\nmsgpack wrote %x", got, want)
		}
		back, err := DecodeCounter(got, nil)
		if err != nil {
			t.Fatalf("decoding what was encoded: %v", err)
		}
		if len(c.Props) == 0 {
			c.Props = nil // an empty map is written as no properties
		}
		if !reflect.DeepEqual(normalizedCounter(back), normalizedCounter(c)) {
			t.Fatalf("round trip: %+v, want %+v", back, c)
		}
	})
}

// normalizedCounter compares float sums by value (their big.Int
// internals may differ in capacity).
func normalizedCounter(c *Counter) map[string]string {
	out := map[string]string{"total": fmt.Sprint(c.Total)}
	for k, p := range c.Props {
		out[k] = fmt.Sprintf("%d %v %x %v", p.Total, p.SumInt, p.SumFloat.AppendBinary(nil), p.Top)
	}
	return out
}

// A counter record has one encoding: whatever DecodeCounter accepts
// encodes back to the same bytes, and nothing it reads makes it panic
// or allocate without bound.
func FuzzCounterDecode(f *testing.F) {
	c := &Counter{Total: 3, Props: map[string]PropCounter{
		"a": {Total: 2, SumInt: Int128{0, 7}},
		"b": {Total: 1, SumFloat: FloatSum{}.Add(1.5), Top: []TopEntry{{1}, {2}}},
	}}
	b, _ := EncodeCounter(c)
	f.Add(b)
	f.Add(Seal(appendArrayLen(appendInt64(appendArrayLen(nil, 2), 0), 0)))
	f.Add(Seal([]byte{0x92, 0xd3, 0, 0, 0, 0, 0, 0, 0, 1, 0xdc, 0, 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, Seal(append([]byte{}, b...))} {
			c, err := DecodeCounter(in, nil)
			if err != nil {
				continue
			}
			again, err := EncodeCounter(c)
			if err != nil || !bytes.Equal(again, in) {
				t.Fatalf("accepted %x, which encodes back as %x (%v)", in, again, err)
			}
		}
	})
}

func TestCounterDecodeRefusesOtherForms(t *testing.T) {
	for name, body := range map[string][]byte{
		"array16 of 2":       {0xdc, 0, 2, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0, 0x90},
		"int32 total":        {0x92, 0xd2, 0, 0, 0, 1, 0x90},
		"trailing byte":      {0x92, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0xc0},
		"cut short":          {0x92, 0xd3, 0, 0, 0},
		"huge property list": {0x92, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x7f, 0xff, 0xff, 0xff},
		"negative total":     {0x92, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x90},
	} {
		if c, err := DecodeCounter(Seal(body), nil); err == nil {
			t.Errorf("%s: decoded %+v", name, c)
		}
	}
}

// DecodeCounter keys properties by the strings its lookup gives
// (the schema's, so a decode allocates no name) and by new strings for
// names the lookup does not know.
func TestDecodeCounterUsesTheLookupsStrings(t *testing.T) {
	b, err := EncodeCounter(&Counter{Total: 1, Props: map[string]PropCounter{"known": {Total: 1}, "other": {Total: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	known := strings.Clone("known")
	lookup := func(name []byte) (string, Type, bool) {
		if string(name) == known {
			return known, TypeInt, true
		}
		return "", "", false
	}
	c, err := DecodeCounter(b, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for k := range c.Props {
		if k == "known" && unsafe.StringData(k) != unsafe.StringData(known) {
			t.Error("a known name was copied, not the lookup's string")
		}
	}
	if len(c.Props) != 2 || c.Props["other"].Total != 1 || c.Props["known"].Total != 1 {
		t.Fatalf("decoded %+v", c)
	}
}

// Decoding into a reused counter (DecodeCounterInto, as the committer
// does for each relation write) gives what a fresh decode gives, for
// any sequence of counters, and AppendCounter after other bytes appends
// exactly EncodeCounter's bytes.
func TestDecodeCounterIntoReusesRoom(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var reused Counter
		prefix := []byte("earlier values")
		for i := range rapid.IntRange(1, 4).Draw(t, "counters") {
			c := drawCounter(t)
			want, err := EncodeCounter(c)
			if err != nil {
				t.Fatal(err)
			}
			appended := AppendCounter(slices.Clone(prefix), c)
			if !bytes.Equal(appended[:len(prefix)], prefix) || !bytes.Equal(appended[len(prefix):], want) {
				t.Fatalf("counter %d: AppendCounter after a prefix wrote %x, want %x", i, appended[len(prefix):], want)
			}
			if rapid.Bool().Draw(t, fmt.Sprint("reset", i)) {
				reused.Reset()
			}
			if err := DecodeCounterInto(&reused, want, nil); err != nil {
				t.Fatalf("counter %d: %v", i, err)
			}
			fresh, err := DecodeCounter(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalizedCounter(&reused), normalizedCounter(fresh)) {
				t.Fatalf("counter %d decoded into reused room: %+v, fresh: %+v", i, reused, fresh)
			}
			// What the writer does next: change the decoded counter, and
			// encode it again.
			again, _ := EncodeCounter(&reused)
			if !bytes.Equal(again, want) {
				t.Fatalf("counter %d re-encoded from reused room differs", i)
			}
		}
	})
}

// Reset keeps at most a counter's worth of spare top lists, however
// many new lists the writes between resets made (found by review: one
// more for every counter a write created, for the store's life).
func TestCounterResetKeepsSpareBounded(t *testing.T) {
	var c Counter
	for i := range 1000 {
		c.Props = map[string]PropCounter{"p": {Total: 1, Top: make([]TopEntry, 1)}, fmt.Sprint("q", i%3): {Total: 1, Top: make([]TopEntry, 2)}}
		c.Reset()
	}
	if len(c.spare) > MaxProperties {
		t.Fatalf("%d spare top lists after 1,000 resets, at most %d", len(c.spare), MaxProperties)
	}
}
