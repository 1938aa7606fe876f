package relgraph

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// A callback that writes into the view (its fields are exported)
// changes nothing the scan answers: NextCursor, and the next views'
// ProfileA, come from the store.
func TestViewWritesAreNotReadBack(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a := relateNewBs(t, s, 4, 0)
	q := RelationsQuery{RelationType: 3, A: idLoc(a), Limit: 2}
	page, err := s.Relations(ctx, q)
	must(t, err)
	var as []ProfileID
	_, next, err := s.ScanRelations(ctx, q, func(v *RelationView) error {
		as = append(as, v.ProfileA)
		v.ProfileA, v.ProfileB = ProfileID{}, ProfileID{}
		return nil
	})
	must(t, err)
	if next != page.NextCursor {
		t.Errorf("NextCursor %q after the callback wrote the view; Relations says %q", next, page.NextCursor)
	}
	if as[1] != a {
		t.Errorf("second view's ProfileA %v, want %v", as[1], a)
	}
}

// Accessors on another property type answer the zero value and false,
// never the other type's bits.
func TestViewAccessorsOnTheWrongType(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	_, err := s.Attach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"rating": 2.0, "donate": 1}})
	must(t, err)
	_, _, err = s.ScanRelations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)}, func(v *RelationView) error {
		if n, ok := v.Int("rating"); ok || n != 0 {
			t.Errorf("Int of a float property: %d, %v", n, ok)
		}
		if x, ok := v.Bool("donate"); ok || x {
			t.Errorf("Bool of int property 1: %v, %v", x, ok)
		}
		if x, ok := v.Float("donate"); ok || x != 0 {
			t.Errorf("Float of an int property: %v, %v", x, ok)
		}
		return nil
	})
	must(t, err)
}

// Damaged relation records (cut at every byte, every body byte changed
// under a valid checksum) and a malformed key: ScanRelations answers
// ErrCorrupt, never a panic.
func TestScanRelationsOnDamagedRecords(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), &Options{NoSync: true})
	must(t, err)
	defer s.Close()
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	_, err = s.Attach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"donate": 7, "note": "hello", "rating": 1.5, "is_online": true}})
	must(t, err)
	var good []byte
	key := append(index.EdgePrefix(3, a), b[:]...)
	must(t, s.View(ctx, func(tx *Tx) error {
		v, err := tx.kv.Get(index.Adjacency, key)
		good = bytes.Clone(v)
		return err
	}))
	body, err := record.Unseal(good)
	must(t, err)
	type variant struct {
		v       []byte
		corrupt bool // certainly refused: a mutated body may still be a record
	}
	var variants []variant
	for i := 0; i < len(good); i++ {
		variants = append(variants, variant{good[:i], true}) // truncated: the checksum fails
	}
	for i := range body {
		for _, x := range []byte{0x00, 0xff, 0xc0, 0xcb, 0xd3, 0xa1, 0x81, 0xde, body[i] ^ 1} {
			m := bytes.Clone(body)
			m[i] = x
			variants = append(variants, variant{record.Seal(m), false})              // checksum right, body wrong
			variants = append(variants, variant{record.Seal(m[:i+1]), i+1 < len(m)}) // and cut short
		}
	}
	refused := 0
	for _, vr := range variants {
		v := vr.v
		must(t, s.Update(ctx, func(tx *Tx) error { return tx.kv.Put(index.Adjacency, key, v) }))
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%x: panic %v", v, p)
				}
			}()
			_, _, err := s.ScanRelations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)}, func(v *RelationView) error {
				v.Item()
				return nil
			})
			switch {
			case err != nil && !errors.Is(err, ErrCorrupt):
				t.Errorf("%x: %v, not ErrCorrupt", v, err)
			case err == nil && vr.corrupt:
				t.Errorf("%x: a damaged record read without an error", v)
			case err != nil:
				refused++
			}
		}()
	}
	t.Logf("%d of %d damaged records refused, the rest still well formed", refused, len(variants))
	// A malformed key under A's prefix.
	must(t, s.Update(ctx, func(tx *Tx) error {
		return tx.kv.Put(index.Adjacency, append(index.EdgePrefix(3, a), 1, 2, 3), good)
	}))
	_, _, err = s.ScanRelations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)}, func(v *RelationView) error { return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("malformed key: %v", err)
	}
}
