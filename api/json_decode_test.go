package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// stdDecode is the body as encoding/json decodes it (UseNumber), the
// tree decodeObject must build.
func stdDecode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff"))))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errBadBody
	}
	return v, nil
}

// FuzzDecodeObject: whatever decodeObject takes, encoding/json decodes
// to the same tree; what it declines goes to encoding/json anyway.
func FuzzDecodeObject(f *testing.F) {
	for _, seed := range []string{
		string(seedJSON), string(seedData),
		`{"a":[1,-2.5e+3,0,true,false,null,{},[]],"b":{"c":"d"},"a":"again"}`,
		` {"x" : 1 } `, "\ufeff{\"a\":1}", `{"a":"\u00e9"}`, `{"a":01}`, `{"a":1.}`, `{"a":tru}`, `{"a":1}x`, `{"a":[1,]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // refused before decoding
		}
		m, ok := decodeObject(body)
		if !ok {
			return
		}
		want, err := stdDecode(body)
		if err != nil {
			t.Fatalf("decodeObject took %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(any(m), want) {
			t.Fatalf("%q: decodeObject built %#v, encoding/json %#v", body, m, want)
		}
	})
}

// TestDecodeObjectTakesRequests: the requests clients send take the
// fast path (the fuzz target checks its trees, not that it is used).
func TestDecodeObjectTakesRequests(t *testing.T) {
	for _, body := range [][]byte{seedJSON, seedData, []byte(` {"rel_id": 3, "weights": {"x": -1.5E-3}, "list": [ ]}` + "\n")} {
		m, ok := decodeObject(body)
		want, err := stdDecode(body)
		if !ok || err != nil || !reflect.DeepEqual(any(m), want) {
			t.Errorf("%s: decodeObject %v (ok %v), encoding/json %v (%v)", body, m, ok, want, err)
		}
	}
	for _, body := range []string{`{"a":"\n"}`, `{"a":"x\"y"}`, `{"a":01}`, `{"a":+1}`, `{"a":1}{}`, `[1]`, `{"a":nul}`} {
		if _, ok := decodeObject([]byte(body)); ok {
			t.Errorf("decodeObject took %s, which it is to leave to encoding/json", body)
		}
	}
}

// TestEncodeJSONIsEncodingJSON: answers written by hand are the bytes
// encoding/json's encoder (HTML unescaped) writes for the same tree, for
// trees of every kind of value answers hold, keys and strings with
// characters that need escaping included.
func TestEncodeJSONIsEncodingJSON(t *testing.T) {
	str := rapid.SampledFrom([]string{"", "a", "profile_id", "é", "a\"b", "back\\slash", "tab\t", "<html>&", "\u2028", "x\x00y", "日本"})
	var value func(depth int) *rapid.Generator[any]
	value = func(depth int) *rapid.Generator[any] {
		scalars := []*rapid.Generator[any]{
			rapid.Just[any](nil), rapid.Map(rapid.Bool(), func(v bool) any { return v }),
			rapid.Map(rapid.Int(), func(v int) any { return v }), rapid.Map(rapid.Int64(), func(v int64) any { return v }),
			rapid.Map(rapid.Uint32(), func(v uint32) any { return v }), rapid.Map(rapid.Uint64(), func(v uint64) any { return v }),
			rapid.Map(rapid.Float64(), func(v float64) any { return v }), rapid.Map(str, func(v string) any { return v }),
			rapid.Map(rapid.String(), func(v string) any { return v }),
		}
		if depth > 0 {
			scalars = append(scalars,
				rapid.Map(rapid.SliceOfN(value(depth-1), 0, 3), func(v []any) any { return v }),
				rapid.Map(rapid.MapOfN(str, value(depth-1), 0, 3), func(v map[string]any) any { return v }))
		}
		return rapid.OneOf(scalars...)
	}
	rapid.Check(t, func(t *rapid.T) {
		tree := rapid.MapOfN(rapid.OneOf(str, rapid.String()), value(2), 0, 6).Draw(t, "tree")
		if rapid.IntRange(0, 20).Draw(t, "nil") == 0 {
			tree = nil
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		wantErr := enc.Encode(tree)
		var got bytes.Buffer
		got.WriteString("kept") // encodeJSON appends to what the buffer holds
		err := encodeJSON(&got, tree)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("encodeJSON error %v, encoding/json's %v", err, wantErr)
		}
		if err == nil && got.String() != "kept"+want.String() {
			t.Fatalf("encodeJSON wrote\n%s\nencoding/json\n%s", got.String(), want.String())
		}
	})
}

// BenchmarkRequestJSON: a relations/edit body decoded, and its answer
// encoded, by encoding/json and by hand, side by side:
//
//	go test -run '^$' -bench RequestJSON -benchmem ./api
func BenchmarkRequestJSON(b *testing.B) {
	body := []byte(`{"token":"bench","rel_id":3,"profile_a":{"profile_id":"5d63dbdb439e7306b596c5d0"},"profile_b":{"profile_id":"5d63dbdb439e7306b596c5d1"},"weights":{"user_like":17,"donate":17,"is_online":false}}`)
	answer := map[string]any{"status": "ok", "profile_a": "5d63dbdb439e7306b596c5d0", "profile_b": "5d63dbdb439e7306b596c5d1", "relation_id": uint32(3), "created": true}
	b.Run("decode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := stdDecode(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/by-hand", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeObject(body); !ok {
				b.Fatal("declined")
			}
		}
	})
	var buf bytes.Buffer
	b.Run("encode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(answer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/by-hand", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := encodeJSON(&buf, answer); err != nil {
				b.Fatal(err)
			}
		}
	})
}
