package kv

import (
	"math"
	"sync/atomic"
	"time"
)

// Metered is an engine that reports counters of its own (optional): the
// store passes them on in its Stats, and the server's /metrics exports
// them. Metrics must be cheap and safe to call at any time.
type Metered interface {
	Metrics() []Metric
}

// Metric is one value an engine reports.
type Metric struct {
	// Name is the metric's name without a prefix, in Prometheus' style:
	// log_syncs_total, store_file_bytes.
	Name string
	// Help says what it counts.
	Help string
	// Counter marks a value that only grows; otherwise it is a gauge.
	Counter bool
	// Value is the value of a counter or gauge.
	Value float64
	// Histogram, if set, makes the metric a histogram (Value unused).
	Histogram *HistogramSnapshot
}

// Histogram counts observations in fixed buckets, safe for concurrent
// use without locks: an Observe costs a few atomic adds.
type Histogram struct {
	bounds  []float64
	buckets []atomic.Uint64 // observations ≤ bounds[i] and > bounds[i-1]; the last: above all
	count   atomic.Uint64
	sum     atomic.Uint64 // float64 bits
}

// NewHistogram returns a histogram with the given upper bounds, in
// increasing order.
func NewHistogram(bounds ...float64) *Histogram {
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

// HistogramSnapshot is a histogram's state at one moment, cumulative as
// Prometheus has it: Counts[i] observations were ≤ Bounds[i]; Count
// counts them all, Sum adds them up.
type HistogramSnapshot struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Snapshot returns the histogram's state. Observations that race with
// it may be in Count and not yet in a bucket, or the reverse: each is
// in the next snapshot.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.bounds))}
	var total uint64
	for i := range h.bounds {
		total += h.buckets[i].Load()
		s.Counts[i] = total
	}
	s.Count = max(h.count.Load(), total)
	s.Sum = math.Float64frombits(h.sum.Load())
	return s
}
