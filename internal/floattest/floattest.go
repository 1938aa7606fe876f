// Package floattest holds what the tests of exact float sums share: the
// values that defeat incremental sums, and a reference sum to compare
// with (big.Float at a precision no float64 sum can exceed).
package floattest

import (
	"math"
	"math/big"
)

// Adversarial mixes magnitudes that defeat incremental float
// sums: 1e16 next to 1, ±MaxFloat64, subnormals, and ordinary values.
var Adversarial = []float64{
	1, -1, 0.5, 1e16, -1e16, 3, 0.1, -0.3,
	math.MaxFloat64, -math.MaxFloat64, 1.7e308, -1.7e308,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 3 * math.SmallestNonzeroFloat64,
	2.2250738585072014e-308, 1e-300, 12345.678, -98765.4321, 0,
}

// ExactRounded is the exact sum of xs, correctly rounded: a float64, or
// a *big.Float when the exact sum lies beyond float64's range. It sums
// in big.Float at a precision no float64 sum can exceed.
func ExactRounded(xs []float64) any {
	sum := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		sum.Add(sum, new(big.Float).SetPrec(4096).SetFloat64(x))
	}
	f, _ := sum.Float64()
	if math.IsInf(f, 0) {
		return new(big.Float).SetPrec(53).Set(sum)
	}
	return f
}

// SameSum reports whether two sums (float64 or *big.Float) are equal.
func SameSum(got, want any) bool {
	if g, ok := got.(*big.Float); ok {
		w, ok := want.(*big.Float)
		return ok && g.Cmp(w) == 0
	}
	return got == want
}
