package etcd

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
)

// BenchmarkOverwrite measures durable overwrites by profile id on etcd
// clusters of 1 and 3 members started in this process (every member
// fsyncs its WAL), serial and from 32 writers through the group commit,
// with relations scattered over 1,000×1,000 profiles:
//
//	cd kv/etcd && go test -run '^$' -bench Overwrite -benchtime 3s .
func BenchmarkOverwrite(b *testing.B) {
	for _, members := range []int{1, 3} {
		c := startCluster(b, members)
		e, err := Dial(c.clients, newPrefix(), index.All)
		if err != nil {
			b.Fatal(err)
		}
		s, err := relgraph.OpenEngine(e, &relgraph.Options{MaxBatch: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
			b.Fatal(err)
		}
		if err := s.PutDatabase(ctx, relgraph.Database{ID: 2}); err != nil {
			b.Fatal(err)
		}
		if err := s.PutRelationType(ctx, relgraph.RelationType{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
			{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
			{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10}}}); err != nil {
			b.Fatal(err)
		}
		var as, bs []relgraph.ProfileID
		for db, ids := range map[uint32]*[]relgraph.ProfileID{1: &as, 2: &bs} {
			for start := 0; start < 1000; start += 100 {
				items := make([]relgraph.ImportItem, 100)
				res, err := s.ImportBatch(ctx, db, items)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					*ids = append(*ids, r.ID)
				}
			}
		}
		var seq atomic.Int64
		op := func() error {
			i := int(seq.Add(1))
			a, bb := uint64(i)*2654435761%1000, uint64(i*7)*2654435761%1000
			_, err := s.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3,
				A: relgraph.Locator{ProfileID: as[a].String()}, B: relgraph.Locator{ProfileID: bs[bb].String()},
				Weights: map[string]any{"user_like": i, "donate": i % 1000}})
			return err
		}
		b.Run(fmt.Sprintf("members=%d/serial", members), func(b *testing.B) {
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("members=%d/writers=32", members), func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := op(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			st := s.Stats()
			b.ReportMetric(float64(st.Requests)/float64(max(st.Commits, 1)), "writes/commit")
		})
		s.Close()
	}
}
