package etcd

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
)

// BenchmarkOverwrite measures durable overwrites by profile id, with
// relations scattered over 1,000×1,000 profiles, serial and from 32
// writers through the group commit, on:
//
//   - procs=3: a 3-member etcd cluster of separate processes on
//     127.0.0.1 (the real etcd server, built from the module this one
//     requires; each member its own data directory, fsyncing), as
//     users deploy it;
//   - inproc=3: 3 members started in this process (as the tests do);
//   - file: the single-node store (a store file, durable), the rate the
//     targets compare with.
//
// Each etcd row runs on a cluster of its own (etcd slows as its history
// grows, so rows sharing one would favour the first). "procs=3" is the
// engine as it is (read cache, group commits that wait for more writers
// and are sized by --max-txn-ops, here 100,000); "nolinger" and
// "nocache" take those away. Each row reports round trips to etcd per
// overwrite, writes per commit, the time of a batch and of its commit,
// the cache's hit rate, the conflicts per overwrite, and the CPU an
// overwrite costs this process (client-cpu-µs/op: on inproc rows the
// members' too, as they run in it) and, on procs rows, the three
// members together (etcd-cpu-µs/op): on 2 cores, the two sum to at most
// 2 s of CPU per second, which bounds the rate:
//
//	cd kv/etcd && go test -run '^$' -bench Overwrite -benchtime 3s .
func BenchmarkOverwrite(b *testing.B) {
	var cluster *processCluster // the row's, when its members are processes
	procs := func(b *testing.B) []string {
		cluster = startProcessCluster(b, 3, 100000)
		b.Cleanup(cluster.stop)
		return cluster.clients
	}
	for _, setup := range []struct {
		name string
		open func(b *testing.B) (*relgraph.Store, *Engine)
	}{
		{"procs=3", etcdStore(procs, Options{MaxTxnOps: 100000})},
		{"procs=3/nolinger", etcdStore(procs, Options{MaxTxnOps: 100000, BatchLinger: -1})},
		{"procs=3/nolinger/nocache", etcdStore(procs, Options{MaxTxnOps: 100000, BatchLinger: -1, CacheBytes: -1})},
		{"inproc=3", etcdStore(func(b *testing.B) []string { return startCluster(b, 3).clients }, Options{MaxTxnOps: 100000})},
		{"file", func(b *testing.B) (*relgraph.Store, *Engine) {
			s, err := relgraph.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s, nil
		}},
	} {
		cluster = nil
		s, e := setup.open(b)
		op := overwriteWorkload(b, s)
		measure := func(b *testing.B, run func()) {
			st0, m0 := s.Stats(), engineCounts(e)
			self0 := processCPU()
			var members0 time.Duration
			membersOK := cluster != nil
			if membersOK {
				members0, membersOK = cluster.cpu()
			}
			run()
			st1, m1 := s.Stats(), engineCounts(e)
			n := float64(b.N)
			b.ReportMetric(float64((processCPU()-self0).Microseconds())/n, "client-cpu-µs/op")
			if membersOK {
				if members1, ok := cluster.cpu(); ok {
					b.ReportMetric(float64((members1-members0).Microseconds())/n, "etcd-cpu-µs/op")
				}
			}
			commits := float64(max(st1.Commits-st0.Commits, 1))
			b.ReportMetric(float64(st1.Requests-st0.Requests)/commits, "writes/commit")
			b.ReportMetric((st1.BatchTime-st0.BatchTime).Seconds()*1000/commits, "batch-ms")
			b.ReportMetric((st1.CommitTime-st0.CommitTime).Seconds()*1000/commits, "commit-ms")
			if e != nil {
				b.ReportMetric((m1.roundTrips-m0.roundTrips)/n, "round-trips/op")
				b.ReportMetric((m1.conflicts-m0.conflicts)/n, "conflicts/op")
				if hits, misses := m1.hits-m0.hits, m1.misses-m0.misses; hits+misses > 0 {
					b.ReportMetric(100*hits/(hits+misses), "cache-hit-%")
				}
			}
		}
		b.Run(setup.name+"/serial", func(b *testing.B) {
			measure(b, func() {
				for b.Loop() {
					if err := op(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(setup.name+"/writers=32", func(b *testing.B) {
			b.SetParallelism(16) // 2 cores: 32 goroutines
			measure(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := op(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
		s.Close()
		if cluster != nil {
			cluster.stop() // idle members would take CPU from the next rows
		}
	}
}

// etcdStore opens a store on a cluster of its own, started by cluster.
func etcdStore(cluster func(*testing.B) []string, opts Options) func(b *testing.B) (*relgraph.Store, *Engine) {
	return func(b *testing.B) (*relgraph.Store, *Engine) {
		e, err := DialWith(cluster(b), newPrefix(), index.All, opts)
		if err != nil {
			b.Fatal(err)
		}
		s, err := relgraph.OpenEngine(e, nil)
		if err != nil {
			b.Fatal(err)
		}
		return s, e
	}
}

// engineCount is a snapshot of an engine's counters (zero for none).
type engineCount struct{ roundTrips, conflicts, hits, misses float64 }

func engineCounts(e *Engine) engineCount {
	if e == nil {
		return engineCount{}
	}
	return engineCount{metric(e, "etcd_round_trips_total"), metric(e, "etcd_conflicts_total"),
		metric(e, "etcd_cache_hits_total"), metric(e, "etcd_cache_misses_total")}
}

// overwriteWorkload declares the schema, imports 1,000 profiles in each
// of two databases, and returns an overwrite of a scattered pair by id.
func overwriteWorkload(b *testing.B, s *relgraph.Store) func() error {
	ctx := ctx
	for _, err := range []error{
		s.PutDatabase(ctx, relgraph.Database{ID: 1}),
		s.PutDatabase(ctx, relgraph.Database{ID: 2}),
		s.PutRelationType(ctx, relgraph.RelationType{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
			{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
			{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10}}}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	var as, bs []relgraph.ProfileID
	for db, ids := range map[uint32]*[]relgraph.ProfileID{1: &as, 2: &bs} {
		for start := 0; start < 1000; start += 100 {
			res, err := s.ImportBatch(ctx, db, make([]relgraph.ImportItem, 100))
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				*ids = append(*ids, r.ID)
			}
		}
	}
	var seq atomic.Uint64
	return func() error {
		// A and B drawn apart (splitmix64): most overwrites make a new
		// relation of the million possible, so the relation is not in
		// the cache; the profiles soon are.
		i := seq.Add(1)
		a, bb := splitmix(i)%1000, splitmix(i^0x5555)%1000
		_, err := s.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3,
			A: relgraph.Locator{ProfileID: as[a].String()}, B: relgraph.Locator{ProfileID: bs[bb].String()},
			Weights: map[string]any{"user_like": int64(i), "donate": int64(i % 1000)}})
		return err
	}
}

// splitmix is splitmix64's finalizer: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
