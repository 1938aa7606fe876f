package relgraph

import (
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/histogram"
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
	// transaction's start to its commit's end, less the time a batch
	// spent taking, mostly waiting for, writers to join it while the
	// commit before it synced (package doc, "group commit"); CommitTime
	// the part spent committing (writing pages and fsync).
	BatchTime, CommitTime time.Duration
	// TopRefills counts committed writes that read all of an A profile's
	// relations to refill a top list that ran short (package doc, "top
	// lists"): the one relation write whose cost grows with A's
	// relations.
	TopRefills uint64
	// BatchSizes is the distribution of Requests per commit, and
	// CommitLatency of the engine commits' time (fsync included), in
	// seconds.
	BatchSizes, CommitLatency histogram.Snapshot
	// Queued is the number of writes waiting for the committer now.
	Queued int
	// Engine holds what the engine reports of itself (kv.Metered): for
	// a store file, its size and its log's syncs and checkpoints.
	Engine []kv.Metric
}

// batchSizeBounds are the buckets of Stats.BatchSizes.
var batchSizeBounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// statCounters are the live counters behind Stats. The histograms'
// counts and sums are the commits, their requests and their commit time.
type statCounters struct {
	batchSizes  *histogram.Histogram // requests per committed batch
	commitTimes *histogram.Histogram // seconds of each engine commit, fsync included
	batchNanos  atomic.Uint64        // time of the committed batches, added up
	topRefills  atomic.Uint64        // top lists those commits refilled
}

func newStatCounters() *statCounters {
	return &statCounters{batchSizes: histogram.New(batchSizeBounds...), commitTimes: histogram.New(histogram.LatencyBounds()...)}
}

// committed counts a durable batch: it began at started, its commit at
// commit, it waited for writers that long in between, and it carried
// live requests.
func (c *statCounters) committed(started, commit time.Time, waited time.Duration, live int, refills uint64) {
	now := time.Now()
	c.batchSizes.Observe(float64(live))
	c.commitTimes.Observe(now.Sub(commit).Seconds())
	c.batchNanos.Add(uint64(max(now.Sub(started)-waited, 0)))
	c.topRefills.Add(refills)
}

// Stats returns the group commit's counters and the engine's metrics.
// It is cheap (no transaction; a file stat for the engine's size) and
// safe to call at any time, also after Close.
func (s *Store) Stats() Stats {
	c := s.stats
	sizes, times := c.batchSizes.Snapshot(), c.commitTimes.Snapshot()
	st := Stats{Commits: sizes.Count, Requests: uint64(sizes.Sum),
		BatchTime: time.Duration(c.batchNanos.Load()), CommitTime: time.Duration(times.Sum * float64(time.Second)),
		TopRefills: c.topRefills.Load(), BatchSizes: sizes, CommitLatency: times, Queued: len(s.queue)}
	if m, ok := s.engine.(kv.Metered); ok {
		st.Engine = m.Metrics()
	}
	return st
}
