package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
)

// profileQuery is the "query" of profiles/list: the platform's page says
// it is written as a MongoDB query, and relgraph takes the part of that
// language that has a meaning for its profiles (docs/spec.md §5):
//
//   - {"field": value}: the field equals value; for a list field (tags,
//     phones), one of its items does; null matches a profile without
//     the field;
//   - {"field": {"$op": value, …}} with $eq, $ne, $gt, $gte, $lt, $lte,
//     $in, $nin (a list), $exists (a bool);
//   - {"$and": [q, …]}, {"$or": [q, …]}, {"$nor": [q, …]};
//   - several keys in one object: all must hold.
//
// A field is "id" (or "_id", the profile id), "email", "phones", a
// system field or a field the database declares; its values are read
// by the field's type, as an import reads them. Anything else (another
// operator, an unknown field, a value of the wrong type) is a 400 naming
// it, before any profile is read.
type profileQuery func(p *relgraph.Profile) bool

// maxQueryDepth bounds how deeply $and/$or/$nor nest: each level is two
// levels of the body (a list and an object), so that the deepest query
// stays within the body decoder's bound (32) with its operators.
const maxQueryDepth = 8

// compileQuery checks q against database d and returns its test.
func compileQuery(q map[string]any, d *relgraph.Database) (profileQuery, error) {
	return compileAll(q, d, "query", 0)
}

func compileAll(q map[string]any, d *relgraph.Database, path string, depth int) (profileQuery, error) {
	if depth > maxQueryDepth {
		return nil, invalidf("parameter %s: nested more than %d deep", path, maxQueryDepth)
	}
	var tests []profileQuery
	for _, k := range sortedKeys(q) { // errors name the first problem the same way every time
		var t profileQuery
		var err error
		switch k {
		case "$and", "$or", "$nor":
			t, err = compileLogic(k, q[k], d, path+"."+k, depth)
		default:
			if strings.HasPrefix(k, "$") {
				return nil, invalidf("parameter %s: operator %s is not supported (relgraph takes $and, $or, $nor at this level)", path, truncate(k))
			}
			t, err = compileField(k, q[k], d, path+"."+k)
		}
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return allOf(tests), nil
}

func compileLogic(op string, v any, d *relgraph.Database, path string, depth int) (profileQuery, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, invalidf("parameter %s: expected a non-empty list of queries, got %s", path, kindOf(v))
	}
	if len(list) == 0 {
		return nil, invalidf("parameter %s: an empty list: give at least one query", path)
	}
	tests := make([]profileQuery, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, invalidf("parameter %s[%d]: expected a query object, got %s", path, i, kindOf(item))
		}
		t, err := compileAll(m, d, fmt.Sprintf("%s[%d]", path, i), depth+1)
		if err != nil {
			return nil, err
		}
		tests[i] = t
	}
	some := slices.ContainsFunc[[]profileQuery]
	switch op {
	case "$and":
		return func(p *relgraph.Profile) bool { return !some(tests, func(t profileQuery) bool { return !t(p) }) }, nil
	case "$or":
		return func(p *relgraph.Profile) bool { return some(tests, func(t profileQuery) bool { return t(p) }) }, nil
	}
	return func(p *relgraph.Profile) bool { return !some(tests, func(t profileQuery) bool { return t(p) }) }, nil
}

// allOf is the test that every one of tests passes.
func allOf(tests []profileQuery) profileQuery {
	return func(p *relgraph.Profile) bool {
		for _, t := range tests {
			if !t(p) {
				return false
			}
		}
		return true
	}
}

// sortedKeys are m's keys in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// queryField is a field a query can test: how to read a value for it
// and how to get a profile's values of it (none when unset).
type queryField struct {
	kind   string // coerce's type of one value
	values func(p *relgraph.Profile) []any
	// norm, when set, puts a query's text in the form the store keeps
	// (emails and phones are stored normalized).
	norm func(string) (string, error)
	// systemText: a system text field, which takes an integer as its
	// digits, as an import does (_sex, _postal_code).
	systemText bool
}

// read reads one value of a query for the field.
func (f queryField) read(v any) (any, error) {
	if n, isNumber := v.(json.Number); isNumber && f.systemText {
		if _, err := n.Int64(); err != nil {
			return nil, fmt.Errorf("expected text or an integer, got %s", truncate(n.String()))
		}
		return n.String(), nil
	}
	x, err := coerce(f.kind, v)
	if err != nil || f.norm == nil {
		return x, err
	}
	return f.norm(x.(string))
}

func lookupQueryField(name string, d *relgraph.Database, path string) (queryField, error) {
	switch name {
	case "id", "_id":
		lower := func(s string) (string, error) { return strings.ToLower(s), nil } // ids are written in either case
		return queryField{kind: "string", values: func(p *relgraph.Profile) []any { return []any{p.ID.String()} }, norm: lower}, nil
	case "email":
		return queryField{kind: "string", values: func(p *relgraph.Profile) []any {
			if p.Email == "" {
				return nil
			}
			return []any{p.Email}
		}, norm: relgraph.NormalizeEmail}, nil
	case "phones":
		// Read as the database's phones are (its phone region).
		norm := func(s string) (string, error) { return relgraph.NormalizePhone(s, d.PhoneRegion) }
		return queryField{kind: "string", values: func(p *relgraph.Profile) []any {
			out := make([]any, len(p.Phones))
			for i, ph := range p.Phones {
				out[i] = ph
			}
			return out
		}, norm: norm}, nil
	}
	f, ok := d.Field(name)
	if !ok {
		return queryField{}, invalidf("parameter %s: %q is no field of database %d (id, email, phones, a system field or a declared one)", path, truncate(name), d.ID)
	}
	kind := string(f.Type)
	if f.Type == relgraph.FieldTags {
		kind = "string" // a tags field is tested item by item
	}
	return queryField{kind: kind, systemText: f.Type == relgraph.FieldString && strings.HasPrefix(name, "_"), values: func(p *relgraph.Profile) []any {
		v, ok := p.Fields[name]
		if !ok {
			return nil
		}
		if tags, isTags := v.([]string); isTags {
			out := make([]any, len(tags))
			for i, t := range tags {
				out[i] = t
			}
			return out
		}
		return []any{v}
	}}, nil
}

func compileField(name string, cond any, d *relgraph.Database, path string) (profileQuery, error) {
	f, err := lookupQueryField(name, d, path)
	if err != nil {
		return nil, err
	}
	ops, isOps := cond.(map[string]any)
	if !isOps {
		return f.compileOp("$eq", cond, path)
	}
	if len(ops) == 0 {
		return nil, invalidf("parameter %s: an empty condition", path)
	}
	var tests []profileQuery
	for _, op := range sortedKeys(ops) {
		t, err := f.compileOp(op, ops[op], path+"."+op)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return allOf(tests), nil
}

func (f queryField) compileOp(op string, v any, path string) (profileQuery, error) {
	switch op {
	case "$exists":
		want, err := coerce("bool", v)
		if err != nil {
			return nil, invalidf("parameter %s: %v", path, err)
		}
		return func(p *relgraph.Profile) bool { return (len(f.values(p)) > 0) == want.(bool) }, nil
	case "$in", "$nin":
		list, ok := v.([]any)
		if !ok {
			return nil, invalidf("parameter %s: expected a list, got %s", path, kindOf(v))
		}
		// A set: each profile value costs one lookup, however long the
		// list.
		set := make(map[any]bool, len(list))
		matchNull := false
		for i, item := range list {
			if item == nil {
				matchNull = true
				continue
			}
			x, err := f.read(item)
			if err != nil {
				return nil, invalidf("parameter %s[%d]: %v", path, i, err)
			}
			set[setKey(x)] = true
		}
		in := func(p *relgraph.Profile) bool {
			vals := f.values(p)
			if len(vals) == 0 {
				return matchNull
			}
			return slices.ContainsFunc(vals, func(got any) bool { return set[setKey(got)] })
		}
		if op == "$nin" {
			return func(p *relgraph.Profile) bool { return !in(p) }, nil
		}
		return in, nil
	case "$eq", "$ne":
		var eq profileQuery
		if v == nil {
			eq = func(p *relgraph.Profile) bool { return len(f.values(p)) == 0 }
		} else {
			want, err := f.read(v)
			if err != nil {
				return nil, invalidf("parameter %s: %v", path, err)
			}
			eq = func(p *relgraph.Profile) bool {
				return slices.ContainsFunc(f.values(p), func(got any) bool { return compareValues(got, want) == 0 })
			}
		}
		if op == "$ne" {
			return func(p *relgraph.Profile) bool { return !eq(p) }, nil
		}
		return eq, nil
	case "$gt", "$gte", "$lt", "$lte":
		if f.kind == "bool" {
			return nil, invalidf("parameter %s: a bool field has no order", path)
		}
		want, err := f.read(v)
		if err != nil {
			return nil, invalidf("parameter %s: %v", path, err)
		}
		holds := map[string]func(int) bool{
			"$gt":  func(c int) bool { return c > 0 },
			"$gte": func(c int) bool { return c >= 0 },
			"$lt":  func(c int) bool { return c < 0 },
			"$lte": func(c int) bool { return c <= 0 },
		}[op]
		return func(p *relgraph.Profile) bool {
			return slices.ContainsFunc(f.values(p), func(got any) bool {
				c := compareValues(got, want)
				return c != incomparable && holds(c)
			})
		}, nil
	}
	if strings.HasPrefix(op, "$") {
		return nil, invalidf("parameter %s: operator %s is not supported ($eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists)", path, truncate(op))
	}
	return nil, invalidf("parameter %s: a condition is a value or an object of operators; relgraph has no object fields", path)
}

// setKey is v as a key of a $in set: equal values of one field type are
// equal keys (a time by its instant, whatever its zone).
func setKey(v any) any {
	if t, ok := v.(time.Time); ok {
		return [2]int64{t.Unix(), int64(t.Nanosecond())}
	}
	return v
}

// incomparable is compareValues' answer for values of different kinds.
const incomparable = 2

// compareValues orders two values of one field type (both as the store
// holds them, or as coerce reads them): -1, 0 or 1; values of different
// kinds (a stored value the schema no longer types so) are incomparable.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	return incomparable
}
