package relgraph

import (
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// profileRecord is a profile as stored (msgpack, in the profile
// keyspace). Field values carry their kind, so a record decodes the same
// whatever the schema says; Check compares the two.
type profileRecord struct {
	Email  string   `msgpack:"e,omitempty"`
	Phones []string `msgpack:"p,omitempty"`
	// Fields are sorted by name: msgpack would write a map of structs
	// in Go's random order, and equal profiles must give equal bytes.
	Fields  []namedField   `msgpack:"f,omitempty"`
	Subs    []Subscription `msgpack:"s,omitempty"`
	Created int64          `msgpack:"c"`
	Updated int64          `msgpack:"u"`
}

type namedField struct {
	Name  string     `msgpack:"n"`
	Value fieldValue `msgpack:"v"`
}

// fieldValue is one typed custom field value as stored.
type fieldValue struct {
	Kind  FieldType `msgpack:"k"`
	Str   string    `msgpack:"s,omitempty"`
	Int   int64     `msgpack:"i,omitempty"` // int, bool (0/1), date seconds
	Nanos int32     `msgpack:"n,omitempty"` // date nanoseconds
	Float float64   `msgpack:"x,omitempty"`
	Tags  []string  `msgpack:"t,omitempty"`
}

func toFieldValue(t FieldType, v any) fieldValue {
	fv := fieldValue{Kind: t}
	switch x := v.(type) {
	case string:
		fv.Str = x
	case int64:
		fv.Int = x
	case float64:
		fv.Float = x
	case bool:
		if x {
			fv.Int = 1
		}
	case time.Time:
		fv.Int, fv.Nanos = x.Unix(), int32(x.Nanosecond())
	case []string:
		fv.Tags = x
	}
	return fv
}

// value returns the Go value, or an error if the stored value is not a
// well-formed value of its kind.
func (fv fieldValue) value() (any, error) {
	switch fv.Kind {
	case FieldString:
		return fv.Str, nil
	case FieldInt:
		return fv.Int, nil
	case FieldFloat:
		if math.IsNaN(fv.Float) || math.IsInf(fv.Float, 0) {
			return nil, corruptf("stored float is not finite")
		}
		return fv.Float, nil
	case FieldBool:
		if fv.Int != 0 && fv.Int != 1 {
			return nil, corruptf("stored bool is %d", fv.Int)
		}
		return fv.Int == 1, nil
	case FieldDate:
		if fv.Nanos < 0 || fv.Nanos >= 1e9 {
			return nil, corruptf("stored date has %d nanoseconds", fv.Nanos)
		}
		return time.Unix(fv.Int, int64(fv.Nanos)).UTC(), nil
	case FieldTags:
		if !slices.IsSorted(fv.Tags) || len(slices.Compact(slices.Clone(fv.Tags))) != len(fv.Tags) {
			return nil, corruptf("stored tags are not a sorted set")
		}
		return slices.Clone(fv.Tags), nil
	}
	return nil, corruptf("stored field kind %q is unknown", fv.Kind)
}

// Profile is one profile as returned by reads. Fields hold string,
// int64, float64, bool, time.Time (UTC) or []string (tags, sorted).
type Profile struct {
	ID            ProfileID
	DatabaseID    uint32
	Email         string // "" when the profile has none
	Phones        []string
	Fields        map[string]any
	Subscriptions []Subscription // ordered by resource, channel, address
	Created       time.Time
	Updated       time.Time
}

func (p *Profile) record() *profileRecord {
	r := &profileRecord{
		Email:   p.Email,
		Phones:  p.Phones,
		Subs:    p.Subscriptions,
		Created: nanos(p.Created),
		Updated: nanos(p.Updated),
	}
	for name, v := range p.Fields {
		r.Fields = append(r.Fields, namedField{name, toFieldValue(kindOf(v), v)})
	}
	slices.SortFunc(r.Fields, func(a, b namedField) int { return strings.Compare(a.Name, b.Name) })
	return r
}

func kindOf(v any) FieldType {
	switch v.(type) {
	case string:
		return FieldString
	case int64:
		return FieldInt
	case float64:
		return FieldFloat
	case bool:
		return FieldBool
	case time.Time:
		return FieldDate
	case []string:
		return FieldTags
	}
	return ""
}

// encodeProfile returns the stored bytes of p.
func encodeProfile(p *Profile) ([]byte, error) {
	b, err := encode(p.record())
	if err != nil {
		return nil, storageErr("encode profile", err)
	}
	return seal(b), nil
}

// decodeProfile decodes stored bytes. Bytes that do not decode, or decode
// to values no write produces, give ErrCorrupt naming the profile.
func decodeProfile(db uint32, id ProfileID, b []byte) (*Profile, error) {
	body, err := unseal(b)
	if err != nil {
		return nil, corruptf("profile %s in database %d: %v", id, db, err)
	}
	var r profileRecord
	if err := unmarshal(body, &r); err != nil {
		return nil, corruptf("profile %s in database %d does not decode: %v", id, db, err)
	}
	p := &Profile{
		ID:            id,
		DatabaseID:    db,
		Email:         r.Email,
		Phones:        r.Phones,
		Subscriptions: r.Subs,
		Created:       unixNanos(r.Created),
		Updated:       unixNanos(r.Updated),
	}
	if len(r.Fields) > 0 {
		p.Fields = make(map[string]any, len(r.Fields))
		for i, f := range r.Fields {
			if i > 0 && f.Name <= r.Fields[i-1].Name {
				return nil, corruptf("profile %s in database %d: fields not sorted at %q", id, db, truncate(f.Name))
			}
			v, err := f.Value.value()
			if err != nil {
				return nil, corruptf("profile %s in database %d: field %q: %v", id, db, truncate(f.Name), err)
			}
			p.Fields[f.Name] = v
		}
	}
	if err := p.checkStored(); err != nil {
		return nil, corruptf("profile %s in database %d: %v", id, db, err)
	}
	return p, nil
}

// checkStored verifies what normalization guarantees of every stored
// profile, so corrupt bytes are caught at read time instead of breaking
// index maintenance later.
func (p *Profile) checkStored() error {
	if p.Email != "" {
		if e, err := NormalizeEmail(p.Email); err != nil || e != p.Email {
			return corruptf("stored email %q is not normalized", truncate(p.Email))
		}
	}
	for _, ph := range p.Phones {
		if !isE164(ph) {
			return corruptf("stored phone %q is not normalized", truncate(ph))
		}
	}
	for i := range p.Subscriptions {
		n, err := p.Subscriptions[i].normalizeWith(storedPhone)
		if n = n.stored(); err != nil || !n.equal(&p.Subscriptions[i]) {
			return corruptf("stored subscription %d is not valid", i)
		}
	}
	return nil
}

// storedPhone checks a stored phone by its form (isE164).
func storedPhone(p string) (string, error) {
	if !isE164(p) {
		return "", corruptf("stored phone %q is not in E.164 form", truncate(p))
	}
	return p, nil
}

// clone returns a deep copy, so a caller may change it freely.
func (p *Profile) clone() *Profile {
	c := *p
	c.Phones = slices.Clone(p.Phones)
	c.Subscriptions = slices.Clone(p.Subscriptions)
	for i := range c.Subscriptions {
		c.Subscriptions[i].Fields = maps.Clone(c.Subscriptions[i].Fields)
		c.Subscriptions[i].Categories = slices.Clone(c.Subscriptions[i].Categories)
	}
	c.Fields = maps.Clone(p.Fields)
	for k, v := range c.Fields {
		if tags, ok := v.([]string); ok {
			c.Fields[k] = slices.Clone(tags)
		}
	}
	return &c
}
