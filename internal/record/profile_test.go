package record

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// reflectiveRecord is Profile without its methods: msgpack
// encodes it by its tags, as Profile was before it had a codec of
// its own, and as stored profiles are.
type reflectiveRecord Profile

// The hand-written profile encoder writes the bytes msgpack's struct
// encoding writes, for every shape of record: stores written before it
// must decode alike, and equal profiles must still give equal bytes.
func TestProfileCodecMatchesReflection(t *testing.T) {
	text := rapid.OneOf(rapid.SampledFrom([]string{"", "a", "Zürich", "\x00"}),
		rapid.StringN(0, 40, -1), rapid.Custom(func(t *rapid.T) string {
			return strings.Repeat("x", rapid.SampledFrom([]int{31, 32, 255, 256, 65535, 65536}).Draw(t, "len"))
		}))
	rapid.Check(t, func(t *rapid.T) {
		strs := func(label string) []string {
			switch rapid.IntRange(0, 2).Draw(t, label+"Shape") {
			case 0:
				return nil
			case 1:
				return []string{}
			}
			return rapid.SliceOfN(text, 1, 20).Draw(t, label)
		}
		r := &Profile{Email: text.Draw(t, "email"), Phones: strs("phones"),
			Created: rapid.Int64().Draw(t, "created"), Updated: rapid.Int64().Draw(t, "updated")}
		for i := range rapid.IntRange(0, 18).Draw(t, "fields") {
			fv := Value{Kind: Kind(rapid.SampledFrom([]string{"string", "int", "float", "bool", "date", "tags", ""}).Draw(t, fmt.Sprint("kind", i)))}
			if rapid.Bool().Draw(t, fmt.Sprint("hasStr", i)) {
				fv.Str = text.Draw(t, fmt.Sprint("str", i))
			}
			fv.Int = rapid.OneOf(rapid.Just(int64(0)), rapid.Int64(), rapid.Int64Range(-200, 200)).Draw(t, fmt.Sprint("int", i))
			fv.Nanos = rapid.OneOf(rapid.Just(int32(0)), rapid.Int32()).Draw(t, fmt.Sprint("nanos", i))
			fv.Float = rapid.OneOf(rapid.Just(0.0), rapid.Just(math.Copysign(0, -1)), rapid.Float64()).Draw(t, fmt.Sprint("float", i))
			fv.Tags = strs(fmt.Sprint("tags", i))
			r.Fields = append(r.Fields, Field{Name: text.Draw(t, fmt.Sprint("name", i)), Value: fv})
		}
		if rapid.Bool().Draw(t, "emptyFields") && len(r.Fields) == 0 {
			r.Fields = []Field{}
		}
		for i := range rapid.IntRange(0, 17).Draw(t, "subs") {
			s := Subscription{ResourceID: rapid.Uint32().Draw(t, fmt.Sprint("res", i)), Channel: text.Draw(t, fmt.Sprint("ch", i)),
				Email: text.Draw(t, fmt.Sprint("se", i)), Phone: text.Draw(t, fmt.Sprint("sp", i)), Provider: text.Draw(t, fmt.Sprint("pv", i)),
				SubscriptionID: text.Draw(t, fmt.Sprint("sid", i)), Status: rapid.IntRange(-3, 3).Draw(t, fmt.Sprint("st", i)),
				Priority: rapid.OneOf(rapid.Just(0), rapid.Int()).Draw(t, fmt.Sprint("pr", i)), Categories: strs(fmt.Sprint("cat", i))}
			switch rapid.IntRange(0, 2).Draw(t, fmt.Sprint("subFields", i)) {
			case 1:
				s.Fields = map[string]string{}
			case 2:
				s.Fields = rapid.MapOfN(text, text, 1, 20).Draw(t, fmt.Sprint("sf", i))
			}
			r.Subs = append(r.Subs, s)
		}
		got, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Encode((*reflectiveRecord)(r))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("encoded %x\nmsgpack's struct encoding %x", got, want)
		}
	})
}

// The hand-written encoder writes the fields it knows of: a field added
// to a stored struct would be left out of every record, silently, and
// the reflection test above would not notice unless its generator set
// it. This pins the stored fields; adding one means adding it to
// profile.go and to the generator above.
func TestProfileCodecKnowsEveryField(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[Profile]():      "e,omitempty p,omitempty f,omitempty s,omitempty c u",
		reflect.TypeFor[Field]():        "n v",
		reflect.TypeFor[Value]():        "k s,omitempty i,omitempty n,omitempty x,omitempty t,omitempty",
		reflect.TypeFor[Subscription](): "r c e,omitempty p,omitempty pv,omitempty sid,omitempty st pr,omitempty f,omitempty cat,omitempty",
	}
	for typ, tags := range want {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Tag.Get("msgpack"))
		}
		if strings.Join(got, " ") != tags {
			t.Errorf("%s's stored fields are %q, profile.go writes %q: update the encoder and its test", typ, strings.Join(got, " "), tags)
		}
	}
}

// TestProfileBytesAsDrawn: the example the package documentation draws
// is what EncodeProfile writes.
func TestProfileBytesAsDrawn(t *testing.T) {
	b, err := EncodeProfile(&Profile{Email: "a@x.io", Fields: []Field{{Name: "n", Value: ValueOf(int64(1))}}, Created: 1, Updated: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := "84 a1 65 a6 61 40 78 2e 69 6f a1 66 91 82 a1 6e a1 6e a1 76 82 a1 6b a3 69 6e 74 a1 69 d3 00 00 00 00 00 00 00 01 " +
		"a1 63 d3 00 00 00 00 00 00 00 01 a1 75 d3 00 00 00 00 00 00 00 02 12 c9 29 3b"
	if got := fmt.Sprintf("% x", b); got != want {
		t.Fatalf("EncodeProfile wrote\n%s\nthe documentation draws\n%s", got, want)
	}
}
