package record

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/internal/floattest"
)

// TestExactSumAlgebra: adding values in any order gives the same state,
// bit for bit; subtracting a value added earlier restores the earlier
// state exactly; the stored form round-trips and is the only form the
// decoder accepts; the value is the exact sum correctly rounded.
func TestExactSumAlgebra(t *testing.T) {
	gen := rapid.OneOf(rapid.SampledFrom(floattest.Adversarial), rapid.Float64Range(-1e300, 1e300),
		rapid.Float64Range(-1e-300, 1e-300), rapid.Float64Range(-1e6, 1e6))
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(gen, 0, 12).Draw(t, "xs")
		var s FloatSum
		var states []FloatSum
		for _, x := range xs {
			states = append(states, s)
			s = s.Add(x)
		}
		if want := floattest.ExactRounded(xs); !floattest.SameSum(s.Value(), want) {
			t.Fatalf("value %v, want %v", s.Value(), want)
		}
		perm := rapid.Permutation(xs).Draw(t, "perm")
		var p FloatSum
		for _, x := range perm {
			p = p.Add(x)
		}
		if !p.Equal(s) {
			t.Fatalf("order matters: %v then %v", s, p)
		}
		for i := len(xs) - 1; i >= 0; i-- { // take them out, newest first
			s = s.Sub(xs[i])
			if !s.Equal(states[i]) {
				t.Fatalf("removing %v left %v, want %v", xs[i], s, states[i])
			}
		}
		if !s.IsZero() {
			t.Fatalf("all removed, left %v", s)
		}
		b := p.AppendBinary(nil)
		back, err := ParseFloatSum(b)
		if err != nil || !back.Equal(p) {
			t.Fatalf("round trip of %x: %v, %v", b, back, err)
		}
		if len(b) > 0 {
			for _, bad := range [][]byte{append(append([]byte{}, b[:5]...), append([]byte{0}, b[5:]...)...), append(append([]byte{}, b...), 0)} {
				if _, err := ParseFloatSum(bad); err == nil {
					t.Fatalf("accepted the non-canonical %x", bad)
				}
			}
		}
	})
}
