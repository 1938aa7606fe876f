package relgraph

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/internal/floattest"
)

// TestFloatSumsAreExact: the cases. Edit B2 1, B1 1e16, B1 0:
// the sum is 1, not 0. Relations worth 1.7e308, -1.7e308 and 1.7e308:
// the middle one can be detached, and the sum beyond float64's range is
// answered as a *big.Float.
func TestFloatSumsAreExact(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
	must(t, err)
	bs := importBs(t, s, 3)
	set := func(b ProfileID, v any) {
		t.Helper()
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"rating": v}})
		must(t, err)
	}
	sum := func() any {
		t.Helper()
		c, err := s.Counter(ctx, 3, idLoc(a))
		must(t, err)
		return c.Props["rating"].Sum
	}
	set(bs[1], 1.0)
	set(bs[0], 1e16)
	set(bs[0], 0.0)
	if got := sum(); got != 1.0 {
		t.Fatalf("sum of 1 and 0 after 1e16 came and went: %v", got)
	}
	mustCheck(t, s)

	set(bs[0], 1.7e308)
	set(bs[1], -1.7e308)
	set(bs[2], 1.7e308)
	if got, want := sum(), floattest.ExactRounded([]float64{1.7e308, -1.7e308, 1.7e308}); !floattest.SameSum(got, want) {
		t.Fatalf("sum %v, want %v", got, want)
	}
	_, err = s.Detach(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(bs[1])})
	must(t, err)
	if got, want := sum(), floattest.ExactRounded([]float64{1.7e308, 1.7e308}); !floattest.SameSum(got, want) {
		t.Fatalf("sum beyond float64: %v (%T), want %v", got, got, want)
	}
	_, err = s.DeleteProfile(ctx, 2, idLoc(bs[2]))
	must(t, err)
	if got := sum(); got != 1.7e308 {
		t.Fatalf("sum %v, want 1.7e308", got)
	}
	mustCheck(t, s)
}

// TestFloatSumsAgainstModel: one A profile's relations get adversarial
// float values, are overwritten, have the property removed, are
// detached and lose their B profile, in random order; after every step
// the counter's sum is the exact sum of the values held, correctly
// rounded, and strict mode checks every commit (Check compares sums
// exactly). When every relation is gone the counter is gone too.
func TestFloatSumsAgainstModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := openTest(t)
		testSchema(t, s)
		a, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
		must(rt, err)
		bs := importBs(t, s, 6)
		held := map[ProfileID]float64{}
		related := map[ProfileID]bool{}
		req := func(b ProfileID, w map[string]any) RelationRequest {
			return RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: w}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"set": func(rt *rapid.T) {
				b := rapid.SampledFrom(bs).Draw(rt, "b")
				v := rapid.OneOf(rapid.SampledFrom(floattest.Adversarial), rapid.Float64Range(-1e20, 1e20)).Draw(rt, "v")
				_, err := s.Overwrite(ctx, req(b, map[string]any{"rating": v}))
				must(rt, err)
				held[b], related[b] = v, true
			},
			"unset": func(rt *rapid.T) {
				b := rapid.SampledFrom(bs).Draw(rt, "b")
				_, err := s.Overwrite(ctx, req(b, map[string]any{"rating": nil, "user_like": 1}))
				must(rt, err)
				delete(held, b)
				related[b] = true
			},
			"detach": func(rt *rapid.T) {
				b := rapid.SampledFrom(bs).Draw(rt, "b")
				_, err := s.Detach(ctx, req(b, nil))
				if related[b] {
					must(rt, err)
				} else if codeOf(err) != 404 {
					rt.Fatalf("detach of an absent relation: %v", err)
				}
				delete(held, b)
				delete(related, b)
			},
			"delete B": func(rt *rapid.T) {
				i := rapid.IntRange(0, len(bs)-1).Draw(rt, "i")
				_, err := s.DeleteProfile(ctx, 2, idLoc(bs[i]))
				must(rt, err)
				delete(held, bs[i])
				delete(related, bs[i])
				id, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
				must(rt, err)
				bs[i] = id
			},
			"": func(rt *rapid.T) {
				c, err := s.Counter(ctx, 3, idLoc(a))
				must(rt, err)
				if len(related) == 0 {
					if c.Total != 0 || len(c.Props) != 0 {
						rt.Fatalf("no relations, counter %+v", c)
					}
					return
				}
				var xs []float64
				for _, v := range held {
					xs = append(xs, v)
				}
				want := floattest.ExactRounded(xs)
				if got := c.Props["rating"].Sum; !floattest.SameSum(got, want) {
					rt.Fatalf("sum %v (%T), want %v, of %v", got, got, want, xs)
				}
				if c.Props["rating"].Total != int64(len(held)) {
					rt.Fatalf("total %d, want %d", c.Props["rating"].Total, len(held))
				}
			},
		})
	})
}

// TestTopListsAgainstModel drives one A profile's relations, with many
// more relations than the top list keeps (N=3, so at most 6 listed),
// through overwrites, removals of the property, strengthens up and down,
// detaches and cascading deletes of B profiles, with values from a small
// range so ties are common; for an int and a float top property. After
// every step the counter's top list must equal the model's ranking head;
// strict mode runs Check (which checks each stored list against all
// relations) inside every commit. Across the runs, lists must have been
// refilled from the relations and filled to 2N.
func TestTopListsAgainstModel(t *testing.T) {
	for _, typ := range []PropertyType{PropInt, PropFloat} {
		t.Run(string(typ), func(t *testing.T) { testTopLists(t, typ) })
	}
}

func testTopLists(t *testing.T, typ PropertyType) {
	// value turns a small drawn number into the property's type; floats
	// step by halves so sums stay exact.
	value := func(k int) any {
		if typ == PropInt {
			return int64(k)
		}
		return float64(k) / 2
	}
	var refills, longest uint64
	rapid.Check(t, func(rt *rapid.T) {
		s := openTest(t)
		testSchema(t, s)
		must(t, s.PutRelationType(ctx, RelationType{ID: 5, Name: "ranked", DatabaseA: 1, DatabaseB: 2, Properties: []Property{
			{Name: "score", Type: typ, Aggregate: AggTop, Top: 3}, {Name: "seen", Type: PropInt}}}))
		a, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
		must(t, err)
		var bs []ProfileID
		newB := func() {
			id, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
			must(t, err)
			bs = append(bs, id)
		}
		for range 12 {
			newB()
		}
		score := map[ProfileID]any{}    // relations holding score
		related := map[ProfileID]bool{} // every relation
		pickB := func(rt *rapid.T) ProfileID { return rapid.SampledFrom(bs).Draw(rt, "b") }
		req := func(b ProfileID, w map[string]any) RelationRequest {
			return RelationRequest{RelationType: 5, A: idLoc(a), B: idLoc(b), Weights: w}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"set": func(rt *rapid.T) {
				b, v := pickB(rt), value(rapid.IntRange(-3, 3).Draw(rt, "v"))
				_, err := s.Overwrite(ctx, req(b, map[string]any{"score": v}))
				must(t, err)
				score[b], related[b] = v, true
			},
			"unset": func(rt *rapid.T) {
				b := pickB(rt)
				_, err := s.Overwrite(ctx, req(b, map[string]any{"score": nil, "seen": 1}))
				must(t, err)
				delete(score, b)
				related[b] = true
			},
			"strengthen": func(rt *rapid.T) {
				b, d := pickB(rt), value(rapid.IntRange(-2, 2).Draw(rt, "d"))
				_, err := s.Modify(ctx, req(b, map[string]any{"score": d}))
				must(t, err)
				switch d := d.(type) {
				case int64:
					old, _ := score[b].(int64)
					score[b] = old + d
				case float64:
					old, _ := score[b].(float64)
					score[b] = old + d
				}
				related[b] = true
			},
			"detach": func(rt *rapid.T) {
				b := pickB(rt)
				_, err := s.Detach(ctx, req(b, nil))
				if !related[b] {
					wantCode(t, err, 404)
					return
				}
				must(t, err)
				delete(score, b)
				delete(related, b)
			},
			"delete B": func(rt *rapid.T) {
				i := rapid.IntRange(0, len(bs)-1).Draw(rt, "i")
				_, err := s.DeleteProfile(ctx, 2, idLoc(bs[i]))
				must(t, err)
				delete(score, bs[i])
				delete(related, bs[i])
				bs = slices.Delete(bs, i, i+1)
				newB()
			},
			"": func(rt *rapid.T) {
				c, err := s.Counter(ctx, 5, idLoc(a))
				must(t, err)
				if want := modelTop(score, 3); fmt.Sprint(c.Props["score"].Top) != fmt.Sprint(want) {
					rt.Fatalf("top %v, want %v", c.Props["score"].Top, want)
				}
				if c.Total != int64(len(related)) {
					rt.Fatalf("total %d, want %d", c.Total, len(related))
				}
				err = s.View(ctx, func(tx *Tx) error {
					rec, err := tx.loadCounter(tx.schema.rels[5], a)
					longest = max(longest, uint64(len(rec.Props["score"].Top)))
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
func modelTop(values map[ProfileID]any, n int) []TopEntry {
	var all []TopEntry
	for b, v := range values {
		all = append(all, TopEntry{ProfileB: b, Value: v})
	}
	asFloat := func(v any) float64 {
		if i, ok := v.(int64); ok {
			return float64(i) // the drawn values are small: exact
		}
		return v.(float64)
	}
	slices.SortFunc(all, func(x, y TopEntry) int {
		if c := cmp.Compare(asFloat(y.Value), asFloat(x.Value)); c != 0 {
			return c
		}
		return cmp.Compare(x.ProfileB.String(), y.ProfileB.String())
	})
	return all[:min(n, len(all))]
}

// TestTopRefillsCountedInSharedBatches: a refill done by a user's Update
// that shares its batch with other writes (so runs under a savepoint)
// is counted in Stats.TopRefills, as one done alone is.
func TestTopRefillsCountedInSharedBatches(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.PutRelationType(ctx, RelationType{ID: 5, Name: "ranked", DatabaseA: 1, DatabaseB: 2, Properties: []Property{
		{Name: "score", Type: PropInt, Aggregate: AggTop, Top: 1}, {Name: "seen", Type: PropInt}}}))
	a, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
	must(t, err)
	bs := importBs(t, s, 3)
	req := func(b ProfileID, w map[string]any) RelationRequest {
		return RelationRequest{RelationType: 5, A: idLoc(a), B: idLoc(b), Weights: w}
	}
	for i, v := range []int{10, 5, 1} { // the list keeps 2N = 2: [10, 5]
		_, err := s.Overwrite(ctx, req(bs[i], map[string]any{"score": v}))
		must(t, err)
	}
	_, err = s.Overwrite(ctx, req(bs[0], map[string]any{"score": nil, "seen": 1})) // [5]: long enough
	must(t, err)
	before := s.Stats().TopRefills
	errs, err := inOneBatch(t, s, 2, func(i int) error {
		if i == 1 {
			_, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{}) // a neighbour in the batch
			return err
		}
		return s.Update(ctx, func(tx *Tx) error { // [] while 1 relation holds score: refill
			_, err := tx.Overwrite(req(bs[1], map[string]any{"score": nil, "seen": 1}))
			return err
		})
	})
	must(t, err)
	for _, err := range errs {
		must(t, err)
	}
	if got := s.Stats().TopRefills - before; got != 1 {
		t.Fatalf("TopRefills went up by %d, want 1", got)
	}
	c, err := s.Counter(ctx, 5, idLoc(a))
	must(t, err)
	if top := c.Props["score"].Top; len(top) != 1 || top[0].ProfileB != bs[2] {
		t.Fatalf("top %+v", top)
	}
}
