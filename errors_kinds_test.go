package relgraph

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestErrorKindsAUserCanActOn: a store locked by another holder is
// ErrLocked (and, as before, ErrStorage); a write inside View is a
// misuse (ErrInvalid saying to write in Update), not a storage failure.
func TestErrorKindsAUserCanActOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	s, err := Open(path, nil)
	must(t, err)
	defer s.Close()
	_, err = Open(path, &Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !errors.Is(err, ErrStorage) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("a second open: %v", err)
	}
	must(t, s.PutDatabase(ctx, Database{ID: 1}))
	err = s.View(ctx, func(tx *Tx) error {
		_, _, err := tx.ImportProfile(1, Locator{Email: "a@x.io"}, ProfileData{})
		return err
	})
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrStorage) || !strings.Contains(err.Error(), "write in Update") {
		t.Fatalf("a write in View: %v", err)
	}
	var kept *Tx
	must(t, s.View(ctx, func(tx *Tx) error { kept = tx; return nil }))
	if _, err := kept.GetProfile(1, Locator{Email: "a@x.io"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "has ended") {
		t.Fatalf("a Tx used after its View: %v", err)
	}
}

// TestASchemaChangeNamesEveryProblem: a refused declaration lists each
// of its problems, not only the first.
func TestASchemaChangeNamesEveryProblem(t *testing.T) {
	s := openTest(t)
	err := s.PutDatabase(ctx, Database{ID: 1, Fields: []Field{{Name: "a", Type: "nope"}, {Name: "b", Type: FieldInt}, {Name: "b", Type: FieldInt}, {Name: "email", Type: FieldString}}})
	wantCode(t, err, 400)
	for _, want := range []string{"3 problems", `"a": unknown type`, `"b" declared twice`, `"email" is reserved`} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%v lacks %q", err, want)
		}
	}
	must(t, s.PutDatabase(ctx, Database{ID: 1, Fields: []Field{{Name: "a", Type: FieldInt}, {Name: "b", Type: FieldString}}}))
	err = s.PutDatabase(ctx, Database{ID: 1, Fields: []Field{{Name: "a", Type: FieldString}, {Name: "b", Type: FieldInt}}})
	wantCode(t, err, 400)
	if !strings.Contains(err.Error(), "2 problems") || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("two refused type changes: %v", err)
	}
}

// TestARelationTypeChangeNamesEveryProblem: every refused property
// change of a relation type is named, and lists join flat.
func TestARelationTypeChangeNamesEveryProblem(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	rt, err := s.RelationType(3)
	must(t, err)
	for i := range rt.Properties {
		switch rt.Properties[i].Name {
		case "user_like":
			rt.Properties[i].Aggregate = AggCount
		case "rating":
			rt.Properties[i].Type = PropInt
		}
	}
	d, err := s.Database(1)
	must(t, err)
	d.Fields[0].Type = FieldString // crm_id int → string
	err = s.ApplySchema(ctx, []Database{d}, []RelationType{rt})
	wantCode(t, err, 400)
	msg := err.Error()
	if !strings.HasPrefix(msg, "3 problems") || strings.Count(msg, "problems") != 1 || !strings.Contains(msg, `"user_like"`) || !strings.Contains(msg, `"rating"`) || !strings.Contains(msg, `"crm_id"`) {
		t.Fatalf("%v", err)
	}
}
