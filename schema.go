package relgraph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
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
	// Description and UITags describe the database to people and to the
	// platform's databases/list and databases/get calls; they change
	// nothing in how its profiles are stored or matched. At most
	// MaxDescriptionBytes, and MaxUITags tags of 1 to MaxNameLen bytes,
	// each once.
	Description string   `json:"description,omitempty"`
	UITags      []string `json:"ui_tags,omitempty"`
	// PhoneRegion is the region (ISO 3166, such as "US") a phone of
	// this database written without its country code is read in, so
	// the store's meaning does not depend on how it is opened. A new
	// database declared without one takes Options.PhoneRegion; a
	// declaration without one keeps the region already declared
	// (change it by declaring another). Empty: Options.PhoneRegion.
	PhoneRegion string `json:"phone_region,omitempty"`
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
	// MaxDescriptionBytes bounds a database's description.
	MaxDescriptionBytes = 4096
	// MaxUITags bounds a database's ui_tags.
	MaxUITags = 64
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
	if len(d.Description) > MaxDescriptionBytes || !utf8.ValidString(d.Description) {
		return d, invalidf("description: at most %d bytes of UTF-8", MaxDescriptionBytes)
	}
	if len(d.UITags) > MaxUITags {
		return d, invalidf("%d ui_tags, at most %d", len(d.UITags), MaxUITags)
	}
	for i, tag := range d.UITags {
		if tag == "" || len(tag) > MaxNameLen || !utf8.ValidString(tag) {
			return d, invalidf("ui_tags[%d]: 1 to %d bytes of UTF-8", i, MaxNameLen)
		}
		if slices.Contains(d.UITags[:i], tag) {
			return d, invalidf("ui_tags: %q given twice", truncate(tag))
		}
	}
	if d.PhoneRegion != "" && !KnownPhoneRegion(d.PhoneRegion) {
		return d, invalidf("phone_region %q is not a region of the phone numbering plan (ISO 3166, such as US or DE)", truncate(d.PhoneRegion))
	}
	// Every field's problem is said, not only the first.
	var problems []error
	seen := map[string]bool{}
	for _, f := range d.Fields {
		switch {
		case checkName("field", f.Name) != nil:
			problems = append(problems, checkName("field", f.Name))
		case slices.Contains(reservedFieldNames, f.Name):
			problems = append(problems, invalidf("field name %q is reserved for profile data", f.Name))
		case seen[f.Name]:
			problems = append(problems, invalidf("field %q declared twice", f.Name))
		case !f.Type.valid():
			problems = append(problems, invalidf("field %q: unknown type %q (string, int, float, bool, date, tags)", f.Name, f.Type))
		}
		seen[f.Name] = true
	}
	if len(problems) > 0 {
		return d, joinProblems(problems)
	}
	d.Fields = slices.Clone(d.Fields)
	d.UITags = slices.Clone(d.UITags)
	if len(d.UITags) == 0 {
		d.UITags = nil // as stored: an empty list is no list
	}
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

// phoneRegion is the region d's phones are read in: its own, or def
// (Options.PhoneRegion) for a database declared before it had one.
func (d *Database) phoneRegion(def string) string {
	if d.PhoneRegion != "" {
		return d.PhoneRegion
	}
	return def
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
	// feed is the change feed's configuration (feed.go).
	feed record.FeedConfig
	// gen is the stored generation this schema was read at, on a shared
	// engine (schema_shared.go); 0 elsewhere.
	gen uint64
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
	n := &schema{dbs: make(map[uint32]*Database, len(s.dbs)+1), rels: make(map[uint32]*RelationType, len(s.rels)+1), feed: s.feed}
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

// PutDatabase creates a database or changes its declaration. Applying
// the same declaration again writes nothing. Adding fields and renaming
// are allowed; changing a field's type or indexing is refused (400), and
// so is removing a field that any profile holds a value for. Removing a
// field costs a scan of the database's profiles; other changes are O(1).
// It runs in a transaction of its own, installed before any later write.
func (s *Store) PutDatabase(ctx context.Context, d Database) error {
	return s.ApplySchema(ctx, []Database{d}, nil)
}

// ApplySchema declares databases and then relation types, each as
// PutDatabase and PutRelationType would (a relation type may name a
// database of the same call), in one transaction: all of them, or, if
// any is refused, none. The error then lists every refusal; its kind is
// the first one's. Applying what is already declared writes nothing.
func (s *Store) ApplySchema(ctx context.Context, dbs []Database, rels []RelationType) error {
	dbs, rels = slices.Clone(dbs), slices.Clone(rels)
	var problems []error
	for i := range dbs {
		var err error
		if dbs[i], err = dbs[i].validate(); err != nil {
			problems = append(problems, err)
		}
	}
	for i := range rels {
		var err error
		if rels[i], err = rels[i].validate(); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return joinProblems(problems)
	}
	return s.updateSchema(ctx, func(tx *Tx) error {
		for _, d := range dbs {
			if err := tx.putDatabase(d); err != nil {
				problems = append(problems, err)
			}
		}
		for _, r := range rels {
			if err := tx.putRelationType(r); err != nil {
				problems = append(problems, err)
			}
		}
		return joinProblems(problems)
	})
}

// joinProblems is nil for none, the error itself for one, and for more
// an error listing them all, of the first one's kind. A problem that is
// itself such a list is listed item by item.
func joinProblems(problems []error) error {
	var flat []error
	for _, p := range problems {
		if e, ok := p.(*Error); ok && len(e.parts) > 0 {
			flat = append(flat, e.parts...)
		} else {
			flat = append(flat, p)
		}
	}
	problems = flat
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return problems[0]
	}
	first := &Error{Kind: ErrStorage}
	errors.As(problems[0], &first)
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems", len(problems))
	for _, p := range problems {
		b.WriteString("; ")
		b.WriteString(p.Error())
	}
	return &Error{Kind: first.Kind, Msg: b.String(), parts: problems}
}

// putDatabase declares a validated database in tx (see PutDatabase).
func (tx *Tx) putDatabase(d Database) error {
	sc := tx.schemaNow()
	if d.PhoneRegion == "" {
		// A new database takes the store's region; a declaration
		// without one keeps the one declared.
		d.PhoneRegion = tx.region
		if old := sc.dbs[d.ID]; old != nil {
			d.PhoneRegion = old.PhoneRegion
		}
	}
	if old := sc.dbs[d.ID]; old != nil {
		if reflect.DeepEqual(*old, d) {
			return nil
		}
		var problems []error // every refused change is said
		for _, of := range old.Fields {
			nf, ok := d.Field(of.Name)
			if ok {
				if err := fieldChange(of, nf); err != nil {
					problems = append(problems, prefixed(err, fmt.Sprintf("database %d: ", d.ID)))
				}
				continue
			}
			if err := tx.refuseIfFieldUsed(d.ID, of.Name); err != nil {
				if !isRequestError(err) {
					return err // a storage failure ends it
				}
				problems = append(problems, err)
			}
		}
		if len(problems) > 0 {
			return joinProblems(problems)
		}
	}
	val, err := record.EncodeDecl(d.decl())
	if err != nil {
		return storageErr("encode database", err)
	}
	if err := tx.kv.Put(index.Meta, index.DatabaseKey(d.ID), val); err != nil {
		return storageErr("write database", err)
	}
	tx.newSchema = sc.with(&d, nil)
	return nil
}

func (tx *Tx) refuseIfFieldUsed(db uint32, field string) error {
	return tx.scanProfiles(db, func(p *Profile) error {
		if _, ok := p.Fields[field]; ok {
			return invalidf("database %d: cannot remove field %q: profile %s holds a value for it", db, field, p.ID)
		}
		return nil
	})
}

// PutRelationType creates a relation type or changes its declaration.
// Applying the same declaration again writes nothing. Its databases must
// exist (404). Adding properties and renaming are allowed; changing a
// property is refused (400), and so are removing a property or changing
// the databases while any relation of the type exists.
// It runs in a transaction of its own, installed before any later write.
func (s *Store) PutRelationType(ctx context.Context, r RelationType) error {
	return s.ApplySchema(ctx, nil, []RelationType{r})
}

// putRelationType declares a validated relation type in tx (see
// PutRelationType).
func (tx *Tx) putRelationType(r RelationType) error {
	sc := tx.schemaNow()
	for _, id := range []uint32{r.DatabaseA, r.DatabaseB} {
		if _, err := sc.db(id); err != nil {
			return notFoundf("relation type %d: database %d not found", r.ID, id)
		}
	}
	if old := sc.rels[r.ID]; old != nil {
		if reflect.DeepEqual(*old, r) {
			return nil
		}
		structural := old.DatabaseA != r.DatabaseA || old.DatabaseB != r.DatabaseB
		var problems []error // every refused change is said
		for _, op := range old.Properties {
			np, ok := r.Property(op.Name)
			if !ok {
				structural = true
				continue
			}
			if err := propertyChange(op, np); err != nil {
				problems = append(problems, prefixed(err, fmt.Sprintf("relation type %d: ", r.ID)))
			}
		}
		if len(problems) > 0 {
			return joinProblems(problems)
		}
		if structural {
			has, err := tx.hasRelations(r.ID)
			if err != nil {
				return err
			}
			if has {
				return invalidf("relation type %d: cannot change its databases or remove properties while relations of it exist", r.ID)
			}
		}
	}
	val, err := record.EncodeDecl(r.decl())
	if err != nil {
		return storageErr("encode relation type", err)
	}
	if err := tx.kv.Put(index.Meta, index.RelationTypeKey(r.ID), val); err != nil {
		return storageErr("write relation type", err)
	}
	tx.newSchema = sc.with(nil, &r)
	return nil
}

// hasRelations reports whether any relation of type rel is stored.
func (tx *Tx) hasRelations(rel uint32) (bool, error) {
	c, err := tx.kv.Cursor(index.Adjacency)
	if err != nil {
		return false, storageErr("cursor", err)
	}
	prefix := index.DB(rel)
	k, _ := c.Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix), cursorErr(c)
}

// Database returns the declaration of database id, or a 404 error.
// These accessors read the schema the store keeps in memory; on an
// engine other processes share (etcd), another process's change
// reaches them within 100 ms (they read the stored generation, one
// round trip, when no transaction did in that time).
func (s *Store) Database(id uint32) (Database, error) {
	d, err := s.latestSchema().db(id)
	if err != nil {
		return Database{}, err
	}
	return cloneDatabase(*d), nil
}

// PhoneRegion is the region the phones of database db are read in: its
// declared PhoneRegion, or Options.PhoneRegion for a database declared
// without one ("" when neither is set: phones need their country code).
// An unknown database is a 404 error.
func (s *Store) PhoneRegion(db uint32) (string, error) {
	d, err := s.latestSchema().db(db)
	if err != nil {
		return "", err
	}
	return d.phoneRegion(s.opts.PhoneRegion), nil
}

// Databases returns every database, by id.
func (s *Store) Databases() []Database {
	sc := s.latestSchema()
	out := make([]Database, 0, len(sc.dbs))
	for _, d := range sc.dbs {
		out = append(out, cloneDatabase(*d))
	}
	slices.SortFunc(out, func(a, b Database) int { return cmpUint32(a.ID, b.ID) })
	return out
}

// RelationType returns the declaration of relation type id, or a 404
// error.
func (s *Store) RelationType(id uint32) (RelationType, error) {
	r, err := s.latestSchema().rel(id)
	if err != nil {
		return RelationType{}, err
	}
	return cloneRelationType(*r), nil
}

// RelationTypes returns every relation type, by id.
func (s *Store) RelationTypes() []RelationType {
	sc := s.latestSchema()
	out := make([]RelationType, 0, len(sc.rels))
	for _, r := range sc.rels {
		out = append(out, cloneRelationType(*r))
	}
	slices.SortFunc(out, func(a, b RelationType) int { return cmpUint32(a.ID, b.ID) })
	return out
}

func cloneDatabase(d Database) Database {
	d.Fields = slices.Clone(d.Fields)
	d.UITags = slices.Clone(d.UITags)
	return d
}

func cloneRelationType(r RelationType) RelationType {
	r.Properties = slices.Clone(r.Properties)
	return r
}

// loadSchema reads every declaration from the meta keyspace.
func loadSchema(tx kv.Tx) (*schema, error) {
	sc := &schema{dbs: map[uint32]*Database{}, rels: map[uint32]*RelationType{}}
	c, err := tx.Cursor(index.Meta)
	if err != nil {
		return nil, storageErr("cursor", err)
	}
	for k, v := c.First(); k != nil; k, v = c.Next() {
		switch {
		case index.IsDatabaseKey(k):
			var rec record.DatabaseDecl
			if err := record.DecodeDecl(v, &rec); err != nil {
				return nil, corruptf("meta %q: database: %v", k, err)
			}
			d := databaseOf(&rec)
			checked, err := d.validate()
			if err != nil || !bytes.Equal(index.DatabaseKey(d.ID), k) {
				return nil, corruptf("meta %q: stored database is not valid: %v", k, err)
			}
			sc.dbs[d.ID] = &checked
		case index.IsRelationTypeKey(k):
			var rec record.RelationTypeDecl
			if err := record.DecodeDecl(v, &rec); err != nil {
				return nil, corruptf("meta %q: relation type: %v", k, err)
			}
			r := relationTypeOf(&rec)
			checked, err := r.validate()
			if err != nil || !bytes.Equal(index.RelationTypeKey(r.ID), k) {
				return nil, corruptf("meta %q: stored relation type is not valid: %v", k, err)
			}
			sc.rels[r.ID] = &checked
		case bytes.Equal(k, index.FeedConfigKey):
			if sc.feed, err = record.DecodeFeedConfig(v); err != nil {
				return nil, corruptf("meta %q: %v", k, err)
			}
		}
	}
	if err := cursorErr(c); err != nil {
		return nil, err
	}
	for _, r := range sc.rels {
		if sc.dbs[r.DatabaseA] == nil || sc.dbs[r.DatabaseB] == nil {
			return nil, corruptf("relation type %d names a database that does not exist", r.ID)
		}
	}
	return sc, nil
}

// decl is d as stored.
func (d *Database) decl() *record.DatabaseDecl {
	r := &record.DatabaseDecl{ID: d.ID, Name: d.Name, Description: d.Description, UITags: d.UITags, PhoneRegion: d.PhoneRegion}
	for _, f := range d.Fields {
		r.Fields = append(r.Fields, record.FieldDecl{Name: f.Name, Type: string(f.Type), Unindexed: f.Unindexed})
	}
	return r
}

// databaseOf is a stored declaration as the schema holds it.
func databaseOf(r *record.DatabaseDecl) Database {
	d := Database{ID: r.ID, Name: r.Name, Description: r.Description, UITags: r.UITags, PhoneRegion: r.PhoneRegion}
	for _, f := range r.Fields {
		d.Fields = append(d.Fields, Field{Name: f.Name, Type: FieldType(f.Type), Unindexed: f.Unindexed})
	}
	return d
}

// decl is r as stored.
func (r *RelationType) decl() *record.RelationTypeDecl {
	out := &record.RelationTypeDecl{ID: r.ID, Name: r.Name, DatabaseA: r.DatabaseA, DatabaseB: r.DatabaseB}
	for _, p := range r.Properties {
		out.Properties = append(out.Properties, record.PropertyDecl{Name: p.Name, Type: string(p.Type), Aggregate: string(p.Aggregate), Top: p.Top})
	}
	return out
}

// relationTypeOf is a stored declaration as the schema holds it.
func relationTypeOf(r *record.RelationTypeDecl) RelationType {
	out := RelationType{ID: r.ID, Name: r.Name, DatabaseA: r.DatabaseA, DatabaseB: r.DatabaseB}
	for _, p := range r.Properties {
		out.Properties = append(out.Properties, Property{Name: p.Name, Type: PropertyType(p.Type), Aggregate: Aggregate(p.Aggregate), Top: p.Top})
	}
	return out
}

// SystemFields are the platform's default profile fields ("Profile data
// object"; docs/spec.md §1): every database has them without declaring
// them, by these names and types. They are not indexed, so no locator
// matches on them. The platform's pages disagree on the type of _sex
// and _postal_code (a number in one, text in another): both are text
// here, and the HTTP API stores a number sent for them as its digits.
var SystemFields = []Field{
	{Name: "_fname", Type: FieldString, Unindexed: true},
	{Name: "_lname", Type: FieldString, Unindexed: true},
	{Name: "_bdate", Type: FieldDate, Unindexed: true},
	{Name: "_sex", Type: FieldString, Unindexed: true},
	{Name: "_regdate", Type: FieldDate, Unindexed: true},
	{Name: "_regip", Type: FieldString, Unindexed: true},
	{Name: "_regcity", Type: FieldString, Unindexed: true},
	{Name: "_regcountry", Type: FieldString, Unindexed: true},
	{Name: "_regurl", Type: FieldString, Unindexed: true},
	{Name: "_ip", Type: FieldString, Unindexed: true},
	{Name: "_city", Type: FieldString, Unindexed: true},
	{Name: "_country", Type: FieldString, Unindexed: true},
	{Name: "_region", Type: FieldString, Unindexed: true},
	{Name: "_postal_code", Type: FieldString, Unindexed: true},
	{Name: "_tz", Type: FieldString, Unindexed: true},
	{Name: "_vendor", Type: FieldString, Unindexed: true},
	{Name: "_browser", Type: FieldString, Unindexed: true},
	{Name: "_status", Type: FieldInt, Unindexed: true},
}

// ReadOnlyFields are the platform's computed profile fields. A write of
// one is refused (400): the platform computes them. relgraph computes
// those a profile answer carries (package api): _createtime,
// _updatetime, _xxh, and for a profile with an email, _md5 and
// _emaildomain.
var ReadOnlyFields = []string{
	"_acid", "_click_exist", "_click_push_exist", "_click_sms_exist", "_confirm_exist", "_createtime",
	"_deliv_date", "_deliv_exist", "_deliv_push_exist", "_deliv_sms_date", "_deliv_sms_exist",
	"_domaingroup", "_emaildomain", "_is_desktop", "_is_test", "_lat", "_lon", "_md5", "_open_date",
	"_updatetime", "_xxh", "_xxm",
}

// systemField returns the system field named name.
func systemField(name string) (Field, bool) {
	i := slices.IndexFunc(SystemFields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return SystemFields[i], true
}

// undeclaredField explains why name is not a field of database d: a
// read-only system field, an unknown system name, or undeclared.
func undeclaredField(d *Database, name string) error {
	switch {
	case slices.Contains(ReadOnlyFields, name):
		return invalidf("field %q is read-only: the platform computes it", name)
	case strings.HasPrefix(name, "_"):
		return invalidf("field %q is not a system field (the system fields: %s)", truncate(name), systemFieldNames())
	}
	return invalidf("field %q is not declared in database %d", truncate(name), d.ID)
}

func systemFieldNames() string {
	names := make([]string, len(SystemFields))
	for i, f := range SystemFields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
