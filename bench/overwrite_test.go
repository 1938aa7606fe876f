package bench

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph"
)

// Run these together so the ratios come from one run on one machine:
//
//	go test -run '^$' -bench 'Overwrite|BboltPut' -benchtime 2s ./bench
//
// All commits are durable (fsync).

func fixture(b *testing.B, nA, nB int) *Fixture {
	b.Helper()
	f, err := NewFixture(filepath.Join(b.TempDir(), "bench.db"), nil, nA, nB)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Store.Close() })
	return f
}

// BenchmarkBboltPut is the floor: plain bbolt, one Put of a
// relation-sized value per durable Update, serial, at keys scattered
// over a bucket of 1,000,000 keys (the access pattern of the overwrite
// benchmarks, whose relations are scattered over the store).
func BenchmarkBboltPut(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "plain.db"), 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 64)
	if err := PrefillBolt(db, 1000000, value); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("edge")).Put(BoltKey(Scatter(i)%1000000), value)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOverwriteSerial(b *testing.B) {
	f := fixture(b, 1000, 1000)
	for i := 0; b.Loop(); i++ {
		if _, err := f.Store.Overwrite(f.OverwriteByID(Scatter(i), Scatter(i*7), int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOverwriteByEmailSerial(b *testing.B) {
	f := fixture(b, 1000, 1000)
	for i := 0; b.Loop(); i++ {
		if _, err := f.Store.Overwrite(f.OverwriteByEmailAndField(Scatter(i), Scatter(i*7), int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverwrite32Writers runs 32 goroutines through the group
// commit, on relations scattered over the store.
func BenchmarkOverwrite32Writers(b *testing.B) {
	f := fixture(b, 1000, 1000)
	var n atomic.Int64
	b.SetParallelism((32 + 1) / 2) // × GOMAXPROCS(2) = 32 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if _, err := f.Store.Overwrite(f.OverwriteByID(Scatter(i), Scatter(i*7), int64(i))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	st := f.Store.Stats()
	b.ReportMetric(float64(st.Requests)/float64(st.Commits), "writes/commit")
	b.ReportMetric(float64(st.CommitTime)/float64(st.BatchTime), "commit-share")
	b.ReportMetric(float64(st.CommitTime.Microseconds())/float64(st.Commits), "µs/commit")
}

// BenchmarkCounter shows get_counter's cost does not grow with the
// number of relations: compare the two sub-benchmarks' ns/op.
func BenchmarkCounter(b *testing.B) {
	f := fixture(b, 2, 100000)
	for _, c := range []struct {
		name string
		a    int
		n    int
	}{{"relations=10", 0, 10}, {"relations=100000", 1, 100000}} {
		for start := 0; start < c.n; start += 10000 {
			err := f.Store.Update(func(tx *relgraph.Tx) error {
				for j := start; j < c.n && j < start+10000; j++ {
					if _, err := tx.Attach(f.OverwriteByID(c.a, j, int64(j))); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		loc := relgraph.Locator{ProfileID: f.A[c.a].String()}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				got, err := f.Store.Counter(3, loc)
				if err != nil || got.Total != int64(c.n) {
					b.Fatalf("counter %+v %v", got, err)
				}
			}
		})
	}
}

// BenchmarkImport imports profiles with email, phone, two custom fields
// and tags, in durable commits of each batch size; ns/op is per profile.
func BenchmarkImport(b *testing.B) {
	for _, batch := range []int{1000, 2500, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := relgraph.Open(filepath.Join(b.TempDir(), "import.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := Schema(s); err != nil {
				b.Fatal(err)
			}
			items := make([]relgraph.ImportItem, 0, batch)
			b.ResetTimer()
			for i := 0; i < b.N; {
				items = items[:0]
				for ; i < b.N && len(items) < batch; i++ {
					items = append(items, PersonItem(i))
				}
				res, err := s.ImportBatch(1, items)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
		})
	}
}
