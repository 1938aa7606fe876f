package relgraph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReverseListAgreesWithTheForwardOne: after random relation writes,
// every B's reverse list, walked in random page sizes, is exactly the A
// profiles whose forward list holds B, in A's id order, with the same
// properties and times; Total counts them.
func TestReverseListAgreesWithTheForwardOne(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	rng := rand.New(rand.NewPCG(3, 4))
	var as, bs []ProfileID
	for i := range 12 {
		id, _, err := s.ImportProfile(ctx, 1, Locator{Email: fmt.Sprintf("a%d@x.io", i)}, ProfileData{})
		must(t, err)
		as = append(as, id)
	}
	for i := range 6 {
		id, _, err := s.ImportProfile(ctx, 2, Locator{Email: fmt.Sprintf("b%d@x.io", i)}, ProfileData{})
		must(t, err)
		bs = append(bs, id)
	}
	for range 120 {
		req := RelationRequest{RelationType: 3, A: idLoc(as[rng.IntN(len(as))]), B: idLoc(bs[rng.IntN(len(bs))])}
		if rng.IntN(4) == 0 {
			s.Detach(ctx, req)
			continue
		}
		req.Weights = map[string]any{"user_like": int64(rng.IntN(9)), "note": "n"}
		_, err := s.Overwrite(ctx, req)
		must(t, err)
	}
	want := map[ProfileID][]string{} // B → "A weights created updated", by A
	must(t, s.EachRelation(ctx, 3, func(v *RelationView) error {
		want[v.ProfileB] = append(want[v.ProfileB], fmt.Sprint(v.ProfileA, v.Weights(), v.Created, v.Updated))
		return nil
	}))
	for _, b := range bs {
		var got []string
		cursor := ""
		limit := 1 + rng.IntN(4)
		for page := 0; ; page++ {
			total, next, err := s.ScanReverse(ctx, ReverseQuery{RelationType: 3, B: idLoc(b), Limit: limit, Cursor: cursor, Count: page == 0}, func(v *RelationView) error {
				got = append(got, fmt.Sprint(v.ProfileA, v.Weights(), v.Created, v.Updated))
				return nil
			})
			must(t, err)
			if page == 0 && total != int64(len(want[b])) {
				t.Fatalf("B %s: total %d, want %d", b, total, len(want[b]))
			}
			if page > 0 && total != -1 {
				t.Fatalf("a total without Count: %d", total)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		w := want[b]
		slices.Sort(w) // the forward walk is by A then B: by A for one B
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Fatalf("B %s:\n got  %v\n want %v", b, got, w)
		}
	}
	_, _, err := s.ScanReverse(ctx, ReverseQuery{RelationType: 3, B: Locator{Email: "nobody@x.io"}}, func(*RelationView) error { return nil })
	wantCode(t, err, 404)
	_, _, err = s.ScanReverse(ctx, ReverseQuery{RelationType: 3, B: idLoc(bs[0]), Cursor: "zz"}, func(*RelationView) error { return nil })
	wantCode(t, err, 400)
	_, _, err = s.ScanReverse(ctx, ReverseQuery{RelationType: 3, B: idLoc(bs[0]), Limit: MaxRelationsLimit + 1}, func(*RelationView) error { return nil })
	wantCode(t, err, 400)
}

// TestReverseTotalsAgreeWithCountersUnderWrites: while writers attach
// and detach, every snapshot's reverse totals (over every B) add up to
// its counters' totals (over every A): both count the same relations.
func TestReverseTotalsAgreeWithCountersUnderWrites(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	var as, bs []ProfileID
	for i := range 8 {
		id, _, err := s.ImportProfile(ctx, 1, Locator{Email: fmt.Sprintf("a%d@x.io", i)}, ProfileData{})
		must(t, err)
		as = append(as, id)
		id, _, err = s.ImportProfile(ctx, 2, Locator{Email: fmt.Sprintf("b%d@x.io", i)}, ProfileData{})
		must(t, err)
		bs = append(bs, id)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := RelationRequest{RelationType: 3, A: idLoc(as[rng.IntN(len(as))]), B: idLoc(bs[rng.IntN(len(bs))])}
				if rng.IntN(3) == 0 {
					s.Detach(ctx, req)
				} else {
					s.Attach(ctx, req)
				}
				written.Add(1)
			}
		}()
	}
	seen := int64(0) // the most relations a snapshot held: the test compares something
	// At least 50 snapshots, and on until the writers made 300 writes:
	// a fast reader could otherwise finish before the first commit.
	for i := 0; i < 50 || written.Load() < 300; i++ {
		must(t, s.View(ctx, func(tx *Tx) error {
			var forward, reverse int64
			for _, a := range as {
				c, err := tx.loadCounter(tx.schema.rels[3], a)
				if err != nil {
					return err
				}
				forward += c.Total
			}
			for _, b := range bs {
				total, _, err := tx.ScanReverse(ReverseQuery{RelationType: 3, B: idLoc(b), Count: true, Limit: MaxRelationsLimit}, func(*RelationView) error { return nil })
				if err != nil {
					return err
				}
				reverse += total
			}
			if forward != reverse {
				t.Errorf("a snapshot's counters total %d, its reverse lists %d", forward, reverse)
			}
			seen = max(seen, forward)
			return nil
		}))
	}
	close(stop)
	wg.Wait()
	if seen == 0 {
		t.Fatal("no snapshot held a relation: the writers wrote nothing")
	}
}

// A walk of B's reverse list whose callback overwrites each relation
// (writing the relations and counters of A, never B's reverse list) in
// a transaction that wrote before the walk began, on the engine users
// get, with the change feed on: the walk calls back once for every
// relation, since writes to other keyspaces leave an engine's cursor
// where it was (kv.Tx.Cursor).
func TestScanReverseWhileWritingInTheWalk(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	b, _, err := s.ImportProfile(ctx, 2, Locator{Email: "b@x.io"}, ProfileData{})
	must(t, err)
	const n = 600
	var as []ProfileID
	for i := range n {
		id, _, err := s.ImportProfile(ctx, 1, Locator{Email: fmt.Sprintf("a%d@x.io", i)}, ProfileData{})
		must(t, err)
		as = append(as, id)
		_, err = s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(id), B: idLoc(b), Weights: map[string]any{"user_like": int64(1)}})
		must(t, err)
	}
	seen := 0
	must(t, s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Overwrite(RelationRequest{RelationType: 3, A: idLoc(as[0]), B: idLoc(b), Weights: map[string]any{"note": "first"}}); err != nil {
			return err
		}
		_, _, err := tx.ScanReverse(ReverseQuery{RelationType: 3, B: idLoc(b), Limit: 1000}, func(v *RelationView) error {
			seen++
			_, err := tx.Overwrite(RelationRequest{RelationType: 3, A: idLoc(v.ProfileA), B: idLoc(b), Weights: map[string]any{"user_like": int64(2)}})
			return err
		})
		return err
	}))
	if seen != n {
		t.Fatalf("the walk of B's %d relations called back %d times", n, seen)
	}
}
