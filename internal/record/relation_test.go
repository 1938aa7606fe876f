package record

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The relation encoder writes the bytes msgpack.Encoder writes through
// EncodeMsgpack (the form every stored relation has), for every shape:
// names and strings at each length class of msgpack's str (fix, 8, 16),
// every value type, int64 and float64 extremes, no weights, and more
// weights than a record may hold (the encoder's buffer then grows).
func TestRelationEncoderMatchesMsgpack(t *testing.T) {
	str := rapid.OneOf(rapid.StringN(0, 40, -1), rapid.Custom(func(t *rapid.T) string {
		return strings.Repeat("s", rapid.SampledFrom([]int{31, 32, 255, 256, 1024}).Draw(t, "len"))
	}))
	rapid.Check(t, func(t *rapid.T) {
		r := &Relation{Created: rapid.Int64().Draw(t, "created"), Updated: rapid.Int64().Draw(t, "updated")}
		names := rapid.SliceOfNDistinct(str, 0, MaxProperties+2, func(s string) string { return s }).Draw(t, "names")
		if len(names) > 0 || rapid.Bool().Draw(t, "emptyMap") {
			r.Weights = map[string]any{}
		}
		for i, name := range names {
			var v any
			switch rapid.IntRange(0, 3).Draw(t, fmt.Sprint("type", i)) {
			case 0:
				v = rapid.OneOf(rapid.Int64(), rapid.SampledFrom([]int64{0, -1, 127, 128, -32, -33, 1 << 62, -1 << 63})).Draw(t, fmt.Sprint("int", i))
			case 1:
				v = rapid.Float64().Draw(t, fmt.Sprint("float", i))
			case 2:
				v = rapid.Bool().Draw(t, fmt.Sprint("bool", i))
			default:
				v = str.Draw(t, fmt.Sprint("str", i))
			}
			r.Weights[name] = v
		}
		got, err := EncodeRelation(r)
		if err != nil {
			t.Fatal(err)
		}
		body, err := Encode(r) // through EncodeMsgpack
		if err != nil {
			t.Fatal(err)
		}
		want := Seal(body)
		if !bytes.Equal(got, want) {
			t.Fatalf("encoded %x\nmsgpack wrote %x", got, want)
		}
		if size := RelationSize(r); len(want) > size {
			t.Fatalf("RelationSize %d, but the record takes %d bytes", size, len(want))
		}
		// Appended after other bytes, the record is the same, sealed on
		// its own, and the bytes before it are kept.
		prefix := []byte(rapid.StringN(0, 20, -1).Draw(t, "prefix"))
		appended, err := AppendRelation(bytes.Clone(prefix), r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(appended[:len(prefix)], prefix) || !bytes.Equal(appended[len(prefix):], want) {
			t.Fatalf("AppendRelation after %x wrote %x, want %x", prefix, appended, want)
		}
	})
}

// A value no property can hold is refused by name, as EncodeMsgpack
// refuses it.
func TestRelationEncoderRefusesOtherTypes(t *testing.T) {
	_, err := EncodeRelation(&Relation{Weights: map[string]any{"n": int32(1)}})
	if err == nil || !strings.Contains(err.Error(), `"n"`) {
		t.Fatalf("an int32 weight: %v", err)
	}
}
