package relgraph

import (
	"fmt"
	"slices"
	"strings"
)

// FieldType is the type of a custom profile field.
type FieldType string

// The custom field types of docs/spec.md §1.
const (
	FieldString FieldType = "string"
	FieldInt    FieldType = "int"
	FieldFloat  FieldType = "float"
	FieldBool   FieldType = "bool"
	FieldDate   FieldType = "date" // RFC 3339 date or date-time, stored in UTC
	FieldTags   FieldType = "tags" // a set of strings, one index entry per tag
)

// Field declares a custom field of a database.
type Field struct {
	Name string    `json:"name"`
	Type FieldType `json:"type"`
	// Unindexed fields are stored but cannot be matched on; they may hold
	// longer strings (64 KiB instead of 1 KiB).
	Unindexed bool `json:"unindexed,omitempty"`
}

// Database is a set of profiles with its declared custom fields.
type Database struct {
	ID     uint32  `json:"id"`
	Name   string  `json:"name"`
	Fields []Field `json:"fields,omitempty"`
}

// PropertyType is the type of a relation property.
type PropertyType string

// The relation property types of docs/spec.md §1.
const (
	PropInt    PropertyType = "int"
	PropFloat  PropertyType = "float"
	PropBool   PropertyType = "bool"
	PropString PropertyType = "string"
)

// Aggregate says how get_counter summarizes a property.
type Aggregate string

// The aggregates of docs/spec.md §1.
const (
	// AggSum keeps the sum and count of a numeric property.
	AggSum Aggregate = "sum"
	// AggTop keeps the N highest values of a numeric property with their
	// B profiles.
	AggTop Aggregate = "top"
	// AggCount counts relations holding the property (for bool: holding
	// true).
	AggCount Aggregate = "count"
)

// Property declares a relation property.
type Property struct {
	Name string       `json:"name"`
	Type PropertyType `json:"type"`
	// Aggregate defaults to sum for numeric properties and count for the
	// others.
	Aggregate Aggregate `json:"aggregate,omitempty"`
	// Top is N for AggTop: default 10, at most 100.
	Top int `json:"top,omitempty"`
}

// RelationType declares a typed relation from profiles of DatabaseA (the
// recipients, A) to profiles of DatabaseB (the initiators, B).
type RelationType struct {
	ID         uint32     `json:"id"`
	Name       string     `json:"name"`
	DatabaseA  uint32     `json:"database_a"`
	DatabaseB  uint32     `json:"database_b"`
	Properties []Property `json:"properties,omitempty"`
}

// Schema limits.
const (
	MaxFields          = 256 // custom fields per database
	MaxProperties      = 64  // properties per relation type
	MaxNameLen         = 64  // field and property names
	DefaultTop         = 10
	MaxTop             = 100
	maxSchemaNameBytes = 256 // database and relation type names
)

// reservedFieldNames are keys of a profile's wire data that are not
// custom fields, so no custom field may take them.
var reservedFieldNames = []string{"email", "phones", "subscriptions", "id", "db_id", "profile_id"}

// checkName enforces docs/spec.md §1 on field and property names: ASCII letters,
// digits, '_' and '-', 1 to 64 bytes, starting with a letter (names
// starting with '_' are reserved). Such a name is a valid XML element
// name, which the XML wire format writes it as.
func checkName(what, name string) error { return checkNameRule(what, name, false) }

// checkNameRule is checkName; system names may start with '_'.
func checkNameRule(what, name string, system bool) error {
	if len(name) == 0 || len(name) > MaxNameLen {
		return invalidf("%s name %q must be 1 to %d characters", what, truncate(name), MaxNameLen)
	}
	if name[0] == '_' && !system {
		return invalidf("%s name %q: names starting with '_' are reserved", what, name)
	}
	if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' && system) {
		return invalidf("%s name %q must start with a letter: it is written as an XML element name", what, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return invalidf("%s name %q: character %q is not allowed (letters, digits, '_', '-')", what, name, c)
		}
	}
	return nil
}

func (t FieldType) valid() bool {
	switch t {
	case FieldString, FieldInt, FieldFloat, FieldBool, FieldDate, FieldTags:
		return true
	}
	return false
}

func (t PropertyType) numeric() bool { return t == PropInt || t == PropFloat }

func (t PropertyType) valid() bool {
	switch t {
	case PropInt, PropFloat, PropBool, PropString:
		return true
	}
	return false
}

// validate checks a database definition on its own and returns a copy
// with defaults filled in. Errors name the database.
func (d Database) validate() (Database, error) {
	if d.ID == 0 {
		return d, invalidf("database id must be > 0")
	}
	d, err := d.check()
	if err != nil {
		return d, prefixed(err, fmt.Sprintf("database %d: ", d.ID))
	}
	return d, nil
}

func (d Database) check() (Database, error) {
	if len(d.Name) > maxSchemaNameBytes {
		return d, invalidf("name longer than %d bytes", maxSchemaNameBytes)
	}
	if len(d.Fields) > MaxFields {
		return d, invalidf("%d fields, at most %d", len(d.Fields), MaxFields)
	}
	seen := map[string]bool{}
	for _, f := range d.Fields {
		if err := checkName("field", f.Name); err != nil {
			return d, err
		}
		if slices.Contains(reservedFieldNames, f.Name) {
			return d, invalidf("field name %q is reserved for profile data", f.Name)
		}
		if seen[f.Name] {
			return d, invalidf("field %q declared twice", f.Name)
		}
		seen[f.Name] = true
		if !f.Type.valid() {
			return d, invalidf("field %q: unknown type %q (string, int, float, bool, date, tags)", f.Name, f.Type)
		}
	}
	d.Fields = slices.Clone(d.Fields)
	return d, nil
}

// validate checks a relation type on its own and returns a copy with
// defaults filled in. Errors name the relation type.
func (r RelationType) validate() (RelationType, error) {
	if r.ID == 0 {
		return r, invalidf("relation type id must be > 0")
	}
	r, err := r.check()
	if err != nil {
		return r, prefixed(err, fmt.Sprintf("relation type %d: ", r.ID))
	}
	return r, nil
}

func (r RelationType) check() (RelationType, error) {
	if len(r.Name) > maxSchemaNameBytes {
		return r, invalidf("name longer than %d bytes", maxSchemaNameBytes)
	}
	if r.DatabaseA == 0 || r.DatabaseB == 0 {
		return r, invalidf("database_a and database_b are required")
	}
	if len(r.Properties) > MaxProperties {
		return r, invalidf("%d properties, at most %d", len(r.Properties), MaxProperties)
	}
	props := make([]Property, len(r.Properties))
	seen := map[string]bool{}
	for i, p := range r.Properties {
		if err := checkName("property", p.Name); err != nil {
			return r, err
		}
		if seen[p.Name] {
			return r, invalidf("property %q declared twice", p.Name)
		}
		seen[p.Name] = true
		if !p.Type.valid() {
			return r, invalidf("property %q: unknown type %q (int, float, bool, string)", p.Name, p.Type)
		}
		if p.Aggregate == "" {
			p.Aggregate = AggCount
			if p.Type.numeric() {
				p.Aggregate = AggSum
			}
		}
		switch p.Aggregate {
		case AggSum, AggTop:
			if !p.Type.numeric() {
				return r, invalidf("property %q: aggregate %q needs an int or float property, not %s", p.Name, p.Aggregate, p.Type)
			}
		case AggCount:
		default:
			return r, invalidf("property %q: unknown aggregate %q (sum, top, count)", p.Name, p.Aggregate)
		}
		if p.Aggregate == AggTop {
			if p.Top == 0 {
				p.Top = DefaultTop
			}
			if p.Top < 1 || p.Top > MaxTop {
				return r, invalidf("property %q: top must be 1 to %d, not %d", p.Name, MaxTop, p.Top)
			}
		} else if p.Top != 0 {
			return r, invalidf("property %q: top is only for aggregate \"top\"", p.Name)
		}
		props[i] = p
	}
	r.Properties = props
	return r, nil
}

// prefixed returns err, an *Error, with its message prefixed.
func prefixed(err error, prefix string) error {
	e := *err.(*Error)
	e.Msg = prefix + e.Msg
	return &e
}

// Field returns the field named name: a system field (SystemFields) or
// one the database declares.
func (d *Database) Field(name string) (Field, bool) {
	if strings.HasPrefix(name, "_") {
		return systemField(name)
	}
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Property returns the declared property named name.
func (r *RelationType) Property(name string) (Property, bool) {
	for _, p := range r.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// schema is an immutable snapshot of every database and relation type.
// The store swaps in a new snapshot after a schema change commits.
type schema struct {
	dbs  map[uint32]*Database
	rels map[uint32]*RelationType
}

func (s *schema) db(id uint32) (*Database, error) {
	d, ok := s.dbs[id]
	if !ok {
		return nil, notFoundf("database %d not found", id)
	}
	return d, nil
}

func (s *schema) rel(id uint32) (*RelationType, error) {
	r, ok := s.rels[id]
	if !ok {
		return nil, notFoundf("relation type %d not found", id)
	}
	return r, nil
}

func (s *schema) with(db *Database, rel *RelationType) *schema {
	n := &schema{dbs: make(map[uint32]*Database, len(s.dbs)+1), rels: make(map[uint32]*RelationType, len(s.rels)+1)}
	for k, v := range s.dbs {
		n.dbs[k] = v
	}
	for k, v := range s.rels {
		n.rels[k] = v
	}
	if db != nil {
		n.dbs[db.ID] = db
	}
	if rel != nil {
		n.rels[rel.ID] = rel
	}
	return n
}

// fieldChange says why changing old into new is refused, or nil.
func fieldChange(old, new Field) error {
	if old.Type != new.Type {
		return invalidf("field %q: changing type from %s to %s is not supported", old.Name, old.Type, new.Type)
	}
	if old.Unindexed != new.Unindexed {
		return invalidf("field %q: changing whether it is indexed is not supported", old.Name)
	}
	return nil
}

func propertyChange(old, new Property) error {
	if old != new {
		return invalidf("property %q: changing it (%s/%s/%d to %s/%s/%d) is not supported",
			old.Name, old.Type, old.Aggregate, old.Top, new.Type, new.Aggregate, new.Top)
	}
	return nil
}

// sortedRels returns the relation types by id, for deterministic walks.
func (s *schema) sortedRels() []*RelationType {
	out := make([]*RelationType, 0, len(s.rels))
	for _, r := range s.rels {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *RelationType) int { return cmpUint32(a.ID, b.ID) })
	return out
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
