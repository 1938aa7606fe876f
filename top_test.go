package relgraph

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestTopListsAgainstModel drives one A profile's relations, with many
// more relations than the top list keeps (N=3, so at most 6 listed),
// through overwrites, removals of the property, strengthens up and down,
// detaches and cascading deletes of B profiles, with values from a small
// range so ties are common. After every step the counter's top list must
// equal the model's ranking head; strict mode runs Check (which checks
// each stored list against all relations) inside every commit. Across the
// runs, lists must have been refilled from the relations and truncated.
func TestTopListsAgainstModel(t *testing.T) {
	var refills, longest uint64
	rapid.Check(t, func(rt *rapid.T) {
		s := openTest(t)
		testSchema(t, s)
		a, _, err := s.ImportProfile(1, Locator{}, ProfileData{})
		must(t, err)
		var bs []ProfileID
		newB := func() {
			id, _, err := s.ImportProfile(2, Locator{}, ProfileData{})
			must(t, err)
			bs = append(bs, id)
		}
		for range 12 {
			newB()
		}
		donate := map[ProfileID]int64{} // relations holding donate
		related := map[ProfileID]bool{} // every relation
		pickB := func(rt *rapid.T) ProfileID { return rapid.SampledFrom(bs).Draw(rt, "b") }
		req := func(b ProfileID, w map[string]any) RelationRequest {
			return RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: w}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"set": func(rt *rapid.T) {
				b, v := pickB(rt), int64(rapid.IntRange(-3, 3).Draw(rt, "v"))
				_, err := s.Overwrite(req(b, map[string]any{"donate": v}))
				must(t, err)
				donate[b], related[b] = v, true
			},
			"unset": func(rt *rapid.T) {
				b := pickB(rt)
				_, err := s.Overwrite(req(b, map[string]any{"donate": nil, "user_like": 1}))
				must(t, err)
				delete(donate, b)
				related[b] = true
			},
			"strengthen": func(rt *rapid.T) {
				b, d := pickB(rt), int64(rapid.IntRange(-2, 2).Draw(rt, "d"))
				_, err := s.Modify(req(b, map[string]any{"donate": d}))
				must(t, err)
				donate[b] += d
				related[b] = true
			},
			"detach": func(rt *rapid.T) {
				b := pickB(rt)
				_, err := s.Detach(req(b, nil))
				if !related[b] {
					wantCode(t, err, 404)
					return
				}
				must(t, err)
				delete(donate, b)
				delete(related, b)
			},
			"delete B": func(rt *rapid.T) {
				i := rapid.IntRange(0, len(bs)-1).Draw(rt, "i")
				_, err := s.DeleteProfile(2, idLoc(bs[i]))
				must(t, err)
				delete(donate, bs[i])
				delete(related, bs[i])
				bs = slices.Delete(bs, i, i+1)
				newB()
			},
			"": func(rt *rapid.T) {
				c, err := s.Counter(3, idLoc(a))
				must(t, err)
				if want := modelTop(donate, 3); fmt.Sprint(c.Props["donate"].Top) != fmt.Sprint(want) {
					rt.Fatalf("top %v, want %v", c.Props["donate"].Top, want)
				}
				if c.Total != int64(len(related)) {
					rt.Fatalf("total %d, want %d", c.Total, len(related))
				}
				err = s.View(func(tx *Tx) error {
					rec, err := tx.loadCounter(3, a)
					longest = max(longest, uint64(len(rec.Props["donate"].Top)))
					return err
				})
				must(t, err)
			},
		})
		refills += s.Stats().TopRefills
	})
	if refills == 0 || longest != 6 {
		t.Fatalf("the runs never refilled a list (%d refills) or never filled one to 2N (longest %d)", refills, longest)
	}
	t.Logf("%d refills; lists reached %d entries", refills, longest)
}

// modelTop ranks the model's values: highest first, then by B's id.
func modelTop(donate map[ProfileID]int64, n int) []TopEntry {
	var all []TopEntry
	for b, v := range donate {
		all = append(all, TopEntry{ProfileB: b, Value: v})
	}
	slices.SortFunc(all, func(x, y TopEntry) int {
		if c := cmp.Compare(y.Value.(int64), x.Value.(int64)); c != 0 {
			return c
		}
		return cmp.Compare(x.ProfileB.String(), y.ProfileB.String())
	})
	return all[:min(n, len(all))]
}

// TestNumericWeightMatchesDecoder: the quick scan refills use reads the
// same numeric values as the full decoder, on random records.
func TestNumericWeightMatchesDecoder(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := Weights{}
		for _, name := range rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z_]{1,40}`), 0, 20, rapid.ID[string]).Draw(rt, "names") {
			w[name] = rapid.OneOf(
				rapid.Map(rapid.Int64(), func(v int64) any { return v }),
				rapid.Map(rapid.Float64(), func(v float64) any { return v }),
				rapid.Map(rapid.Bool(), func(v bool) any { return v }),
				rapid.Map(rapid.StringN(0, 300, -1), func(v string) any { return v }),
			).Draw(rt, "value")
		}
		v, err := encodeRelation(&relationRecord{Weights: w, Created: rapid.Int64().Draw(rt, "c"), Updated: rapid.Int64().Draw(rt, "u")})
		must(t, err)
		for _, name := range append(sortedKeys(w), "absent") {
			got, has, ok := numericWeight(v, name)
			want, present := w[name]
			switch want.(type) {
			case int64, float64:
				if !ok || !has || (got != want && !(isNaN(got) && isNaN(want))) {
					rt.Fatalf("%q: scan %v %v %v, stored %v", name, got, has, ok, want)
				}
			case nil:
				if !ok || has || present {
					rt.Fatalf("%q: scan %v %v %v for an absent property", name, got, has, ok)
				}
			default:
				if ok {
					rt.Fatalf("%q: scan read %v from a %T", name, got, want)
				}
			}
		}
		v[len(v)/2] ^= 1 // a flipped bit: the checksum refuses it
		if _, _, ok := numericWeight(v, "x"); ok {
			rt.Fatalf("scan accepted a damaged record")
		}
	})
}

func isNaN(v any) bool { f, ok := v.(float64); return ok && f != f }
