package relgraph

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// twoProfiles imports A in database 1 and B in database 2.
func twoProfiles(t *testing.T, s *Store) (a, b ProfileID) {
	t.Helper()
	a, b = mustID(t, "5d63dbdb439e7306b596c5d0"), mustID(t, "5d441038439e7363f3c26539")
	_, err := s.RestoreProfile(ctx, 1, a, ProfileData{Email: Ptr("a@example.com")})
	must(t, err)
	_, err = s.RestoreProfile(ctx, 2, b, ProfileData{Fields: map[string]any{"sku": "B-1"}})
	must(t, err)
	return a, b
}

// relateNewBs attaches n new B profiles to twoProfiles' A, the i-th
// with donate first+i, and returns A.
func relateNewBs(t *testing.T, s *Store, n, first int) ProfileID {
	t.Helper()
	a, _ := twoProfiles(t, s)
	for i := range n {
		b, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
		must(t, err)
		_, err = s.Attach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"donate": first + i}})
		must(t, err)
	}
	return a
}

func TestOverwriteCreatesThenReplaces(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	req := RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b),
		Weights: map[string]any{"user_like": 2, "donate": 343, "is_online": true}}
	res, err := s.Overwrite(ctx, req)
	must(t, err)
	if !res.Created || res.ProfileA != a || res.ProfileB != b || res.RelationType != 3 {
		t.Fatalf("result %+v", res)
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Total != 1 || c.Props["user_like"].Sum != int64(2) || c.Props["is_online"].Total != 1 {
		t.Fatalf("counter %+v", c)
	}
	if top := c.Props["donate"].Top; len(top) != 1 || top[0].ProfileB != b || top[0].Value != int64(343) {
		t.Fatalf("top %+v", top)
	}
	// Overwrite by other locators: A by email, B by custom field.
	before := dump(t, s)
	res, err = s.Overwrite(ctx, RelationRequest{RelationType: 3, A: Locator{Email: "A@example.com"},
		B: Locator{FieldName: "sku", FieldValue: "B-1"}, Weights: map[string]any{"user_like": 2}})
	must(t, err)
	if res.Created || dump(t, s) != before {
		t.Fatal("identical overwrite wrote")
	}
	_, err = s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b),
		Weights: map[string]any{"user_like": 5, "is_online": nil, "rating": 0.5}})
	must(t, err)
	page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
	must(t, err)
	w := page.Items[0].Weights
	if page.Total != 1 || w["user_like"] != int64(5) || w["donate"] != int64(343) || w["rating"] != 0.5 {
		t.Fatalf("weights %+v", w)
	}
	if _, has := w["is_online"]; has {
		t.Fatal("null did not remove is_online")
	}
	c, err = s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Props["is_online"].Total != 0 || c.Props["user_like"].Sum != int64(5) || c.Props["rating"].Sum != 0.5 {
		t.Fatalf("counter %+v", c)
	}
}

func TestRelationErrorsChangeNothing(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": int64(1 << 62), "donate": 1}})
	must(t, err)
	before := dump(t, s)
	cases := []struct {
		name string
		do   func() error
		code int
	}{
		{"empty weights", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b)})
			return err
		}, 400},
		{"unknown property", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"nope": 1}})
			return err
		}, 400},
		{"wrong type", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": "x"}})
			return err
		}, 400},
		{"text for an int (the wire's business)", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": "2"}})
			return err
		}, 400},
		{"text for a bool", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"is_online": "true"}})
			return err
		}, 400},
		{"a uint64 past int64", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": uint64(1 << 63)}})
			return err
		}, 400},
		{"an int without an exact float", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"rating": int64(1<<53 + 1)}})
			return err
		}, 400},
		{"fraction to int", func() error {
			_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": 1.5}})
			return err
		}, 400},
		{"overflow", func() error {
			_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"donate": 1, "user_like": int64(1 << 62)}})
			return err
		}, 400},
		{"strengthen null", func() error {
			_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"is_online": nil}})
			return err
		}, 400},
		{"unknown type", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 99, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"x": 1}})
			return err
		}, 404},
		{"no such B", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: Locator{ProfileID: "5d441038439e7363f3c26530"}, Weights: map[string]any{"user_like": 1}})
			return err
		}, 404},
		{"A in wrong database", func() error {
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(b), B: idLoc(b), Weights: map[string]any{"user_like": 1}})
			return err
		}, 404},
		{"detach absent", func() error {
			_, err := s.Detach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: Locator{FieldName: "sku", FieldValue: "B-1"}})
			if err != nil {
				return err
			}
			_, err = s.Detach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b)})
			return err
		}, 404},
		{"long string", func() error {
			long := make([]byte, 1025)
			_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"note": string(long)}})
			return err
		}, 400},
	}
	for _, c := range cases {
		if c.name == "detach absent" {
			continue // it changes the store on purpose; run last
		}
		err := c.do()
		if codeOf(err) != c.code {
			t.Errorf("%s: got %v, want code %d", c.name, err, c.code)
		}
		if dump(t, s) != before {
			t.Errorf("%s: the store changed", c.name)
		}
	}
	for _, c := range cases {
		if c.name == "detach absent" {
			wantCode(t, c.do(), 404)
		}
	}
}

func TestStrengthenAddsAndAttachDetachRestore(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	empty := dump(t, s)
	req := RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": 3, "donate": 10, "rating": 0.25}}
	res, err := s.Attach(ctx, req)
	must(t, err)
	if !res.Created {
		t.Fatal("attach did not create")
	}
	res, err = s.Attach(ctx, req)
	must(t, err)
	if res.Created {
		t.Fatal("second attach created")
	}
	_, err = s.Detach(ctx, req)
	must(t, err)
	if dump(t, s) != empty {
		t.Fatal("attach then detach did not restore the store's bytes")
	}
	for _, d := range []int64{-2, 7, -40} {
		_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": d, "donate": d}})
		must(t, err)
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Props["user_like"].Sum != int64(-35) || c.Props["donate"].Top[0].Value != int64(-35) {
		t.Fatalf("counter %+v", c)
	}
}

// TestStrengthenSetsBoolsAndStrings: the platform's own strengthen
// example sends {"user_like": 2, "donate": 343, "is_online": true}:
// numbers add, a bool or string is set.
func TestStrengthenSetsBoolsAndStrings(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	req := RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": 2, "donate": 343, "is_online": true}}
	for range 2 {
		_, err := s.Modify(ctx, req)
		must(t, err)
	}
	_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"note": "hi", "is_online": false}})
	must(t, err)
	page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
	must(t, err)
	w := page.Items[0].Weights
	if w["user_like"] != int64(4) || w["donate"] != int64(686) || w["is_online"] != false || w["note"] != "hi" {
		t.Fatalf("weights %v", w)
	}
}

func TestDeleteProfileCascades(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	a2, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
	must(t, err)
	for _, x := range []ProfileID{a, a2} {
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(x), B: idLoc(b), Weights: map[string]any{"user_like": 1, "donate": 5}})
		must(t, err)
	}
	_, err = s.DeleteProfile(ctx, 2, idLoc(b))
	must(t, err)
	for _, x := range []ProfileID{a, a2} {
		c, err := s.Counter(ctx, 3, idLoc(x))
		must(t, err)
		if c.Total != 0 || len(c.Props) != 0 {
			t.Fatalf("counter of %s after B deleted: %+v", x, c)
		}
	}
}

func TestRelationsPaging(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _ := twoProfiles(t, s)
	var bs []ProfileID
	for i := 0; i < 25; i++ {
		b, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
		must(t, err)
		bs = append(bs, b)
		_, err = s.Attach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"donate": i}})
		must(t, err)
	}
	var got []ProfileID
	cursor := ""
	for {
		page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a), Limit: 10, Cursor: cursor})
		must(t, err)
		if page.Total != 25 {
			t.Fatalf("total %d", page.Total)
		}
		for _, it := range page.Items {
			got = append(got, it.ProfileB)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(got) != 25 {
		t.Fatalf("paged %d items", len(got))
	}
	for i := range got {
		if got[i] != bs[i] {
			t.Fatalf("item %d: %s, want %s", i, got[i], bs[i])
		}
	}
	page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a), Limit: 5, Offset: 20})
	must(t, err)
	if len(page.Items) != 5 || page.Items[0].ProfileB != bs[20] || page.NextCursor != "" {
		t.Fatalf("offset page %+v", page)
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	top := c.Props["donate"].Top
	if len(top) != 3 || top[0].Value != int64(24) || top[2].Value != int64(22) {
		t.Fatalf("top %+v", top)
	}
}

// ScanRelations reads the page Relations returns, in place: the same
// relations, Total and NextCursor; fn's error stops it and comes back
// as it is; a view's Weights is the caller's own.
func TestScanRelations(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a := relateNewBs(t, s, 12, 1000)
	q := RelationsQuery{RelationType: 3, A: idLoc(a), Limit: 5, Offset: 3}
	page, err := s.Relations(ctx, q)
	must(t, err)
	var kept []Weights
	n := 0
	total, next, err := s.ScanRelations(ctx, q, func(v *RelationView) error {
		it := page.Items[n]
		donate, ok := v.Int("donate")
		if v.ProfileB != it.ProfileB || !ok || donate != it.Weights["donate"] || v.Created != it.Created {
			t.Fatalf("view %d: %v donate %d, want %+v", n, v.ProfileB, donate, it)
		}
		kept = append(kept, v.Weights())
		// Properties names exactly what Weights holds, in name order,
		// each with the type its accessor reads.
		var names []string
		for name, pt := range v.Properties() {
			names = append(names, name)
			if pt == PropInt {
				if got, ok := v.Int(name); !ok || got != it.Weights[name] {
					t.Fatalf("view %d: property %s (int) reads %d %v, want %v", n, name, got, ok, it.Weights[name])
				}
			}
		}
		if !slices.IsSorted(names) || len(names) != len(it.Weights) || len(names) != v.Len() {
			t.Fatalf("view %d: Properties %v, weights %v", n, names, it.Weights)
		}
		n++
		return nil
	})
	must(t, err)
	if n != 5 || total != page.Total || total != 12 || next != page.NextCursor || next == "" {
		t.Fatalf("scanned %d, total %d, next %q; the page: %d, %d, %q", n, total, next, len(page.Items), page.Total, page.NextCursor)
	}
	for i, w := range kept {
		if w["donate"] != int64(1003+i) {
			t.Fatalf("kept weights %d: %v (a later view overwrote them?)", i, w)
		}
	}
	stop := errors.New("enough")
	n = 0
	_, _, err = s.ScanRelations(ctx, q, func(v *RelationView) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("fn's error: got %v after %d calls", err, n)
	}
}

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
