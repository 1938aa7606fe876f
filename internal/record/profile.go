package record

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Profile is a profile as stored (msgpack, in the profile keyspace; see
// the package documentation for its bytes). Field values carry their
// kind, so a record decodes the same whatever the schema says.
type Profile struct {
	Email  string   `msgpack:"e,omitempty"`
	Phones []string `msgpack:"p,omitempty"`
	// Fields are sorted by name: msgpack would write a map of structs
	// in Go's random order, and equal profiles must give equal bytes.
	Fields  []Field        `msgpack:"f,omitempty"`
	Subs    []Subscription `msgpack:"s,omitempty"`
	Created int64          `msgpack:"c"` // Unix nanoseconds (Nanos)
	Updated int64          `msgpack:"u"`
}

// Field is one custom field of a stored profile.
type Field struct {
	Name  string `msgpack:"n"`
	Value Value  `msgpack:"v"`
}

// Kind is a stored field value's kind: the name of its field type.
type Kind string

// The kinds, named as the schema's field types are.
const (
	KindString Kind = "string"
	KindInt    Kind = "int"
	KindFloat  Kind = "float"
	KindBool   Kind = "bool"
	KindDate   Kind = "date"
	KindTags   Kind = "tags"
)

// Value is one typed custom field value as stored.
type Value struct {
	Kind  Kind     `msgpack:"k"`
	Str   string   `msgpack:"s,omitempty"`
	Int   int64    `msgpack:"i,omitempty"` // int, bool (0/1), date seconds
	Nanos int32    `msgpack:"n,omitempty"` // date nanoseconds
	Float float64  `msgpack:"x,omitempty"`
	Tags  []string `msgpack:"t,omitempty"`
}

// Subscription is a profile's subscription as stored.
type Subscription struct {
	ResourceID     uint32            `msgpack:"r"`
	Channel        string            `msgpack:"c"`
	Email          string            `msgpack:"e,omitempty"`
	Phone          string            `msgpack:"p,omitempty"`
	Provider       string            `msgpack:"pv,omitempty"`
	SubscriptionID string            `msgpack:"sid,omitempty"`
	Status         int               `msgpack:"st"`
	Priority       int               `msgpack:"pr,omitempty"`
	Fields         map[string]string `msgpack:"f,omitempty"`
	Categories     []string          `msgpack:"cat,omitempty"`
}

// ValueOf is the stored value of v, a Go value of a field: string,
// int64, float64, bool, time.Time or []string (sorted); its kind is
// v's.
func ValueOf(v any) Value {
	var fv Value
	switch x := v.(type) {
	case string:
		fv.Kind, fv.Str = KindString, x
	case int64:
		fv.Kind, fv.Int = KindInt, x
	case float64:
		fv.Kind, fv.Float = KindFloat, x
	case bool:
		fv.Kind = KindBool
		if x {
			fv.Int = 1
		}
	case time.Time:
		fv.Kind, fv.Int, fv.Nanos = KindDate, x.Unix(), int32(x.Nanosecond())
	case []string:
		fv.Kind, fv.Tags = KindTags, x
	}
	return fv
}

// Go returns the Go value, or an error if the stored value is not a
// well-formed value of its kind.
func (fv Value) Go() (any, error) {
	switch fv.Kind {
	case KindString:
		return fv.Str, nil
	case KindInt:
		return fv.Int, nil
	case KindFloat:
		if math.IsNaN(fv.Float) || math.IsInf(fv.Float, 0) {
			return nil, fmt.Errorf("stored float is not finite")
		}
		return fv.Float, nil
	case KindBool:
		if fv.Int != 0 && fv.Int != 1 {
			return nil, fmt.Errorf("stored bool is %d", fv.Int)
		}
		return fv.Int == 1, nil
	case KindDate:
		if fv.Nanos < 0 || fv.Nanos >= 1e9 {
			return nil, fmt.Errorf("stored date has %d nanoseconds", fv.Nanos)
		}
		return time.Unix(fv.Int, int64(fv.Nanos)).UTC(), nil
	case KindTags:
		if !slices.IsSorted(fv.Tags) || len(slices.Compact(slices.Clone(fv.Tags))) != len(fv.Tags) {
			return nil, fmt.Errorf("stored tags are not a sorted set")
		}
		return slices.Clone(fv.Tags), nil
	}
	return nil, fmt.Errorf("stored field kind %q is unknown", Truncate(string(fv.Kind)))
}

// EncodeProfile returns the stored bytes of p (sealed).
func EncodeProfile(p *Profile) ([]byte, error) {
	b, err := Encode(p)
	if err != nil {
		return nil, err
	}
	return Seal(b), nil
}

// DecodeProfile decodes stored bytes: they must be sealed, one
// well-formed record with no key its struct lacks, its fields sorted by
// name and each value well formed (Value.Go). What a profile's values
// mean (normalized email, phones) is the caller's to check.
func DecodeProfile(b []byte) (*Profile, error) {
	body, err := Unseal(b)
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("does not decode: %w", err)
	}
	for i, f := range p.Fields {
		if i > 0 && f.Name <= p.Fields[i-1].Name {
			return nil, fmt.Errorf("fields not sorted at %q", Truncate(f.Name))
		}
	}
	return &p, nil
}

// SortFields sorts p's fields by name, as they are stored.
func (p *Profile) SortFields() {
	slices.SortFunc(p.Fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
}

// EncodeMsgpack writes r exactly as msgpack's struct encoding writes
// Profile by its tags (TestProfileCodecMatchesReflection holds it
// to that): a map of the fields present, in declaration order,
// omitempty ones left out when empty, int64, int32, uint32 and float64
// fields in their fixed sizes, int fields in their shortest form, map
// keys sorted. By hand, because every imported profile is encoded once,
// and reflection cost more than a third of preparing one (allocating as
// it checked each omitempty field). A field added to Profile, Field,
// Value or Subscription must be added here too:
// TestProfileCodecKnowsEveryField fails until it is.
func (r *Profile) EncodeMsgpack(e *msgpack.Encoder) error {
	w := writer{e: e}
	w.mapLen(present(r.Email != "", len(r.Phones) > 0, len(r.Fields) > 0, len(r.Subs) > 0, true, true))
	if r.Email != "" {
		w.str("e").str(r.Email)
	}
	if len(r.Phones) > 0 {
		w.str("p").strs(r.Phones)
	}
	if len(r.Fields) > 0 {
		w.str("f").arrayLen(len(r.Fields))
		for i := range r.Fields {
			f := &r.Fields[i]
			w.mapLen(2).str("n").str(f.Name).str("v")
			f.Value.encode(&w)
		}
	}
	if len(r.Subs) > 0 {
		w.str("s").arrayLen(len(r.Subs))
		for i := range r.Subs {
			encodeSubscription(&w, &r.Subs[i])
		}
	}
	w.str("c").int64(r.Created)
	w.str("u").int64(r.Updated)
	return w.err
}

func (fv *Value) encode(w *writer) {
	w.mapLen(present(true, fv.Str != "", fv.Int != 0, fv.Nanos != 0, fv.Float != 0, len(fv.Tags) > 0))
	w.str("k").str(string(fv.Kind))
	if fv.Str != "" {
		w.str("s").str(fv.Str)
	}
	if fv.Int != 0 {
		w.str("i").int64(fv.Int)
	}
	if fv.Nanos != 0 {
		w.str("n")
		w.try(w.e.EncodeInt32(fv.Nanos))
	}
	if fv.Float != 0 {
		w.str("x")
		w.try(w.e.EncodeFloat64(fv.Float))
	}
	if len(fv.Tags) > 0 {
		w.str("t").strs(fv.Tags)
	}
}

func encodeSubscription(w *writer, s *Subscription) {
	w.mapLen(present(true, true, s.Email != "", s.Phone != "", s.Provider != "", s.SubscriptionID != "", true,
		s.Priority != 0, len(s.Fields) > 0, len(s.Categories) > 0))
	w.str("r")
	w.try(w.e.EncodeUint32(s.ResourceID))
	w.str("c").str(s.Channel)
	for _, f := range [...]struct{ name, v string }{{"e", s.Email}, {"p", s.Phone}, {"pv", s.Provider}, {"sid", s.SubscriptionID}} {
		if f.v != "" {
			w.str(f.name).str(f.v)
		}
	}
	w.str("st") // an int, not an int64: msgpack writes it in its shortest form
	w.try(w.e.EncodeInt(int64(s.Status)))
	if s.Priority != 0 {
		w.str("pr")
		w.try(w.e.EncodeInt(int64(s.Priority)))
	}
	if len(s.Fields) > 0 {
		w.str("f").mapLen(len(s.Fields))
		for _, k := range SortedKeys(s.Fields) {
			w.str(k).str(s.Fields[k])
		}
	}
	if len(s.Categories) > 0 {
		w.str("cat").strs(s.Categories)
	}
}
