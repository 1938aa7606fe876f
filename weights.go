package relgraph

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Weights are a relation's property values by name: int64, float64,
// bool or string, as the relation type declares.
type Weights map[string]any

// normalizeWeight checks one property value against its declaration
// and returns it as int64, float64, bool or string. It takes Go values
// of the property's type only: any Go integer for int, a float or an
// exactly representable integer for float, a bool, a string. Text such
// as "12" is the wire format's business (package api).
func normalizeWeight(p Property, v any) (any, error) {
	bad := func(why string) error {
		return invalidf("property %q (%s): %s", p.Name, p.Type, why)
	}
	switch p.Type {
	case PropInt:
		n, err := toInt64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return n, nil
	case PropFloat:
		x, err := toFloat64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return x, nil
	case PropBool:
		b, ok := v.(bool)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a bool, got %T", v))
		}
		return b, nil
	case PropString:
		s, ok := v.(string)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a string, got %T", v))
		}
		if len(s) > MaxPropertyStringBytes {
			return nil, bad("longer than " + strconv.Itoa(MaxPropertyStringBytes) + " bytes")
		}
		if !utf8.ValidString(s) {
			return nil, bad("not valid UTF-8")
		}
		return s, nil
	}
	return nil, bad("unknown type")
}

// checkWeights normalizes the request's weights against the relation
// type. allowNull permits nil values (Overwrite's "remove").
func checkWeights(rt *RelationType, in map[string]any, allowNull bool) (Weights, error) {
	out := make(Weights, len(in))
	for name, v := range in {
		p, ok := rt.Property(name)
		if !ok {
			return nil, invalidf("property %q is not declared in relation type %d", truncate(name), rt.ID)
		}
		if v == nil {
			if !allowNull {
				return nil, invalidf("property %q: null is only allowed in edit (it removes the property)", name)
			}
			out[name] = nil
			continue
		}
		n, err := normalizeWeight(p, v)
		if err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, nil
}

// sameWeights reports whether a and b hold the same values of the same
// types, which is when their canonical encodings are equal.
func sameWeights(a, b Weights) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
