package relgraph_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/relgraph/relgraph"
)

// openExample opens a store in a temporary directory with databases 1
// (customers) and 2 (streamers) and relation type 3 (likes); done
// closes and removes it.
func openExample() (s *relgraph.Store, done func()) {
	dir, err := os.MkdirTemp("", "relgraph-example")
	if err != nil {
		log.Fatal(err)
	}
	s, err = relgraph.Open(filepath.Join(dir, "example.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	err = s.ApplySchema(context.Background(), []relgraph.Database{
		{ID: 1, Name: "customers", Fields: []relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt}}},
		{ID: 2, Name: "streamers", Fields: []relgraph.Field{{Name: "nickname", Type: relgraph.FieldString}}},
	}, []relgraph.RelationType{{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	return s, func() { s.Close(); os.RemoveAll(dir) }
}

// Open a store file, declare its schema, import two profiles and relate
// them: the whole of relgraph in a few calls. Every call that can wait
// takes a context; every write is one durable transaction.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "relgraph-example")
	defer os.RemoveAll(dir)

	s, err := relgraph.Open(filepath.Join(dir, "relgraph.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	err = s.ApplySchema(ctx, []relgraph.Database{
		{ID: 1, Name: "customers", Fields: []relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt}}},
		{ID: 2, Name: "streamers"},
	}, []relgraph.RelationType{{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
	}}})
	if err != nil {
		log.Fatal(err)
	}

	// Import is an upsert by locator: the second call finds Ann.
	_, created, _ := s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"},
		relgraph.ProfileData{Fields: map[string]any{"CRM_ID": 42}})
	fmt.Println("ann created:", created)
	_, created, _ = s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	fmt.Println("ann created again:", created)
	s.ImportProfile(ctx, 2, relgraph.Locator{Email: "bob@example.com"}, relgraph.ProfileData{})

	res, err := s.Overwrite(ctx, relgraph.RelationRequest{
		RelationType: 3,
		A:            relgraph.Locator{Email: "ann@example.com"},
		B:            relgraph.Locator{Email: "bob@example.com"},
		Weights:      map[string]any{"user_like": 2},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("relation created:", res.Created)
	// Output:
	// ann created: true
	// ann created again: false
	// relation created: true
}

// Overwrite replaces a relation's properties: a property the request
// leaves out is removed, and a second overwrite updates the relation
// instead of creating another. A locator that finds nobody is
// ErrNotFound, and nothing is written.
func ExampleStore_Overwrite() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	s.ImportProfile(ctx, 2, relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: "nickname", FieldValue: "bob_plays"}, relgraph.ProfileData{})

	req := relgraph.RelationRequest{
		RelationType: 3,
		A:            relgraph.Locator{Email: "ann@example.com"},
		B:            relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: "nickname", FieldValue: "bob_plays"},
		Weights:      map[string]any{"user_like": 2, "donate": 343},
	}
	first, _ := s.Overwrite(ctx, req)
	req.Weights = map[string]any{"user_like": 5}
	second, _ := s.Overwrite(ctx, req)
	fmt.Println("created:", first.Created, second.Created)

	req.A = relgraph.Locator{Email: "nobody@example.com"}
	_, err := s.Overwrite(ctx, req)
	fmt.Println("not found:", errors.Is(err, relgraph.ErrNotFound))
	// Output:
	// created: true false
	// not found: true
}

// Counter reads what the relations of profile A add up to, kept as the
// relations are written: the number of relations, sums, top lists.
func ExampleStore_Counter() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	for i, nick := range []string{"bob", "cy", "dee"} {
		s.ImportProfile(ctx, 2, relgraph.Locator{Email: nick + "@example.com"}, relgraph.ProfileData{})
		s.Overwrite(ctx, relgraph.RelationRequest{
			RelationType: 3,
			A:            relgraph.Locator{Email: "ann@example.com"},
			B:            relgraph.Locator{Email: nick + "@example.com"},
			Weights:      map[string]any{"user_like": i + 1, "donate": 100 * (i + 1)},
		})
	}
	c, err := s.Counter(ctx, 3, relgraph.Locator{Email: "ann@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("relations:", c.Total)
	fmt.Println("user_like sum:", c.Props["user_like"].Sum)
	for _, e := range c.Props["donate"].Top {
		fmt.Println("donate:", e.Value)
	}
	// Output:
	// relations: 3
	// user_like sum: 6
	// donate: 300
	// donate: 200
	// donate: 100
}

// Update runs several operations in one transaction: all of them are
// committed, or, when the function returns an error, none.
func ExampleStore_Update() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	s.ImportProfile(ctx, 2, relgraph.Locator{Email: "bob@example.com"}, relgraph.ProfileData{})
	like := relgraph.RelationRequest{
		RelationType: 3,
		A:            relgraph.Locator{Email: "ann@example.com"},
		B:            relgraph.Locator{Email: "bob@example.com"},
		Weights:      map[string]any{"user_like": 1},
	}

	err := s.Update(ctx, func(tx *relgraph.Tx) error {
		if _, err := tx.Overwrite(like); err != nil {
			return err
		}
		// A second profile imported in the same transaction, then a
		// failure: the relation and the profile are both rolled back.
		if _, _, err := tx.ImportProfile(2, relgraph.Locator{Email: "cy@example.com"}, relgraph.ProfileData{}); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	fmt.Println("update:", err)
	c, err := s.Counter(ctx, 3, relgraph.Locator{Email: "ann@example.com"})
	fmt.Println("relations after the failed update:", c.Total, err)
	_, err = s.Match(ctx, 2, relgraph.Locator{Email: "cy@example.com"})
	fmt.Println("cy:", errors.Is(err, relgraph.ErrNotFound))

	err = s.Update(ctx, func(tx *relgraph.Tx) error {
		_, err := tx.Overwrite(like)
		return err
	})
	c, _ = s.Counter(ctx, 3, relgraph.Locator{Email: "ann@example.com"})
	fmt.Println("relations after the committed update:", c.Total, err)
	// Output:
	// update: changed my mind
	// relations after the failed update: 0 <nil>
	// cy: true
	// relations after the committed update: 1 <nil>
}

// ScanRelations reads a page of A's relations in place: each relation's
// properties through typed accessors, with no map per relation.
func ExampleStore_ScanRelations() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	for i, nick := range []string{"bob", "cy", "dee"} {
		s.ImportProfile(ctx, 2, relgraph.Locator{Email: nick + "@example.com"}, relgraph.ProfileData{})
		s.Overwrite(ctx, relgraph.RelationRequest{
			RelationType: 3,
			A:            relgraph.Locator{Email: "ann@example.com"},
			B:            relgraph.Locator{Email: nick + "@example.com"},
			Weights:      map[string]any{"user_like": i + 1},
		})
	}
	likes := int64(0)
	total, next, err := s.ScanRelations(ctx, relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{Email: "ann@example.com"}, Limit: 2},
		func(v *relgraph.RelationView) error {
			n, _ := v.Int("user_like")
			_, hasDonate := v.Int("donate")
			likes += n
			fmt.Println("user_like", n, "donate set:", hasDonate)
			return nil
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("page sum", likes, "of", total, "relations; more:", next != "")
	// Output:
	// user_like 1 donate set: false
	// user_like 2 donate set: false
	// page sum 3 of 3 relations; more: true
}

// ScanReverse lists a relation type from its B side: who relates to a
// profile, by A's id, a page at a time.
func ExampleStore_ScanReverse() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	s.ImportProfile(ctx, 2, relgraph.Locator{Email: "bob@example.com"}, relgraph.ProfileData{})
	for i, fan := range []string{"ann", "cy", "dee"} {
		s.ImportProfile(ctx, 1, relgraph.Locator{Email: fan + "@example.com"}, relgraph.ProfileData{})
		s.Overwrite(ctx, relgraph.RelationRequest{
			RelationType: 3,
			A:            relgraph.Locator{Email: fan + "@example.com"},
			B:            relgraph.Locator{Email: "bob@example.com"},
			Weights:      map[string]any{"user_like": i + 1},
		})
	}
	q := relgraph.ReverseQuery{RelationType: 3, B: relgraph.Locator{Email: "bob@example.com"}, Limit: 2, Count: true}
	likes := int64(0)
	for page := 1; ; page++ {
		total, next, err := s.ScanReverse(ctx, q, func(v *relgraph.RelationView) error {
			n, _ := v.Int("user_like")
			likes += n
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("page", page, "of", total, "fans; more:", next != "")
		if next == "" {
			break
		}
		q.Cursor = next
	}
	fmt.Println("likes bob received:", likes)
	// Output:
	// page 1 of 3 fans; more: true
	// page 2 of 3 fans; more: false
	// likes bob received: 6
}

// Changes follows the change feed: every write, in commit order, each
// once; a consumer keeps the last Seq it processed and resumes after it.
// The iterator waits for new changes until its context ends.
func ExampleStore_Changes() {
	s, done := openExample()
	defer done()
	ctx := context.Background()
	if err := s.SetChangeFeed(ctx, relgraph.FeedConfig{On: true, MaxAge: 7 * 24 * time.Hour}); err != nil {
		log.Fatal(err)
	}
	s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{})
	s.ImportProfile(ctx, 2, relgraph.Locator{Email: "bob@example.com"}, relgraph.ProfileData{})
	req := relgraph.RelationRequest{RelationType: 3,
		A: relgraph.Locator{Email: "ann@example.com"}, B: relgraph.Locator{Email: "bob@example.com"},
		Weights: map[string]any{"user_like": 1}}
	s.Overwrite(ctx, req)
	s.Modify(ctx, req)

	follow, stop := context.WithCancel(ctx)
	defer stop()
	var last uint64 // a consumer's saved position: 0 reads from the first change
	for c, err := range s.Changes(follow, last) {
		if follow.Err() != nil {
			break // stopped: the iterator's last yield is the context's error
		}
		if err != nil {
			log.Fatal(err) // ErrChangesDropped: retention passed our position
		}
		switch {
		case c.Relation != nil:
			fmt.Println(c.Seq, c.Kind, c.Op, "user_like:", c.Relation.After.Weights["user_like"])
		default:
			fmt.Println(c.Seq, c.Kind, c.Op, c.Profile.After.Email)
		}
		last = c.Seq
		if last == 4 {
			stop() // a real consumer would go on, waiting for the next write
		}
	}
	fmt.Println("resume after", last)
	// Output:
	// 1 profile.create import ann@example.com
	// 2 profile.create import bob@example.com
	// 3 relation.create overwrite user_like: 1
	// 4 relation.update strengthen user_like: 2
	// resume after 4
}
