// Command quickstart opens a store file, declares a schema, imports
// profiles, matches them, and overwrites a relation between two of them.
//
//	go run ./examples/quickstart [-db quickstart.db]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/relgraph/relgraph"
)

func main() {
	path := flag.String("db", "quickstart.db", "store file")
	flag.Parse()
	s, err := relgraph.Open(*path, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	check(s.PutDatabase(ctx, relgraph.Database{ID: 1, Name: "customers", Fields: []relgraph.Field{
		{Name: "CRM_ID", Type: relgraph.FieldInt},
		{Name: "interests", Type: relgraph.FieldTags},
	}}))
	check(s.PutDatabase(ctx, relgraph.Database{ID: 2, Name: "streamers", Fields: []relgraph.Field{
		{Name: "nickname", Type: relgraph.FieldString},
	}}))
	check(s.PutRelationType(ctx, relgraph.RelationType{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
	}}))

	// Import is an upsert by locator: run the program twice and the
	// profiles are found, not duplicated.
	ann, created, err := s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{
		Phones: &[]string{"+1 (555) 010-0001"},
		Fields: map[string]any{"CRM_ID": 42, "interests": []string{"music", "games"}},
	})
	check(err)
	fmt.Printf("ann: %s (created: %v)\n", ann, created)
	bob, _, err := s.ImportProfile(ctx, 2, relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: "nickname", FieldValue: "bob_plays"}, relgraph.ProfileData{})
	check(err)

	// Matching by any index.
	for _, loc := range []relgraph.Locator{
		{Phone: "15550100001"},
		{Matching: relgraph.ModeCustom, FieldName: "interests", FieldValue: "games"},
		{Matching: relgraph.ModeCustom, FieldName: "CRM_ID", FieldValue: "42"},
	} {
		id, err := s.Match(ctx, 1, loc)
		check(err)
		fmt.Printf("matched %+v -> %s\n", loc, id)
	}

	res, err := s.Overwrite(ctx, relgraph.RelationRequest{
		RelationType: 3,
		A:            relgraph.Locator{Email: "ann@example.com"},
		B:            relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: "nickname", FieldValue: "bob_plays"},
		Weights:      map[string]any{"user_like": 2, "donate": 343},
	})
	check(err)
	fmt.Printf("overwrite: A=%s B=%s created=%v (bob is %s)\n", res.ProfileA, res.ProfileB, res.Created, bob)

	c, err := s.Counter(ctx, 3, relgraph.Locator{ProfileID: ann.String()})
	check(err)
	fmt.Printf("counter: total=%d user_like sum=%v donate top=%v\n", c.Total, c.Props["user_like"].Sum, c.Props["donate"].Top)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
