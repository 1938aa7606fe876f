package relgraph

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Weights are a relation's property values by name: int64, float64,
// bool or string, as the relation type declares.
type Weights map[string]any

// relationRecord is a relation as stored (msgpack, canonical: sorted
// keys, int64 and float64 keep their msgpack types).
type relationRecord struct {
	Weights Weights `msgpack:"w"`
	Created int64   `msgpack:"c"`
	Updated int64   `msgpack:"u"`
}

func encodeRelation(r *relationRecord) ([]byte, error) {
	b, err := encode(r)
	if err != nil {
		return nil, storageErr("encode relation", err)
	}
	return seal(b), nil
}

// decodeRelation decodes stored bytes and checks every weight against
// the relation type; anything else is ErrCorrupt.
func decodeRelation(rt *RelationType, a, b ProfileID, v []byte) (*relationRecord, error) {
	body, err := unseal(v)
	if err != nil {
		return nil, corruptf("relation %d %s→%s: %v", rt.ID, b, a, err)
	}
	var r relationRecord
	if err := decodeExact(body, r.DecodeMsgpack); err != nil {
		return nil, corruptf("relation %d %s→%s does not decode: %v", rt.ID, b, a, err)
	}
	for name, w := range r.Weights {
		p, ok := rt.Property(name)
		if !ok {
			return nil, corruptf("relation %d %s→%s: stored property %q is not declared", rt.ID, b, a, truncate(name))
		}
		if !storedTypeOK(p.Type, w) {
			return nil, corruptf("relation %d %s→%s: stored property %q is %T, declared %s", rt.ID, b, a, name, w, p.Type)
		}
	}
	if r.Weights == nil {
		r.Weights = Weights{}
	}
	return &r, nil
}

func storedTypeOK(t PropertyType, v any) bool {
	switch x := v.(type) {
	case int64:
		return t == PropInt
	case float64:
		return t == PropFloat && !math.IsNaN(x) && !math.IsInf(x, 0)
	case bool:
		return t == PropBool
	case string:
		return t == PropString && len(x) <= MaxPropertyStringBytes
	}
	return false
}

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

// nanos converts a time to stored Unix nanoseconds (0 for the zero time).
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
