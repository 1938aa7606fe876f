package relgraph

import (
	"path/filepath"
	"testing"
)

// TestPhoneRegionIsPartOfTheSchema: a database's phone region is
// stored with it, so a store opened without Options.PhoneRegion reads
// its local phones as they were written; a new database takes the
// store's region; a declaration without one keeps the declared one.
func TestPhoneRegionIsPartOfTheSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(path, &Options{PhoneRegion: "US"})
	must(t, err)
	must(t, s.PutDatabase(ctx, Database{ID: 1}))                    // takes US
	must(t, s.PutDatabase(ctx, Database{ID: 2, PhoneRegion: "DE"})) // its own
	wantCode(t, s.PutDatabase(ctx, Database{ID: 3, PhoneRegion: "XX"}), 400)
	id, _, err := s.ImportProfile(ctx, 1, Locator{Phone: "(617) 658-7472"}, ProfileData{})
	must(t, err)
	must(t, s.Close())

	s, err = Open(path, nil) // no region: the schema's
	must(t, err)
	defer s.Close()
	if d, _ := s.Database(1); d.PhoneRegion != "US" {
		t.Fatalf("database 1's region: %q", d.PhoneRegion)
	}
	got, err := s.Match(ctx, 1, Locator{Phone: "617 658 7472"})
	if err != nil || got != id {
		t.Fatalf("a local phone after reopening without a region: %v %v", got, err)
	}
	p, err := s.GetProfile(ctx, 1, Locator{ProfileID: id.String()})
	must(t, err)
	if p.Phones[0] != "+16176587472" {
		t.Fatalf("stored %v", p.Phones)
	}
	// Database 2 reads German numbers; database 1 still American ones.
	_, _, err = s.ImportProfile(ctx, 2, Locator{Phone: "030 1234567"}, ProfileData{})
	must(t, err)
	if r, _ := s.PhoneRegion(2); r != "DE" {
		t.Fatalf("PhoneRegion(2) = %q", r)
	}
	// A declaration without a region keeps the declared one.
	must(t, s.PutDatabase(ctx, Database{ID: 1, Name: "renamed"}))
	if d, _ := s.Database(1); d.PhoneRegion != "US" || d.Name != "renamed" {
		t.Fatalf("after a declaration without a region: %+v", d)
	}
	// A database with no region and a store with none: the country
	// code is needed, and the error says how to give a region.
	must(t, s.PutDatabase(ctx, Database{ID: 4}))
	_, _, err = s.ImportProfile(ctx, 4, Locator{Phone: "617 658 7472"}, ProfileData{})
	wantCode(t, err, 400)
	wantCode(t, s.CheckSubscription(4, Subscription{ResourceID: 1, Channel: ChannelSMS, Phone: "617 658 7472"}), 400)
	must(t, s.CheckSubscription(1, Subscription{ResourceID: 1, Channel: ChannelSMS, Phone: "617 658 7472"}))
}
