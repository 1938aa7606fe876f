package etcd

import (
	"testing"

	"github.com/relgraph/relgraph"
)

// Two stores on one prefix, as two processes would be: what one
// changes in the schema or the feed's configuration, the other writes
// and reads under from its next transaction on, without reopening
// (found by review: a store already open when another turned the feed
// on wrote without changes until it was reopened).
func TestSchemaChangesReachAnOpenStore(t *testing.T) {
	s1, s2 := twoStores(t)
	a, _, err := s2.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{})
	if err != nil {
		t.Fatal(err)
	}

	// The feed, turned on by s1, records s2's next write.
	if err := s1.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	b, _, err := s2.ImportProfile(ctx, 2, relgraph.Locator{Email: "b@x.io"}, relgraph.ProfileData{})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := s1.ReadChanges(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Profile == nil || changes[0].Profile.ID != b {
		t.Fatalf("after s1 turned the feed on and s2 imported %v, the feed holds %+v", b, changes)
	}
	if info, err := s2.FeedInfo(ctx); err != nil || !info.Config.On {
		t.Fatalf("s2 sees the feed as %+v, %v; s1 turned it on", info, err)
	}

	// A relation type s1 declares, s2 writes and reads at once.
	if err := s1.PutRelationType(ctx, relgraph.RelationType{ID: 4, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "score", Type: relgraph.PropInt}}}); err != nil {
		t.Fatal(err)
	}
	req := relgraph.RelationRequest{RelationType: 4, A: relgraph.Locator{ProfileID: a.String()}, B: relgraph.Locator{ProfileID: b.String()},
		Weights: map[string]any{"score": 7}}
	if _, err := s2.Overwrite(ctx, req); err != nil {
		t.Fatalf("s2 overwrites under the type s1 declared: %v", err)
	}
	page, err := s2.Relations(ctx, relgraph.RelationsQuery{RelationType: 4, A: relgraph.Locator{ProfileID: a.String()}})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("s2 lists type 4 of %v: %+v, %v", a, page, err)
	}

	// And the feed turned off by s1 stops s2's changes.
	if err := s1.SetChangeFeed(ctx, relgraph.FeedConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.ImportProfile(ctx, 2, relgraph.Locator{Email: "c@x.io"}, relgraph.ProfileData{}); err != nil {
		t.Fatal(err)
	}
	if info, err := s1.FeedInfo(ctx); err != nil || info.Config.On || info.Newest != info.Oldest-1 {
		t.Fatalf("feed off, s2 wrote: %+v, %v", info, err)
	}
	check(t, s1)
}
