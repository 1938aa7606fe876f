package relgraph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

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
// an error listing them all, of the first one's kind.
func joinProblems(problems []error) error {
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
	return &Error{Kind: first.Kind, Msg: b.String()}
}

// putDatabase declares a validated database in tx (see PutDatabase).
func (tx *Tx) putDatabase(d Database) error {
	sc := tx.schemaNow()
	if old := sc.dbs[d.ID]; old != nil {
		if reflect.DeepEqual(*old, d) {
			return nil
		}
		for _, of := range old.Fields {
			nf, ok := d.Field(of.Name)
			if ok {
				if err := fieldChange(of, nf); err != nil {
					return prefixed(err, fmt.Sprintf("database %d: ", d.ID))
				}
				continue
			}
			if err := tx.refuseIfFieldUsed(d.ID, of.Name); err != nil {
				return err
			}
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
		for _, op := range old.Properties {
			np, ok := r.Property(op.Name)
			if !ok {
				structural = true
				continue
			}
			if err := propertyChange(op, np); err != nil {
				return prefixed(err, fmt.Sprintf("relation type %d: ", r.ID))
			}
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
func (s *Store) Database(id uint32) (Database, error) {
	d, err := s.schema.Load().db(id)
	if err != nil {
		return Database{}, err
	}
	return cloneDatabase(*d), nil
}

// Databases returns every database, by id.
func (s *Store) Databases() []Database {
	sc := s.schema.Load()
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
	r, err := s.schema.Load().rel(id)
	if err != nil {
		return RelationType{}, err
	}
	return cloneRelationType(*r), nil
}

// RelationTypes returns every relation type, by id.
func (s *Store) RelationTypes() []RelationType {
	sc := s.schema.Load()
	out := make([]RelationType, 0, len(sc.rels))
	for _, r := range sc.rels {
		out = append(out, cloneRelationType(*r))
	}
	slices.SortFunc(out, func(a, b RelationType) int { return cmpUint32(a.ID, b.ID) })
	return out
}

func cloneDatabase(d Database) Database {
	d.Fields = slices.Clone(d.Fields)
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
	r := &record.DatabaseDecl{ID: d.ID, Name: d.Name}
	for _, f := range d.Fields {
		r.Fields = append(r.Fields, record.FieldDecl{Name: f.Name, Type: string(f.Type), Unindexed: f.Unindexed})
	}
	return r
}

// databaseOf is a stored declaration as the schema holds it.
func databaseOf(r *record.DatabaseDecl) Database {
	d := Database{ID: r.ID, Name: r.Name}
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
