// Command quickstart opens a store file, declares a schema, imports
// profiles, matches them, and overwrites a relation between two of them.
//
//	go run ./examples/quickstart [-db quickstart.db]
//
// Run it twice: the second run finds the profiles and the relation
// the first one made.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/relgraph/relgraph"
)

func main() {
	path := flag.String("db", "quickstart.db", "store file")
	flag.Parse()
	if err := run(*path, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run is the walk-through, on the store file at path.
func run(path string, out io.Writer) error {
	s, err := relgraph.Open(path, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()

	// The schema, in one transaction; applying it again changes nothing.
	err = s.ApplySchema(ctx, []relgraph.Database{
		{ID: 1, Name: "customers", Fields: []relgraph.Field{
			{Name: "CRM_ID", Type: relgraph.FieldInt},
			{Name: "interests", Type: relgraph.FieldTags},
		}},
		{ID: 2, Name: "streamers", Fields: []relgraph.Field{{Name: "nickname", Type: relgraph.FieldString}}},
	}, []relgraph.RelationType{{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
	}}})
	if err != nil {
		return err
	}

	// Import is an upsert by locator: run the program twice and the
	// profiles are found, not duplicated.
	ann, created, err := s.ImportProfile(ctx, 1, relgraph.Locator{Email: "ann@example.com"}, relgraph.ProfileData{
		Phones: &[]string{"+1 (555) 010-0001"},
		Fields: map[string]any{"CRM_ID": 42, "interests": []string{"music", "games"}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ann: %s (created: %v)\n", ann, created)
	bob := relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: "nickname", FieldValue: "bob_plays"}
	bobID, _, err := s.ImportProfile(ctx, 2, bob, relgraph.ProfileData{})
	if err != nil {
		return err
	}

	// Matching by any index. A phone is read by libphonenumber; without
	// Options.PhoneRegion it needs its country code.
	for _, loc := range []relgraph.Locator{
		{Phone: "+1 555 010 0001"},
		{Matching: relgraph.ModeCustom, FieldName: "interests", FieldValue: []string{"games"}},
		{Matching: relgraph.ModeCustom, FieldName: "CRM_ID", FieldValue: 42},
	} {
		id, err := s.Match(ctx, 1, loc)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "matched %+v -> %s\n", loc, id)
	}

	res, err := s.Overwrite(ctx, relgraph.RelationRequest{
		RelationType: 3,
		A:            relgraph.Locator{Email: "ann@example.com"},
		B:            bob,
		Weights:      map[string]any{"user_like": 2, "donate": 343},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "overwrite: A=%s B=%s created=%v (bob is %s)\n", res.ProfileA, res.ProfileB, res.Created, bobID)

	c, err := s.Counter(ctx, 3, relgraph.Locator{ProfileID: ann.String()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "counter: total=%d user_like sum=%v donate top=%v\n", c.Total, c.Props["user_like"].Sum, c.Props["donate"].Top)
	return nil
}
