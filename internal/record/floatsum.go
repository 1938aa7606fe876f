package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// FloatSum is the exact sum of float64 values: m × 2^e, with m odd (or
// nil for zero, where e is 0). Every float64 is such a dyadic number,
// and so is every sum of them, so the sum is kept without rounding:
// adding a value and later subtracting it restores the previous state
// bit for bit, whatever the order and the magnitudes (1e16 next to 1,
// ±MaxFloat64, subnormals). The canonical form (m odd) makes equal sums
// equal values, so counters compare exactly.
//
// Its size is bounded by the spread of the values summed: at most the
// 2098 bits from 2^-1074 to 2^1024, plus one bit per doubling of the
// number of values. Sums of ordinary values (prices, scores) take a few
// dozen bits. A FloatSum is immutable: Add returns a new one.
type FloatSum struct {
	m *big.Int // odd, or nil for zero
	e int32
}

// The exponent range of a canonical FloatSum: the lowest set bit of a
// float64 lies between 2^-1074 (the smallest subnormal) and 2^971 (the
// lowest bit of MaxFloat64's 53-bit mantissa); a sum of up to 2^64
// values can carry it 64 bits higher.
const (
	minSumExp = -1074
	maxSumExp = 971 + 64
	// maxSumBytes bounds the stored magnitude: 2098 bits of range plus
	// 64 bits of headroom for the count of values, rounded up.
	maxSumBytes = (2098 + 64 + 7) / 8
)

// IsZero reports whether the sum is zero (nothing added, or what was
// added cancelled out exactly).
func (s FloatSum) IsZero() bool { return s.m == nil }

// Add returns s + x (x must be finite).
func (s FloatSum) Add(x float64) FloatSum {
	if x == 0 {
		return s
	}
	frac, exp := math.Frexp(math.Abs(x)) // |x| = frac × 2^exp, frac in [0.5, 1)
	mant := uint64(frac * (1 << 53))     // exact: frac has 53 significant bits
	tz := bits.TrailingZeros64(mant)
	m := new(big.Int).SetUint64(mant >> tz)
	if x < 0 {
		m.Neg(m)
	}
	return s.Plus(FloatSum{m: m, e: int32(exp - 53 + tz)})
}

// Sub returns s - x (x must be finite).
func (s FloatSum) Sub(x float64) FloatSum { return s.Add(-x) }

// Plus returns s + o in canonical form.
func (s FloatSum) Plus(o FloatSum) FloatSum {
	if s.m == nil {
		return o
	}
	if o.m == nil {
		return s
	}
	e := min(s.e, o.e)
	a := new(big.Int).Lsh(s.m, uint(s.e-e))
	a.Add(a, new(big.Int).Lsh(o.m, uint(o.e-e)))
	if a.Sign() == 0 {
		return FloatSum{}
	}
	tz := a.TrailingZeroBits()
	return FloatSum{m: a.Rsh(a, tz), e: e + int32(tz)}
}

// Equal reports whether s and o are the same sum.
func (s FloatSum) Equal(o FloatSum) bool {
	if s.m == nil || o.m == nil {
		return s.m == nil && o.m == nil
	}
	return s.e == o.e && s.m.Cmp(o.m) == 0
}

// Value is the sum correctly rounded (to nearest, ties to even): a
// float64, or a *big.Float of 53 bits when the exact sum lies beyond
// ±MaxFloat64, so that no sum is ever answered as an infinity.
func (s FloatSum) Value() any {
	if s.m == nil {
		return 0.0
	}
	exact := new(big.Float).SetPrec(uint(max(s.m.BitLen(), 1))).SetInt(s.m)
	exact.SetMantExp(exact, int(s.e))
	if f, _ := exact.Float64(); !math.IsInf(f, 0) {
		return f
	}
	return new(big.Float).SetPrec(53).Set(exact)
}

// String prints Value.
func (s FloatSum) String() string { return fmt.Sprint(s.Value()) }

// AppendBinary appends the stored form: nothing for zero; otherwise the
// exponent (4 bytes, big-endian two's complement), a sign byte (0 or 1)
// and the magnitude, big-endian, without leading zero bytes.
func (s FloatSum) AppendBinary(b []byte) []byte {
	if s.m == nil {
		return b
	}
	b = binary.BigEndian.AppendUint32(b, uint32(s.e))
	if s.m.Sign() < 0 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, s.m.Bytes()...) // Bytes is the magnitude
}

var errSumForm = errors.New("float sum: not in canonical form")

// ParseFloatSum reads what appendBinary writes, and only its canonical
// form: an odd magnitude without leading zeros, an exponent in range.
func ParseFloatSum(b []byte) (FloatSum, error) {
	if len(b) == 0 {
		return FloatSum{}, nil
	}
	if len(b) < 6 || len(b)-5 > maxSumBytes || b[4] > 1 || b[5] == 0 || b[len(b)-1]&1 == 0 {
		return FloatSum{}, errSumForm
	}
	e := int32(binary.BigEndian.Uint32(b))
	if e < minSumExp || e > maxSumExp {
		return FloatSum{}, fmt.Errorf("float sum: exponent %d out of range", e)
	}
	m := new(big.Int).SetBytes(b[5:])
	if b[4] == 1 {
		m.Neg(m)
	}
	return FloatSum{m: m, e: e}, nil
}
