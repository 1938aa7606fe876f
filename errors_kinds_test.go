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
