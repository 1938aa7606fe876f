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
