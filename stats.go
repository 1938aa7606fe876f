package relgraph

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/kv"
)

// Stats are counters of the group commit since Open.
type Stats struct {
	// Commits is the number of engine transactions committed.
	Commits uint64
	// Requests is the number of writes those commits carried (including
	// failed ones that shared a commit). Requests/Commits is the mean
	// batch size.
	Requests uint64
	// BatchTime is the time spent in committed batches, from the engine
	// transaction's start to its commit's end; CommitTime the part spent
	// committing (writing pages and fsync).
	BatchTime, CommitTime time.Duration
	// TopRefills counts committed writes that read all of an A profile's
	// relations to refill a top list that ran short (package doc, "top
	// lists"): the one relation write whose cost grows with A's
	// relations.
	TopRefills uint64
	// BatchSizes is the distribution of Requests per commit, and
	// CommitLatency of the engine commits' time (fsync included), in
	// seconds.
	BatchSizes, CommitLatency kv.HistogramSnapshot
	// Queued is the number of writes waiting for the committer now.
	Queued int
	// Engine holds what the engine reports of itself (kv.Metered): for
	// a store file, its size and its log's syncs and checkpoints.
	Engine []kv.Metric
}

// batchSizeBounds are the buckets of Stats.BatchSizes.
var batchSizeBounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// statCounters are the live counters behind Stats.
type statCounters struct {
	commits    atomic.Uint64 // committed engine transactions of the committer
	requests   atomic.Uint64 // write requests those commits carried
	topRefills atomic.Uint64 // top lists those commits refilled
	// batchNanos and commitNanos add up the time of committed batches and
	// of their engine commits (fsync included).
	batchNanos, commitNanos atomic.Uint64
	// batchSizes and commitTimes are their distributions.
	histograms              sync.Once
	batchSizes, commitTimes *kv.Histogram
}

// init makes the histograms, once.
func (c *statCounters) init() {
	c.histograms.Do(func() {
		c.batchSizes = kv.NewHistogram(batchSizeBounds...)
		c.commitTimes = kv.NewHistogram(kv.LatencyBounds()...)
	})
}

// committed counts a durable batch: it began at started, its commit at
// commit, and it carried live requests.
func (c *statCounters) committed(started, commit time.Time, live int, refills uint64) {
	c.init()
	now := time.Now()
	c.batchSizes.Observe(float64(live))
	c.commitTimes.Observe(now.Sub(commit).Seconds())
	c.commitNanos.Add(uint64(now.Sub(commit)))
	c.batchNanos.Add(uint64(now.Sub(started)))
	c.commits.Add(1)
	c.requests.Add(uint64(live))
	c.topRefills.Add(refills)
}

// Stats returns the group commit's counters and the engine's metrics.
// It is cheap (no transaction; a file stat for the engine's size) and
// safe to call at any time, also after Close.
func (s *Store) Stats() Stats {
	c := &s.stats
	c.init()
	st := Stats{Commits: c.commits.Load(), Requests: c.requests.Load(),
		BatchTime: time.Duration(c.batchNanos.Load()), CommitTime: time.Duration(c.commitNanos.Load()),
		TopRefills: c.topRefills.Load(), BatchSizes: c.batchSizes.Snapshot(), CommitLatency: c.commitTimes.Snapshot(),
		Queued: len(s.queue)}
	if m, ok := s.engine.(kv.Metered); ok {
		st.Engine = m.Metrics()
	}
	return st
}
