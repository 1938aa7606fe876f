package relgraph

import (
	"testing"

	"pgregory.net/rapid"
)

// Algebraic properties of the relation writes, each on a fresh store.

func genIntWeights(t *rapid.T, label string) map[string]any {
	w := map[string]any{}
	for _, p := range []string{"user_like", "donate"} {
		if rapid.Bool().Draw(t, label+p+"?") {
			w[p] = rapid.Int64Range(-1e12, 1e12).Draw(t, label+p)
		}
	}
	if len(w) == 0 {
		w["user_like"] = int64(1)
	}
	return w
}

func TestRelationAlgebra(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _ := twoProfiles(t, s)
	rapid.Check(t, func(t *rapid.T) {
		b, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
		if err != nil {
			t.Fatal(err)
		}
		req := func(w map[string]any) RelationRequest {
			return RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: w}
		}
		// attach then detach restores the exact bytes.
		before := dump(t, s)
		if _, err := s.Attach(ctx, req(genIntWeights(t, "attach"))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Detach(ctx, req(nil)); err != nil {
			t.Fatal(err)
		}
		if dump(t, s) != before {
			t.Fatal("attach then detach changed the store")
		}
		// overwrite twice = overwrite once.
		w := genIntWeights(t, "overwrite")
		if _, err := s.Overwrite(ctx, req(w)); err != nil {
			t.Fatal(err)
		}
		once := dump(t, s)
		if _, err := s.Overwrite(ctx, req(w)); err != nil {
			t.Fatal(err)
		}
		if dump(t, s) != once {
			t.Fatal("a second identical overwrite changed the store")
		}
		// strengthen(x) then strengthen(y) = strengthen(x+y): compare the
		// relation's weights and A's counter through two relations.
		b2, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
		if err != nil {
			t.Fatal(err)
		}
		x, y := genIntWeights(t, "x"), genIntWeights(t, "y")
		sum := map[string]any{}
		for _, m := range []map[string]any{x, y} {
			for k, v := range m {
				cur, _ := sum[k].(int64)
				sum[k] = cur + v.(int64)
			}
		}
		for _, d := range []map[string]any{x, y} {
			if _, err := s.Modify(ctx, req(d)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b2), Weights: sum}); err != nil {
			t.Fatal(err)
		}
		page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
		if err != nil {
			t.Fatal(err)
		}
		var wb, wb2 Weights
		for _, it := range page.Items {
			switch it.ProfileB {
			case b:
				wb = it.Weights
			case b2:
				wb2 = it.Weights
			}
		}
		for k := range sum {
			base, _ := w[k].(int64)
			if wb[k] != base+sum[k].(int64) || wb2[k] != sum[k] {
				t.Fatalf("%s: strengthen x then y gave %v (from %v), x+y gave %v", k, wb[k], base, wb2[k])
			}
		}
		// Clean up so the next case starts from the same relations.
		for _, bb := range []ProfileID{b, b2} {
			if _, err := s.DeleteProfile(ctx, 2, idLoc(bb)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
