// Package histogram counts observations in fixed buckets, lock-free:
// the store's commit sizes and times, the log's syncs and checkpoints,
// and the server's request latencies. A Snapshot is cumulative, as
// Prometheus has it.
package histogram

import (
	"math"
	"sync/atomic"
	"time"
)

// Histogram counts observations in fixed buckets, safe for concurrent
// use without locks: an Observe costs a few atomic adds.
type Histogram struct {
	bounds  []float64
	buckets []atomic.Uint64 // observations ≤ bounds[i] and > bounds[i-1]; the last: above all
	count   atomic.Uint64
	sum     atomic.Uint64 // float64 bits
}

// New returns a histogram with the given upper bounds, in
// increasing order.
func New(bounds ...float64) *Histogram {
	return &Histogram{bounds: bounds, buckets: make([]atomic.Uint64, len(bounds)+1)}
}

// LatencyBounds are the bounds, in seconds, of a latency histogram:
// 50 µs to about 13 s, each twice the one before.
func LatencyBounds() []float64 {
	b := make([]float64, 19)
	for i := range b {
		b[i] = 50e-6 * math.Pow(2, float64(i))
	}
	return b
}

// Observe records one observation.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// ObserveSince records the seconds since start.
func (h *Histogram) ObserveSince(start time.Time) { h.Observe(time.Since(start).Seconds()) }

// Snapshot is a histogram's state at one moment, cumulative as
// Prometheus has it: Counts[i] observations were ≤ Bounds[i]; Count
// counts them all, Sum adds them up.
type Snapshot struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Snapshot returns the histogram's state. Observations that race with
// it may be in Count and not yet in a bucket, or the reverse: each is
// in the next snapshot.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.bounds))}
	var total uint64
	for i := range h.bounds {
		total += h.buckets[i].Load()
		s.Counts[i] = total
	}
	s.Count = max(h.count.Load(), total)
	s.Sum = math.Float64frombits(h.sum.Load())
	return s
}
