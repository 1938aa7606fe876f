package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/relgraph/relgraph"
)

// A relations/get answer in JSON writes each relation's bytes itself:
// the bytes encoding/json writes for relationItem's map (keys sorted,
// floats in its format, strings escaped as its encoder with
// SetEscapeHTML(false) escapes them; tests hold it to that), without the
// three maps and the reflection per relation that took most of a page's
// CPU. XML answers are written from relationItem.

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
	b = appendXXH(b, a)
	b = append(b, `","xxh_b":"`...)
	b = appendXXH(b, bID)
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
// v.Item(), reading each property in place: every property the record
// holds, in its (name) order, whatever the schema said when the request
// began.
func appendViewJSON(b []byte, v *relgraph.RelationView) ([]byte, error) {
	b = appendRelationHead(b, v.DatabaseB, v.ProfileA, v.ProfileB)
	first := true
	for name, t := range v.Properties() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(appendJSONString(b, name), `:{"value":`...)
		switch t {
		case relgraph.PropInt:
			n, _ := v.Int(name)
			b = strconv.AppendInt(b, n, 10)
		case relgraph.PropFloat:
			f, _ := v.Float(name)
			var err error
			if b, err = appendJSONValue(b, f); err != nil {
				return nil, err // not finite: encoding/json's error, as before
			}
		case relgraph.PropBool:
			x, _ := v.Bool(name)
			b = strconv.AppendBool(b, x)
		default:
			s, _ := v.String(name)
			b = appendJSONString(b, s)
		}
		b = append(b, '}')
	}
	return appendRelationTail(b, v.ProfileA, v.ProfileB), nil
}

// relationsJSON reads a page of relations in place and returns its
// "data" array as JSON, the total and the next page's cursor.
func (h *handler) relationsJSON(ctx context.Context, q relgraph.RelationsQuery) (rawJSON, int64, string, error) {
	// About 230 bytes a relation of three properties: sized for a page
	// of the default size rather than grown (and copied) four times; a
	// larger page grows from there (its A may hold few relations).
	limit := min(q.Limit, relgraph.DefaultRelationsLimit)
	if limit <= 0 {
		limit = relgraph.DefaultRelationsLimit
	}
	data := append(make([]byte, 0, 64+256*limit), '[')
	n := 0
	total, next, err := h.store.ScanRelations(ctx, q, func(v *relgraph.RelationView) error {
		if n > 0 {
			data = append(data, ',')
		}
		n++
		var err error
		data, err = appendViewJSON(data, v)
		return err
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
	b, _ = appendEncoded(b, s) // a string always encodes
	return b
}

// plainJSONString reports whether s is written as it is between quotes:
// no control character, quote, backslash or non-ASCII byte (which the
// encoder escapes or checks).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendEncoded appends v as the answer's JSON encoder (encoding/json,
// HTML left unescaped) writes it: the scalars answers are made of by
// hand, anything else through the encoder.
func appendEncoded(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case string:
		if plainJSONString(x) {
			return append(append(append(b, '"'), x...), '"'), nil
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
