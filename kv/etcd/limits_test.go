package etcd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// TestEtcdLimits runs on a cluster with etcd's default limit of 128
// operations per transaction: a group-commit batch too big for one
// transaction is committed request by request, and an operation that
// cannot fit alone fails with an error naming the limit, changing
// nothing.
func TestEtcdLimits(t *testing.T) {
	c := startClusterWith(t, 1, 128)
	e, err := Dial(c.clients, newPrefix(), index.All)
	if err != nil {
		t.Fatal(err)
	}
	counted := &tooLargeCounter{Engine: e}
	s, err := relgraph.OpenEngine(counted, &relgraph.Options{MaxBatch: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	schema(t, s)
	a, _, err := s.ImportProfile(ctx, 1, relgraph.Locator{}, relgraph.ProfileData{})
	if err != nil {
		t.Fatal(err)
	}
	// 90 B profiles, imported 30 at a time (~90 writes each: fits).
	var res []relgraph.ImportResult
	for range 3 {
		part, err := s.ImportBatch(ctx, 2, make([]relgraph.ImportItem, 30))
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, part...)
	}
	// 90 concurrent overwrites share batches far over 128 writes.
	var wg sync.WaitGroup
	errs := make([]error, len(res))
	for i, r := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: a.String()},
				B: relgraph.Locator{ProfileID: r.ID.String()}, Weights: map[string]any{"user_like": 1, "donate": i}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("overwrite %d: %v", i, err)
		}
	}
	st := s.Stats()
	cnt, err := s.Counter(ctx, 3, relgraph.Locator{ProfileID: a.String()})
	if err != nil || cnt.Total != int64(len(res)) {
		t.Fatalf("counter %+v %v", cnt, err)
	}
	check(t, s)
	before, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Deleting A needs a write per relation and more: over 128 alone.
	_, err = s.DeleteProfile(ctx, 1, relgraph.Locator{ProfileID: a.String()})
	if !errors.Is(err, relgraph.ErrStorage) || !strings.Contains(err.Error(), "max-txn-ops") {
		t.Fatalf("an operation over the limit: %v", err)
	}
	if after, _ := s.Digest(ctx); after != before {
		t.Fatal("the failed delete changed the store")
	}
	if counted.n.Load() < 2 { // the delete is one; at least one batch must have been split
		t.Fatalf("only %d commits were over the limit: the batch splitting was not exercised", counted.n.Load())
	}
	t.Logf("%d writes in %d commits; %d commits over the limit were split", st.Requests, st.Commits, counted.n.Load())
}

// tooLargeCounter counts commits the engine refused as too large.
type tooLargeCounter struct {
	kv.Engine
	n atomic.Int64
}

func (c *tooLargeCounter) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	t, err := c.Engine.Begin(ctx, writable)
	return &countedTxn{Txn: t, c: c}, err
}

type countedTxn struct {
	kv.Txn
	c *tooLargeCounter
}

func (t *countedTxn) Commit() error {
	err := t.Txn.Commit()
	if errors.Is(err, kv.ErrTooLarge) {
		t.c.n.Add(1)
	}
	return err
}
