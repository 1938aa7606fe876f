package histogram

import (
	"sync"
	"testing"
)

// TestHistogram: an observation lands in the first bucket whose bound
// is not below it (a bound is inclusive), above every bound it counts
// only in Count; Counts are cumulative; Sum adds up.
func TestHistogram(t *testing.T) {
	h := New(1, 2, 4)
	for _, v := range []float64{0.5, 1, 1.5, 2, 3, 4, 100} {
		h.Observe(v)
	}
	s := h.Snapshot()
	if want := []uint64{2, 4, 6}; s.Counts[0] != want[0] || s.Counts[1] != want[1] || s.Counts[2] != want[2] {
		t.Fatalf("counts %v, want %v", s.Counts, want)
	}
	if s.Count != 7 || s.Sum != 112 {
		t.Fatalf("count %d sum %v", s.Count, s.Sum)
	}
}

// TestHistogramConcurrent: observations from many goroutines are all
// counted, in buckets and in the sum.
func TestHistogramConcurrent(t *testing.T) {
	h := New(LatencyBounds()...)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				h.Observe(float64(g) * 1e-3)
			}
		}()
	}
	wg.Wait()
	s := h.Snapshot()
	if s.Count != 8000 || s.Counts[len(s.Counts)-1] != 8000 || s.Sum < 27.99 || s.Sum > 28.01 {
		t.Fatalf("count %d, last bucket %d, sum %v", s.Count, s.Counts[len(s.Counts)-1], s.Sum)
	}
}
