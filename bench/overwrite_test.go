package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/kv/wal"
)

// Run these together so the ratios come from one run on one machine:
//
//	go test -run '^$' -bench 'Overwrite|Create32|Bbolt' -benchtime 2s .
//
// All commits are durable (fsync). Every operation goes to a place far
// from the previous one (Scatter), as real traffic does.

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
// over a bucket of 1,000,000 keys.
func BenchmarkBboltPut(b *testing.B) {
	db := prefilledBolt(b)
	value := make([]byte, 64)
	before := pageWrites(db)
	for i := 0; b.Loop(); i++ {
		err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("edge")).Put(BoltKey(Scatter(i)%1000000), value)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(pageWrites(db)-before)/float64(b.N), "pages/commit")
}

// BenchmarkBboltBatchedPuts is the ceiling of group commit on bbolt at
// this access pattern: the floor's Puts, k per durable Update, reported
// per Put. A relation write costs at least one such Put, so at k writes
// per commit (32 writers make 16) no design built on bbolt can overwrite
// faster than puts=k's ns/put. On a populated store an overwrite
// changes at least two places far apart (its relation and A's counter):
// keys=2.
func BenchmarkBboltBatchedPuts(b *testing.B) {
	db := prefilledBolt(b)
	value := make([]byte, 64)
	n := 0
	for _, k := range []int{16, 32} {
		for _, keys := range []int{1, 2} {
			b.Run(fmt.Sprintf("puts=%d/keys=%d", k, keys), func(b *testing.B) {
				before := pageWrites(db)
				for b.Loop() {
					err := db.Update(func(tx *bbolt.Tx) error {
						for range k * keys {
							n++
							if err := tx.Bucket([]byte("edge")).Put(BoltKey(Scatter(n)%1000000), value); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/write")
				b.ReportMetric(float64(pageWrites(db)-before)/float64(b.N), "pages/commit")
			})
		}
	}
}

func prefilledBolt(b *testing.B) *bbolt.DB {
	b.Helper()
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "plain.db"), 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := PrefillBolt(db, 1000000, make([]byte, 64)); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkOverwriteSerial overwrites existing relations of a populated
// store (PopulatedA × PopulatedB relations), one durable call at a time.
func BenchmarkOverwriteSerial(b *testing.B) {
	f := populated(b)
	for i := 0; b.Loop(); i++ {
		if _, err := f.Store.Overwrite(ctx, f.OverwriteByID(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverwriteByEmailSerial is the same with A found by email and
// B by a custom field.
func BenchmarkOverwriteByEmailSerial(b *testing.B) {
	f := populated(b)
	for i := 0; b.Loop(); i++ {
		if _, err := f.Store.Overwrite(ctx, f.OverwriteByEmailAndField(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverwrite32Writers overwrites existing relations of a
// populated store from 32 goroutines, through the group commit.
func BenchmarkOverwrite32Writers(b *testing.B) {
	f := populated(b)
	run32(b, f, func(i int) relgraph.RelationRequest {
		return f.OverwriteByID(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))
	})
}

// BenchmarkOverwriteByEmail32Writers is the 32-writer overwrite with A
// found by email and B by a custom field, the platform's usual
// matching: each match walks an index with a cursor inside the batch's
// transaction.
func BenchmarkOverwriteByEmail32Writers(b *testing.B) {
	f := populated(b)
	run32(b, f, func(i int) relgraph.RelationRequest {
		return f.OverwriteByEmailAndField(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))
	})
}

// BenchmarkCreate32Writers is the 32-writer overwrite on a store with
// profiles and no relations yet: pairs come from a million, so nearly
// every call creates its relation (and writes its reverse edge).
func BenchmarkCreate32Writers(b *testing.B) {
	f := fixture(b, 1000, 1000)
	run32(b, f, func(i int) relgraph.RelationRequest {
		return f.OverwriteByID(Scatter(i), Scatter(i*7), int64(i))
	})
}

// BenchmarkCreate32WritersSequential is Create32Writers with A and B
// walked in order instead of scattered: consecutive writes share pages,
// which flatters every engine. It is here to show what group commit
// gains when writes have locality, not as relgraph's number.
func BenchmarkCreate32WritersSequential(b *testing.B) {
	f := fixture(b, 1000, 1000)
	run32(b, f, func(i int) relgraph.RelationRequest {
		return f.OverwriteByID(i, 7*i, int64(i))
	})
}

// run32 runs req(i) for increasing i from 32 goroutines and reports
// what the group commit did.
func run32(b *testing.B, f *Fixture, req func(i int) relgraph.RelationRequest) {
	var n atomic.Int64
	engine := f.Engine
	pagesBefore := engine.PageWrites()
	before := f.Store.Stats()
	syncs0, syncTime0 := logSyncs(before)
	b.SetParallelism((32 + 1) / 2) // × GOMAXPROCS(2) = 32 goroutines on 2 cores
	b.ResetTimer()
	cpu := ProcessCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Store.Overwrite(ctx, req(int(n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((ProcessCPU()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
	st := f.Store.Stats()
	commits := float64(st.Commits - before.Commits)
	b.ReportMetric(float64(st.Requests-before.Requests)/commits, "writes/commit")
	b.ReportMetric(float64(st.CommitTime-before.CommitTime)/float64(st.BatchTime-before.BatchTime), "commit-share")
	b.ReportMetric(float64((st.CommitTime-before.CommitTime).Microseconds())/commits, "µs/commit")
	b.ReportMetric(float64(st.TopRefills-before.TopRefills)/float64(b.N), "refills/op")
	b.ReportMetric(float64(engine.PageWrites()-pagesBefore)/commits, "pages/commit")
	if syncs, syncTime := logSyncs(st); syncs > syncs0 {
		b.ReportMetric(1e6*(syncTime-syncTime0)/float64(syncs-syncs0), "µs/log-sync")
	}
}

// logSyncs is how many fdatasyncs of the log st reports, and their
// time in seconds (0, 0 on an engine without a log).
func logSyncs(st relgraph.Stats) (uint64, float64) {
	for _, m := range st.Engine {
		if m.Name == wal.SyncSecondsMetric && m.Histogram != nil {
			return m.Histogram.Count, m.Histogram.Sum
		}
	}
	return 0, 0
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
			err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
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
				got, err := f.Store.Counter(ctx, 3, loc)
				if err != nil || got.Total != int64(c.n) {
					b.Fatalf("counter %+v %v", got, err)
				}
			}
		})
	}
}

// BenchmarkTopDemotion is the worst case of top lists: an A profile with
// 100,000 relations whose current leader is demoted to the bottom by
// every call, so every N+1 = 11 calls one refills the list by reading
// all 100,000 relations. Compare ns/op with BenchmarkOverwriteSerial.
func BenchmarkTopDemotion(b *testing.B) {
	f := fixture(b, 1, 100000)
	for start := 0; start < 100000; start += 10000 {
		err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
			for j := start; j < start+10000; j++ {
				if _, err := tx.Overwrite(f.OverwriteByID(0, j, int64(j))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	a := relgraph.Locator{ProfileID: f.A[0].String()}
	before := f.Store.Stats().TopRefills
	for i := 0; b.Loop(); i++ {
		c, err := f.Store.Counter(ctx, 3, a)
		if err != nil {
			b.Fatal(err)
		}
		leader := c.Props["donate"].Top[0].ProfileB
		_, err = f.Store.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3, A: a,
			B: relgraph.Locator{ProfileID: leader.String()}, Weights: map[string]any{"donate": -1 - i}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Store.Stats().TopRefills-before)/float64(b.N), "refills/op")
}

// BenchmarkImport imports profiles with email, phone, two custom fields
// and tags, in durable commits of each batch size; ns/op is per profile.
func BenchmarkImport(b *testing.B) {
	engines := []struct {
		name string
		open func(path string, opts *relgraph.Options) (*relgraph.Store, *wal.Engine, error)
	}{{"log", Open}, {"bbolt", OpenBbolt}}
	for _, batch := range []int{1000, 10000} {
		for _, fill := range []float64{0, 1} {
			b.Run(fmt.Sprintf("batch=%d/engine=bbolt-floor/fill=%g", batch, fill), func(b *testing.B) {
				recordLen, err := PersonRecordLen(b.TempDir(), b.N)
				if err != nil {
					b.Fatal(err)
				}
				took, err := ImportFloor(filepath.Join(b.TempDir(), "floor.db"), b.N, batch, recordLen, fill)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/took.Seconds(), "profiles/s")
			})
		}
		for _, eng := range engines {
			for _, inFlight := range []int{1, 2} {
				b.Run(fmt.Sprintf("batch=%d/engine=%s/inflight=%d", batch, eng.name, inFlight), func(b *testing.B) {
					s, _, err := eng.open(filepath.Join(b.TempDir(), "import.db"), nil)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					if err := Schema(s); err != nil {
						b.Fatal(err)
					}
					before := s.Stats()
					b.ResetTimer()
					if err := ImportPeople(s, b.N, batch, inFlight); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
					// Where the committer's time went: busy is the share of
					// the wall time it spent in import batches, commit-share
					// the part of that in bbolt's commit (fsync included).
					st := s.Stats()
					batchTime, commitTime := st.BatchTime-before.BatchTime, st.CommitTime-before.CommitTime
					b.ReportMetric(float64(batchTime)/float64(b.Elapsed()), "busy")
					b.ReportMetric(float64(commitTime)/float64(batchTime), "commit-share")
					b.ReportMetric(float64(commitTime.Milliseconds())/float64(st.Commits-before.Commits), "ms/commit")
				})
			}
		}
	}
}

// pageWrites is how many pages db's commits have written so far.
func pageWrites(db *bbolt.DB) int64 {
	st := db.Stats()
	return st.TxStats.GetWrite()
}

// BenchmarkSustained runs Overwrite32Writers' workload for SUSTAINED
// (default 30s) and logs the rate of every second, with the log's
// overlay and checkpoint progress: does the rate hold while checkpoints
// run? (relbench -sustained draws it.)
func BenchmarkSustained(b *testing.B) {
	d := 30 * time.Second
	if v := os.Getenv("SUSTAINED"); v != "" {
		d, _ = time.ParseDuration(v)
	}
	f := populated(b)
	var n, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(n.Add(1))
				if _, err := f.Store.Overwrite(ctx, f.OverwriteByID(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	start := time.Now()
	last := int64(0)
	for t := time.NewTicker(time.Second); time.Since(start) < d; <-t.C {
		cur := done.Load()
		st := f.Engine.Stats()
		fmt.Fprintf(os.Stderr, "%4.0fs %7d ops/s  overlay %5.1f MiB  logged %d applied %d\n", time.Since(start).Seconds(), cur-last, float64(st.OverlayBytes)/(1<<20), st.Logged, st.Applied)
		last = cur
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(done.Load())/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkRelationsPage is relations/get: the first page of 100 of an
// A profile with 1,000 relations, read through the library.
func BenchmarkRelationsPage(b *testing.B) {
	f := fixture(b, 1, 1000)
	err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
		for j := range 1000 {
			if _, err := tx.Attach(f.OverwriteByID(0, j, int64(j))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	q := relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: f.A[0].String()}, Limit: 100}
	b.Run("Relations", func(b *testing.B) {
		for b.Loop() {
			p, err := f.Store.Relations(ctx, q)
			if err != nil || len(p.Items) != 100 {
				b.Fatalf("page of %d: %v", len(p.Items), err)
			}
		}
	})
	b.Run("ScanRelations", func(b *testing.B) {
		for b.Loop() {
			n, sum := 0, int64(0)
			_, _, err := f.Store.ScanRelations(ctx, q, func(v *relgraph.RelationView) error {
				like, _ := v.Int("user_like")
				donate, _ := v.Int("donate")
				online, _ := v.Bool("is_online")
				sum += like + donate
				if online {
					sum++
				}
				n++
				return nil
			})
			if err != nil || n != 100 || sum == 0 {
				b.Fatalf("page of %d (sum %d): %v", n, sum, err)
			}
		}
	})
}

// BenchmarkReversePage compares a page of 100 read from either side: the
// forward list of an A with 1,000 relations (ScanRelations), and the
// reverse list of a B with 1,000 relations (ScanReverse), reading the
// same properties of each, in one run.
func BenchmarkReversePage(b *testing.B) {
	f := fixture(b, 1000, 1000)
	err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
		for j := range 1000 {
			if _, err := tx.Attach(f.OverwriteByID(0, j, int64(j))); err != nil { // A0 → every B
				return err
			}
			if j > 0 {
				if _, err := tx.Attach(f.OverwriteByID(j, 0, int64(j))); err != nil { // every A → B0
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	read := func(n *int, sum *int64) func(v *relgraph.RelationView) error {
		return func(v *relgraph.RelationView) error {
			like, _ := v.Int("user_like")
			*sum += like
			*n++
			return nil
		}
	}
	b.Run("Forward", func(b *testing.B) {
		q := relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: f.A[0].String()}, Limit: 100}
		for b.Loop() {
			n, sum := 0, int64(0)
			if _, _, err := f.Store.ScanRelations(ctx, q, read(&n, &sum)); err != nil || n != 100 {
				b.Fatalf("page of %d: %v", n, err)
			}
		}
	})
	b.Run("Reverse", func(b *testing.B) {
		q := relgraph.ReverseQuery{RelationType: 3, B: relgraph.Locator{ProfileID: f.B[0].String()}, Limit: 100}
		for b.Loop() {
			n, sum := 0, int64(0)
			if _, _, err := f.Store.ScanReverse(ctx, q, read(&n, &sum)); err != nil || n != 100 {
				b.Fatalf("page of %d: %v", n, err)
			}
		}
	})
	b.Run("ReverseWithCount", func(b *testing.B) {
		q := relgraph.ReverseQuery{RelationType: 3, B: relgraph.Locator{ProfileID: f.B[0].String()}, Limit: 100, Count: true}
		for b.Loop() {
			n, sum := 0, int64(0)
			if total, _, err := f.Store.ScanReverse(ctx, q, read(&n, &sum)); err != nil || n != 100 || total != 1000 {
				b.Fatalf("page of %d of %d: %v", n, total, err)
			}
		}
	})
}

// BenchmarkFeedOverwrite32Writers is Overwrite32Writers with the change
// feed off, on, and on with retention trimming it in the background
// (kept to 10,000 changes), side by side in one run:
//
//	for i in 1 2 3; do go test -run '^$' -bench FeedOverwrite32Writers -benchtime 2s -benchmem .; done
//
// (a loop, not -count 3, which runs each sub-benchmark three times in a
// row: the loop alternates them, so drift on a shared machine falls on
// all three alike).
func BenchmarkFeedOverwrite32Writers(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  relgraph.FeedConfig
	}{
		{"feed=off", relgraph.FeedConfig{}},
		{"feed=on", relgraph.FeedConfig{On: true}},
		{"feed=on,max=10000", relgraph.FeedConfig{On: true, MaxChanges: 10000}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := populated(b)
			if err := f.Store.SetChangeFeed(ctx, c.cfg); err != nil {
				b.Fatal(err)
			}
			run32(b, f, func(i int) relgraph.RelationRequest {
				return f.OverwriteByID(Scatter(i), Scatter(i*7)%PopulatedB, int64(i))
			})
			info, err := f.Store.FeedInfo(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if c.cfg.On && info.Newest < uint64(b.N) {
				b.Fatalf("%d overwrites wrote %d changes", b.N, info.Newest)
			}
		})
	}
}

// BenchmarkFeedRead reads a feed of 100,000 relation changes (each an
// overwrite of a relation with three properties, before and after)
// from its start: by pages of 1,000 (ReadChanges), through the
// blocking iterator (Changes) a consumer uses, and as the HTTP stream
// (GET /relgraph/v1/changes?follow=false over 127.0.0.1, every line
// decoded as a client would). Reported per change.
//
//	go test -run '^$' -bench FeedRead -benchmem .
func BenchmarkFeedRead(b *testing.B) {
	const n = 100_000
	f := fixture(b, 1000, 1000)
	if err := f.Store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 1000 {
		err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
			for i := start; i < start+1000; i++ {
				if _, err := tx.Overwrite(f.OverwriteByID(Scatter(i), Scatter(i*7), int64(i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ReadChanges", func(b *testing.B) {
		for b.Loop() {
			got := 0
			for since := uint64(0); ; {
				page, err := f.Store.ReadChanges(ctx, since, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got += len(page)
				since = page[len(page)-1].Seq
			}
			if got != n {
				b.Fatalf("read %d changes of %d", got, n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "changes/s")
	})
	b.Run("Changes", func(b *testing.B) {
		for b.Loop() {
			got := 0
			for c, err := range f.Store.Changes(ctx, 0) {
				if err != nil {
					b.Fatal(err)
				}
				got++
				if c.Seq == n {
					break
				}
			}
			if got != n {
				b.Fatalf("read %d changes of %d", got, n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "changes/s")
	})
	b.Run("HTTP", func(b *testing.B) {
		srv := httptest.NewServer(benchHandler(f))
		defer srv.Close()
		for b.Loop() {
			req, _ := http.NewRequest("GET", srv.URL+api.ChangesPath+"?since=0&follow=false", nil)
			req.Header.Set("Authorization", "Bearer bench")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%v %v", resp, err)
			}
			got := 0
			dec := json.NewDecoder(resp.Body)
			for {
				var c api.ChangeJSON
				if err := dec.Decode(&c); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				got++
			}
			resp.Body.Close()
			if got != n {
				b.Fatalf("read %d changes of %d", got, n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "changes/s")
	})
}
