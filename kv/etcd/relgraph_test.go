package etcd

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
)

func openStore(t *testing.T, endpoints []string, prefix string) *relgraph.Store {
	t.Helper()
	e, err := Dial(endpoints, prefix, index.All)
	if err != nil {
		t.Fatal(err)
	}
	s, err := relgraph.OpenEngine(e, &relgraph.Options{MaxBatch: 16})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func schema(t *testing.T, s *relgraph.Store) {
	t.Helper()
	for _, err := range []error{
		s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "n", Type: relgraph.FieldInt}}}),
		s.PutDatabase(ctx, relgraph.Database{ID: 2}),
		s.PutRelationType(ctx, relgraph.RelationType{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
			{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
			{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 3}}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func check(t *testing.T, s *relgraph.Store) {
	t.Helper()
	problems, err := s.Check(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", err, problems)
	}
}

// TestRelgraphOnThreeMembers runs relgraph's operations on a 3-member
// cluster: two stores, each talking to a different member, strengthen
// the same relations concurrently; conflicts are retried, and the totals
// equal the acknowledged deltas. Then the leader is killed mid-run.
func TestRelgraphOnThreeMembers(t *testing.T) {
	c := startCluster(t, 3)
	prefix := newPrefix()
	s1 := openStore(t, c.clients[:1], prefix)
	defer s1.Close()
	schema(t, s1)
	a, _, err := s1.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{Fields: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	var bs []relgraph.ProfileID
	for i := 0; i < 3; i++ {
		b, _, err := s1.ImportProfile(ctx, 2, relgraph.Locator{}, relgraph.ProfileData{})
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	res, err := s1.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{Email: "a@x.io"},
		B: relgraph.Locator{ProfileID: bs[0].String()}, Weights: map[string]any{"donate": 7}})
	if err != nil || !res.Created || res.ProfileA != a {
		t.Fatalf("overwrite: %+v %v", res, err)
	}
	check(t, s1)

	s2 := openStore(t, c.clients[1:2], prefix) // opened after the schema: it loads it
	defer s2.Close()
	var acked [3]atomic.Int64
	var conflicts atomic.Int64
	strengthen := func(s *relgraph.Store, n int) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					k := (g + i) % 3
					_, err := s.Modify(ctx, relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: a.String()},
						B: relgraph.Locator{ProfileID: bs[k].String()}, Weights: map[string]any{"user_like": 1}})
					switch {
					case err == nil:
						acked[k].Add(1)
					case errors.Is(err, relgraph.ErrStorage):
						conflicts.Add(1) // not acknowledged: not counted
					default:
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	var both sync.WaitGroup
	for _, s := range []*relgraph.Store{s1, s2} {
		both.Add(1)
		go func() { defer both.Done(); strengthen(s, 25) }()
	}
	both.Wait()
	verify := func(s *relgraph.Store) {
		t.Helper()
		page, err := s.Relations(ctx, relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: a.String()}})
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, it := range page.Items {
			for k, b := range bs {
				if it.ProfileB == b {
					got, _ := it.Weights["user_like"].(int64)
					if got != acked[k].Load() {
						t.Fatalf("relation %d: user_like %d, acknowledged %d", k, got, acked[k].Load())
					}
					total += got
				}
			}
		}
		cnt, err := s.Counter(ctx, 3, relgraph.Locator{ProfileID: a.String()})
		if err != nil || cnt.Props["user_like"].Sum != total {
			t.Fatalf("counter %+v, want sum %d (%v)", cnt, total, err)
		}
		check(t, s)
	}
	verify(s2)
	t.Logf("two stores on two members: %d+%d+%d strengthens acknowledged, %d gave up after retries",
		acked[0].Load(), acked[1].Load(), acked[2].Load(), conflicts.Load())

	// Kill the leader while a store on all three members writes.
	s3 := openStore(t, c.clients, prefix)
	defer s3.Close()
	done := make(chan struct{})
	go func() { defer close(done); strengthen(s3, 30) }()
	time.Sleep(200 * time.Millisecond)
	for i, m := range c.members {
		if m.Server.Leader() == m.Server.MemberID() {
			m.Close()
			c.members = append(c.members[:i], c.members[i+1:]...) // closed: not again at cleanup
			t.Logf("killed the leader %s", m.Config().Name)
			break
		}
	}
	<-done
	verify(s3)
}
