package relgraph

import (
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
