package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
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

// appendRelationHead appends a relation's fields up to its properties.
func appendRelationHead(b []byte, dbB uint32, a, bID relgraph.ProfileID) []byte {
	b = append(b, `{"db_b":`...)
	b = strconv.AppendUint(b, uint64(dbB), 10)
	b = append(b, `,"profile_id_a":"`...)
	b = hex.AppendEncode(b, a[:])
	b = append(b, `","profile_id_b":"`...)
	b = hex.AppendEncode(b, bID[:])
	return append(b, `","props":{`...)
}

// appendRelationTail appends a relation's fields after its properties.
func appendRelationTail(b []byte, a, bID relgraph.ProfileID) []byte {
	b = append(b, `},"xxh_a":"`...)
	b = append(b, XXH(a)...)
	b = append(b, `","xxh_b":"`...)
	b = append(b, XXH(bID)...)
	return append(b, `"}`...)
}

// appendRelationJSON appends it as relations/get writes a relation.
func appendRelationJSON(b []byte, it relgraph.RelationItem) ([]byte, error) {
	b = appendRelationHead(b, it.DatabaseB, it.ProfileA, it.ProfileB)
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
	return appendRelationTail(b, it.ProfileA, it.ProfileB), nil
}

// appendViewJSON appends the relation v as appendRelationJSON appends
// v.Item(), reading each property in place. props are the relation
// type's properties in name order, each with its name quoted.
func appendViewJSON(b []byte, v *relgraph.RelationView, props []viewProp) []byte {
	b = appendRelationHead(b, v.DatabaseB, v.ProfileA, v.ProfileB)
	first := true
	for _, p := range props {
		start := len(b)
		if !first {
			b = append(b, ',')
		}
		b = append(b, p.quoted...)
		b = append(b, `:{"value":`...)
		ok := false
		switch p.t {
		case relgraph.PropInt:
			var n int64
			if n, ok = v.Int(p.name); ok {
				b = strconv.AppendInt(b, n, 10)
			}
		case relgraph.PropFloat:
			var f float64
			if f, ok = v.Float(p.name); ok {
				b, _ = appendJSONValue(b, f) // a stored float is finite
			}
		case relgraph.PropBool:
			var x bool
			if x, ok = v.Bool(p.name); ok {
				b = strconv.AppendBool(b, x)
			}
		case relgraph.PropString:
			var s string
			if s, ok = v.String(p.name); ok {
				b = appendJSONString(b, s)
			}
		}
		if !ok { // not set on this relation
			b = b[:start]
			continue
		}
		b = append(b, '}')
		first = false
	}
	return appendRelationTail(b, v.ProfileA, v.ProfileB)
}

// viewProp is a relation type's property, as appendViewJSON writes it.
type viewProp struct {
	name   string
	quoted []byte
	t      relgraph.PropertyType
}

// viewProps is rt's properties in name order.
func viewProps(rt *relgraph.RelationType) []viewProp {
	props := make([]viewProp, 0, len(rt.Properties))
	for _, p := range rt.Properties {
		props = append(props, viewProp{name: p.Name, quoted: appendJSONString(nil, p.Name), t: p.Type})
	}
	slices.SortFunc(props, func(x, y viewProp) int { return strings.Compare(x.name, y.name) })
	return props
}

// relationsJSON reads a page of relations in place and returns its
// "data" array as JSON, the total and the next page's cursor.
func (h *handler) relationsJSON(ctx context.Context, q relgraph.RelationsQuery, rt *relgraph.RelationType) (rawJSON, int64, string, error) {
	props := viewProps(rt)
	data := append(make([]byte, 0, 4096), '[')
	n := 0
	total, next, err := h.store.ScanRelations(ctx, q, func(v *relgraph.RelationView) error {
		if n > 0 {
			data = append(data, ',')
		}
		n++
		data = appendViewJSON(data, v, props)
		return nil
	})
	if err != nil {
		return nil, 0, "", err
	}
	return append(data, ']'), total, next, nil
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
