package relgraph

import (
	"testing"
	"time"
)

// TestRestoreKeepsTimesAndChecksWeights: RestoreProfileAt and
// RestoreRelation write the times given, keep counters right, and
// refuse what Attach refuses; EachRelation walks a type by A then B.
func TestRestoreKeepsTimesAndChecksWeights(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, b1, b2 := mustID(t, "5d63dbdb439e7306b596c5d0"), mustID(t, "5d441038439e7363f3c26539"), mustID(t, "5d441038439e7363f3c2653a")
	created := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	updated := created.Add(time.Hour)
	must(t, s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.RestoreProfileAt(1, a, ProfileData{Email: Ptr("a@x.io")}, created, updated); err != nil {
			return err
		}
		for _, b := range []ProfileID{b1, b2} {
			if _, err := tx.RestoreProfileAt(2, b, ProfileData{}, created, created); err != nil {
				return err
			}
		}
		if err := tx.RestoreRelation(3, a, b2, Weights{"user_like": int64(2), "donate": int64(5)}, created, updated); err != nil {
			return err
		}
		return tx.RestoreRelation(3, a, b1, Weights{"user_like": int64(3)}, created, created)
	}))
	p, err := s.GetProfile(ctx, 1, idLoc(a))
	must(t, err)
	if !p.Created.Equal(created) || !p.Updated.Equal(updated) {
		t.Fatalf("profile times %v %v", p.Created, p.Updated)
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Total != 2 || c.Props["user_like"].Sum != int64(5) || len(c.Props["donate"].Top) != 1 {
		t.Fatalf("counter %+v", c)
	}
	var order []ProfileID
	must(t, s.EachRelation(ctx, 3, func(v *RelationView) error {
		order = append(order, v.ProfileB)
		if v.ProfileB == b2 && (v.Created != created.UnixNano() || v.Updated != updated.UnixNano()) {
			t.Fatalf("relation times %d %d", v.Created, v.Updated)
		}
		return nil
	}))
	if len(order) != 2 || order[0] != b1 || order[1] != b2 {
		t.Fatalf("order %v", order)
	}
	// Refused as Attach refuses: an undeclared property, a wrong type,
	// a missing profile; nothing changes.
	before := dump(t, s)
	for _, c := range []struct {
		w    Weights
		b    ProfileID
		code int
	}{
		{Weights{"nope": int64(1)}, b1, 400},
		{Weights{"user_like": "x"}, b1, 400},
		{Weights{"user_like": int64(1)}, mustID(t, "5d441038439e7363f3c2653b"), 404},
	} {
		err := s.Update(ctx, func(tx *Tx) error { return tx.RestoreRelation(3, a, c.b, c.w, created, created) })
		wantCode(t, err, c.code)
	}
	wantCode(t, s.EachRelation(ctx, 77, func(*RelationView) error { return nil }), 404)
	if dump(t, s) != before {
		t.Fatal("a refused restore changed the store")
	}
}
