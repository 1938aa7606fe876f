package relgraph

import (
	"sync/atomic"
	"time"
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
}

// statCounters are the live counters behind Stats.
type statCounters struct {
	commits    atomic.Uint64 // committed engine transactions of the committer
	requests   atomic.Uint64 // write requests those commits carried
	topRefills atomic.Uint64 // top lists those commits refilled
	// batchNanos and commitNanos add up the time of committed batches and
	// of their engine commits (fsync included).
	batchNanos, commitNanos atomic.Uint64
}

// committed counts a durable batch: it began at started, its commit at
// commit, and it carried live requests.
func (c *statCounters) committed(started, commit time.Time, live int, refills uint64) {
	now := time.Now()
	c.commitNanos.Add(uint64(now.Sub(commit)))
	c.batchNanos.Add(uint64(now.Sub(started)))
	c.commits.Add(1)
	c.requests.Add(uint64(live))
	c.topRefills.Add(refills)
}

// Stats returns the group commit counters. It is cheap and safe to call
// at any time.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{Commits: c.commits.Load(), Requests: c.requests.Load(),
		BatchTime: time.Duration(c.batchNanos.Load()), CommitTime: time.Duration(c.commitNanos.Load()),
		TopRefills: c.topRefills.Load()}
}
