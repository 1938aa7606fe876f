package etcd

import (
	"fmt"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// Retention on a cluster whose --max-txn-ops (256) is below the
// trimmer's batch of 1,000 deletes: refused, it goes on in smaller
// batches until the feed is within its bound (found by review: it
// retried the same refused batch every second, for ever). At etcd's
// default of 128 it still cannot: the scan of the feed alone compares
// about 130 keys (docs/spec.md §9).
func TestFeedRetentionWithinTxnOps(t *testing.T) {
	c := startClusterWith(t, 1, 256)
	s := openStore(t, c.clients, newPrefix())
	defer s.Close()
	schema(t, s)
	if err := s.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, _, err := s.ImportProfile(ctx, 2, relgraph.Locator{Email: fmt.Sprintf("p%d@x.io", i)}, relgraph.ProfileData{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetChangeFeed(ctx, relgraph.FeedConfig{On: true, MaxChanges: 10}); err != nil {
		t.Fatal(err)
	}
	// Not a timing bound: a generous wait for a trimmer that works.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		info, err := s.FeedInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Newest-info.Oldest+1 <= 10 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute with max_changes 10: changes %d to %d kept", info.Oldest, info.Newest)
		}
	}
}
