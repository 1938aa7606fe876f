package api

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/internal/text"
)

// params reads typed request parameters from a decoded object and
// remembers which were read, so unknown ones can be refused by name.
type params struct {
	path string // "" for the top level, "profile_a." inside an object
	m    map[string]any
	used map[string]bool
	xml  bool // the body was XML
	// answer is the format the answer is written in (set before the
	// endpoint runs): an endpoint may build its answer for it.
	answer Format
}

func newParams(path string, m map[string]any) *params {
	return &params{path: path, m: m, used: map[string]bool{}}
}

// badParam is a 400 naming the parameter.
func (p *params) bad(name, format string, args ...any) error {
	return invalidf("parameter %s%s: %s", p.path, name, fmt.Sprintf(format, args...))
}

func (p *params) get(name string) (any, bool) {
	v, ok := p.m[name]
	if ok { // only names the body holds matter to unknown: the map stays small
		p.used[name] = true
	}
	return v, ok
}

// unknown refuses every parameter not read.
func (p *params) unknown() error {
	if len(p.used) == len(p.m) {
		return nil // every name the body holds was read
	}
	var extra []string
	for k := range p.m {
		if !p.used[k] {
			extra = append(extra, p.path+k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	for i := range extra {
		extra[i] = truncate(extra[i])
	}
	if len(extra) > 10 {
		extra = append(extra[:10], fmt.Sprintf("and %d more", len(extra)-10))
	}
	return invalidf("unknown parameter %s", strings.Join(extra, ", "))
}

func (p *params) str(name string) (string, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil // ids sent as numbers
	}
	return "", p.bad(name, "expected a string, got %s", kindOf(v))
}

// integer reads a decimal integer (a JSON number or text) from lo to hi;
// absent or null gives 0, or an error when required.
func (p *params) integer(name string, lo, hi int64, required bool) (int64, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		if required {
			return 0, p.bad(name, "required")
		}
		return 0, nil
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, p.bad(name, "expected an integer, got %s", kindOf(v))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, p.bad(name, "expected an integer from %d to %d, got %q", lo, hi, truncate(s))
	}
	return n, nil
}

// boolean reads an optional true or false, as JSON or as text.
func (p *params) boolean(name string) (bool, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return false, nil
	}
	b, err := coerce("bool", v)
	if err != nil {
		return false, p.bad(name, "%v", err)
	}
	return b.(bool), nil
}

// intList reads an optional list of integers (a single XML element is a
// list of one).
func (p *params) intList(name string) ([]int64, error) {
	list, _, err := p.list(name)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(list))
	for i, v := range list {
		n, err := coerce("int", v)
		if err != nil {
			return nil, p.bad(name, "item %d: %v", i, err)
		}
		out[i] = n.(int64)
	}
	return out, nil
}

// strList reads an optional list of strings (a single XML element is a
// list of one); absent or null gives nil.
func (p *params) strList(name string) ([]string, error) {
	list, _, err := p.list(name)
	if err != nil || list == nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, p.bad(name, "item %d: expected a string, got %s", i, kindOf(v))
		}
		out[i] = s
	}
	return out, nil
}

// uint32 reads an id: an integer from 1 to 2³²-1.
func (p *params) uint32(name string, required bool) (uint32, error) {
	n, err := p.integer(name, 1, math.MaxUint32, required)
	return uint32(n), err
}

// int reads an optional integer from 0 to limit.
func (p *params) int(name string, limit int) (int, error) {
	n, err := p.integer(name, 0, int64(limit), false)
	return int(n), err
}

// object reads a nested object; absent gives nil.
func (p *params) object(name string) (map[string]any, error) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return nil, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
			return map[string]any{}, nil // an empty XML element
		}
		return nil, p.bad(name, "expected an object, got %s", kindOf(v))
	}
	return m, nil
}

// list reads a list. In XML, where a list of one is written as its one
// element, a single element (text or object) is a list of one, and an
// empty element an empty list; in JSON a list must be a list.
func (p *params) list(name string) ([]any, bool, error) {
	v, ok := p.get(name)
	if !ok {
		return nil, false, nil
	}
	switch x := v.(type) {
	case nil:
		return nil, true, nil
	case []any:
		return x, true, nil
	case string:
		if p.xml && strings.TrimSpace(x) == "" {
			return []any{}, true, nil
		}
	}
	if p.xml {
		return []any{v}, true, nil
	}
	return nil, true, p.bad(name, "expected a list, got %s", kindOf(v))
}

// child reads the object m nested at path, in the same format.
func (p *params) child(path string, m map[string]any) *params {
	c := newParams(path, m)
	c.xml = p.xml
	return c
}

// locator reads the locator keys of docs/spec.md §3 from p. def supplies a
// request-level matching block for keys the side does not set.
func (p *params) locator(def *relgraph.Locator) (relgraph.Locator, error) {
	var loc relgraph.Locator
	var err error
	m, err := p.str("matching")
	if err != nil {
		return loc, err
	}
	loc.Matching = relgraph.Mode(m)
	if loc.ProfileID, err = p.str("profile_id"); err != nil {
		return loc, err
	}
	if loc.Email, err = p.str("email"); err != nil {
		return loc, err
	}
	if loc.Phone, err = p.str("phone"); err != nil {
		return loc, err
	}
	if loc.FieldName, err = p.str("field_name"); err != nil {
		return loc, err
	}
	loc.FieldValue, _ = p.get("field_value")
	if loc.Provider, err = p.str("provider"); err != nil {
		return loc, err
	}
	if loc.SubscriptionID, err = p.str("subscription_id"); err != nil {
		return loc, err
	}
	if loc.ResourceID, err = p.uint32("resource_id", false); err != nil {
		return loc, err
	}
	if def != nil {
		if loc.Matching == "" {
			loc.Matching = def.Matching
		}
		if loc.FieldName == "" {
			loc.FieldName = def.FieldName
		}
		if loc.ResourceID == 0 {
			loc.ResourceID = def.ResourceID
		}
	}
	return loc, nil
}

// idAndLocator reads a required id (db_id or rel_id) and a top-level
// locator, and refuses any other parameter: the whole request of
// profiles/get, profiles/delete and relations/get_counter.
func (p *params) idAndLocator(idName string) (uint32, relgraph.Locator, error) {
	id, err := p.uint32(idName, true)
	if err != nil {
		return 0, relgraph.Locator{}, err
	}
	loc, err := p.locator(nil)
	if err != nil {
		return 0, relgraph.Locator{}, err
	}
	return id, loc, p.unknown()
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string) string { return text.Truncate(s) }
