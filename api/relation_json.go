package api

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/relgraph/relgraph"
)

// relationJSON is one relation in a relations/get answer. As JSON it
// writes its bytes itself: the same bytes encoding/json writes for
// relationItem's map (keys sorted, floats in its format, strings
// escaped as its encoder with SetEscapeHTML(false) escapes them; a test
// holds it to that), without the three maps and the reflection per
// relation that took most of a page's CPU. XML writes relationItem.
type relationJSON struct {
	it relgraph.RelationItem
}

// MarshalJSON is json.Marshaler.
func (r relationJSON) MarshalJSON() ([]byte, error) {
	return appendRelationJSON(make([]byte, 0, 256), r.it)
}

// appendRelationJSON appends it as relations/get writes a relation.
func appendRelationJSON(b []byte, it relgraph.RelationItem) ([]byte, error) {
	b = append(b, `{"db_b":`...)
	b = strconv.AppendUint(b, uint64(it.DatabaseB), 10)
	b = append(b, `,"profile_id_a":"`...)
	b = append(b, it.ProfileA.String()...)
	b = append(b, `","profile_id_b":"`...)
	b = append(b, it.ProfileB.String()...)
	b = append(b, `","props":{`...)
	names := make([]string, 0, len(it.Weights))
	for k := range it.Weights {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, `:{"value":`...)
		var err error
		if b, err = appendJSONValue(b, it.Weights[k]); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	b = append(b, `},"xxh_a":"`...)
	b = append(b, XXH(it.ProfileA)...)
	b = append(b, `","xxh_b":"`...)
	b = append(b, XXH(it.ProfileB)...)
	return append(b, `"}`...), nil
}

// appendJSONValue appends a property's value: an int64, a float64 in
// encoding/json's format, a bool or a string; anything else as
// encoding/json writes it.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			break // encoding/json's error
		}
		// encoding/json's float format: 'f' unless the exponent is
		// small or large, then 'e' with a two-digit exponent at least.
		format := byte('f')
		if abs := math.Abs(x); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		b = strconv.AppendFloat(b, x, format, -1, 64)
		if format == 'e' {
			if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
				b[n-2] = b[n-1]
				b = b[:n-1]
			}
		}
		return b, nil
	}
	return appendEncoded(b, v)
}

// appendJSONString appends s quoted; the plain case (printable ASCII
// without quotes or backslashes) directly, the rest as encoding/json's
// encoder writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			b, _ = appendEncoded(b, s) // a string always encodes
			return b
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendEncoded appends v as the answer's JSON encoder writes it.
func appendEncoded(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
