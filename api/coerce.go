package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
)

// The wire carries JSON numbers (json.Number), strings (every XML leaf
// is one), bools, nulls, lists and objects; the store takes Go values of
// each declared type and refuses anything else. The functions here turn
// a wire value into the Go value of the type its field or property is
// declared with, by the rules of docs/spec.md ("Values on the wire"):
//
//   - int: a JSON integer, or a decimal integer as text ("12"); a
//     fraction ("1.5", "1e3") is refused;
//   - float: a JSON number, or a decimal number as text;
//   - bool: true or false, as JSON or as text;
//   - string: a string;
//   - date: an RFC 3339 date ("2006-01-02") or date-time, as text;
//   - tags: a list of strings, or one string of comma-separated tags.
//
// A name the schema does not declare is left as it came: the store then
// refuses it by name.

// coerce converts wire value v for type t ("int", "float", "bool",
// "string", "date" or "tags"). The error says why, without the subject.
func coerce(t string, v any) (any, error) {
	switch t {
	case "int":
		s, ok := numberText(v)
		if !ok {
			return nil, fmt.Errorf("expected an integer, got %s", kindOf(v))
		}
		if !jsonNumber.MatchString(s) {
			return nil, fmt.Errorf("expected an integer, got %q", truncate(s))
		}
		if strings.ContainsAny(s, ".eE") {
			return nil, fmt.Errorf("a fraction is not an int: %s", truncate(s))
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s is out of the int64 range", truncate(s))
		}
		return n, nil
	case "float":
		s, ok := numberText(v)
		if !ok {
			return nil, fmt.Errorf("expected a number, got %s", kindOf(v))
		}
		x, err := strconv.ParseFloat(s, 64)
		if !jsonNumber.MatchString(s) || err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("expected a number, got %q", truncate(s))
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("number %s is beyond float64", truncate(s))
		}
		return x, nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.TrimSpace(x) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, fmt.Errorf("expected true or false, got %s", kindOf(v))
	case "string":
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("expected a string, got %s", kindOf(v))
		}
		return v, nil
	case "date":
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected an RFC 3339 date or date-time string, got %s", kindOf(v))
		}
		s = strings.TrimSpace(s)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, nil
		}
		return nil, fmt.Errorf("value %q is not an RFC 3339 date (2006-01-02) or date-time (2006-01-02T15:04:05Z)", truncate(s))
	case "tags":
		switch x := v.(type) {
		case string:
			return strings.Split(x, ","), nil
		case []any:
			tags := make([]string, len(x))
			for i, item := range x {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("tags must be strings, got %s", kindOf(item))
				}
				tags[i] = s
			}
			return tags, nil
		}
		return nil, fmt.Errorf("tags must be a string or a list of strings, got %s", kindOf(v))
	}
	return v, nil
}

// jsonNumber is JSON's number grammar: numbers as text (XML, or
// quoted) must be written as JSON writes them, not in Go's or C's other
// forms (0x1p4, 1_000, Inf).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numberText is a wire number's text: a JSON number, or XML (or JSON)
// text.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case string:
		return strings.TrimSpace(x), true
	}
	return "", false
}

// fieldValue converts the wire value of database db's field name; an
// undeclared field, or a null, is left as it is.
func fieldValue(db *relgraph.Database, name string, v any) (any, error) {
	if db == nil || v == nil {
		return v, nil
	}
	if m, isObject := v.(map[string]any); isObject && m["action"] == "upsert" {
		return nil, invalidf("field %q: upsert works on object fields, which relgraph does not have", name)
	}
	f, ok := db.Field(name)
	if !ok {
		return v, nil
	}
	if m, isObject := v.(map[string]any); isObject {
		return fieldUpdate(f, m)
	}
	if n, isNumber := v.(json.Number); isNumber && f.Type == relgraph.FieldString && strings.HasPrefix(name, "_") {
		// The platform's pages send _sex and _postal_code as numbers in
		// one place and as text in another: a system text field takes
		// an integer as its digits.
		if _, err := n.Int64(); err != nil {
			return nil, invalidf("field %q (string): expected text or an integer, got %s", name, truncate(n.String()))
		}
		return n.String(), nil
	}
	out, err := coerce(string(f.Type), v)
	if err != nil {
		return nil, invalidf("field %q (%s): %v", name, f.Type, err)
	}
	return out, nil
}

// fieldUpdate reads a functional update of field f, {"action": …,
// "value": …}: its value typed by the field (a list of tags for add and
// delete); submatch (of upsert) is read so that the store can refuse
// the action by name.
func fieldUpdate(f relgraph.Field, m map[string]any) (any, error) {
	p := newParams("data."+f.Name+".", m)
	action, err := p.str("action")
	if err != nil {
		return nil, err
	}
	u := relgraph.FieldUpdate{Action: action}
	if _, sent := m["submatch"]; sent && action != "upsert" {
		return nil, p.bad("submatch", "only upsert takes submatch")
	}
	if v, ok := p.get("value"); ok && v != nil {
		if u.Value, err = coerce(string(f.Type), v); err != nil {
			return nil, invalidf("field %q (%s): %s: %v", f.Name, f.Type, action, err)
		}
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	return u, nil
}

// weights converts the wire values of a relation request's weights by
// the relation type's declarations.
func weights(rt *relgraph.RelationType, in map[string]any) (map[string]any, error) {
	if rt == nil || in == nil {
		return in, nil
	}
	out := make(map[string]any, len(in))
	for name, v := range in {
		p, ok := rt.Property(name)
		if !ok || v == nil {
			out[name] = v
			continue
		}
		n, err := coerce(string(p.Type), v)
		if err != nil {
			return nil, invalidf("property %q (%s): %v", name, p.Type, err)
		}
		out[name] = n
	}
	return out, nil
}

// locatorValue converts a locator's field_value by the field's type in
// database db, prefixing errors with side ("profile_a: ").
// LocatorValue converts a locator's field value as the wire carries it
// (text, as a command line gives it too, or a JSON number) to the Go
// value its field's declared type takes: "42" for an int field is
// int64(42), "a, b" for a tags field the tags a and b. An unknown field
// or a value of the wrong type is ErrInvalid, naming them.
func LocatorValue(db *relgraph.Database, loc *relgraph.Locator) error {
	return locatorValue(db, loc, "")
}

func locatorValue(db *relgraph.Database, loc *relgraph.Locator, side string) error {
	if loc.FieldName == "" || loc.FieldValue == nil {
		return nil
	}
	bad := func(format string, args ...any) error {
		if side != "" {
			return invalidf("%s: parameter field_value: %s", side, fmt.Sprintf(format, args...))
		}
		return invalidf("parameter field_value: %s", fmt.Sprintf(format, args...))
	}
	if _, isObject := loc.FieldValue.(map[string]any); isObject {
		return bad("expected a value, got an object")
	}
	if loc.Matching == relgraph.ModeCustomSub {
		// A subscription's custom field is text: a number is its digits.
		switch x := loc.FieldValue.(type) {
		case json.Number:
			loc.FieldValue = x.String()
		case string, bool:
		default:
			return bad("expected text, a number or a boolean, got %s", kindOf(x))
		}
		return nil
	}
	v, err := fieldValue(db, loc.FieldName, loc.FieldValue)
	if err != nil {
		if side != "" {
			return invalidf("%s: %v", side, err)
		}
		return err
	}
	loc.FieldValue = v
	return nil
}

// database returns database id's declaration, or nil if there is none
// (the store then answers 404).
func (h *handler) database(id uint32) *relgraph.Database {
	d, err := h.store.Database(id)
	if err != nil {
		return nil
	}
	return &d
}

// relationType returns relation type id's declaration and its two
// databases, or nils.
func (h *handler) relationType(id uint32) (rt *relgraph.RelationType, dbA, dbB *relgraph.Database) {
	r, err := h.store.RelationType(id)
	if err != nil {
		return nil, nil, nil
	}
	return &r, h.database(r.DatabaseA), h.database(r.DatabaseB)
}

// subStatus reads a subscription status: its word or its number (0 to
// 6), as a JSON number or text.
func subStatus(v any) (relgraph.SubStatus, error) {
	if s, ok := v.(string); ok {
		word := strings.ToLower(strings.TrimSpace(s))
		for st := relgraph.StatusSubscribed; st <= relgraph.StatusInvalid; st++ {
			if word == st.String() {
				return st, nil
			}
		}
	}
	if s, ok := numberText(v); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= int(relgraph.StatusInvalid) {
			return relgraph.SubStatus(n), nil
		}
	}
	return 0, invalidf("subscription status %s: expected one of subscribed, unsubscribed, complained, hardbounced, unconfirmed, suspended, invalid or 0 to 6", describe(v))
}

// describe quotes a wire value for a message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(truncate(x))
	case json.Number:
		return truncate(x.String())
	}
	return kindOf(v)
}
