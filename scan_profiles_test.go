package relgraph

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanProfilesPagesByID: ScanProfiles starts after the id it is
// given, in id order, stops on ErrStopScan without an error, passes on
// any other, and refuses an unknown database.
func TestScanProfilesPagesByID(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	var ids []ProfileID
	for i := range 5 {
		id, _, err := s.ImportProfile(ctx, 1, Locator{Email: string(rune('a'+i)) + "@x.io"}, ProfileData{})
		must(t, err)
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b ProfileID) int { return strings.Compare(a.String(), b.String()) })
	scan := func(after ProfileID, stopAt int) []ProfileID {
		t.Helper()
		var got []ProfileID
		must(t, s.ScanProfiles(ctx, 1, after, func(p *Profile) error {
			got = append(got, p.ID)
			if len(got) == stopAt {
				return ErrStopScan
			}
			return nil
		}))
		return got
	}
	if got := scan(ProfileID{}, 0); !slices.Equal(got, ids) {
		t.Fatalf("all: %v, want %v", got, ids)
	}
	if got := scan(ids[1], 0); !slices.Equal(got, ids[2:]) {
		t.Fatalf("after the second: %v", got)
	}
	if got := scan(ids[0], 2); !slices.Equal(got, ids[1:3]) {
		t.Fatalf("two after the first: %v", got)
	}
	if got := scan(ids[4], 0); len(got) != 0 {
		t.Fatalf("after the last: %v", got)
	}
	boom := errors.New("boom")
	if err := s.ScanProfiles(ctx, 1, ProfileID{}, func(*Profile) error { return boom }); err != boom {
		t.Fatalf("a callback's error: %v", err)
	}
	wantCode(t, s.ScanProfiles(ctx, 77, ProfileID{}, func(*Profile) error { return nil }), 404)
}

// TestDatabaseDescriptionAndTags: a database's description and
// ui_tags are checked, stored, and read back after a reopen.
func TestDatabaseDescriptionAndTags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.db")
	s, err := Open(path, nil)
	must(t, err)
	for _, bad := range []Database{
		{ID: 1, UITags: []string{"a", "a"}},
		{ID: 1, UITags: []string{""}},
		{ID: 1, UITags: []string{strings.Repeat("x", MaxNameLen+1)}},
		{ID: 1, UITags: make([]string, MaxUITags+1)},
		{ID: 1, Description: strings.Repeat("x", MaxDescriptionBytes+1)},
		{ID: 1, Description: "\xff"},
	} {
		wantCode(t, s.PutDatabase(ctx, bad), 400)
	}
	must(t, s.PutDatabase(ctx, Database{ID: 1, Name: "customers", Description: "B2C customers", UITags: []string{"b2c", "eu"}}))
	// An empty list is no list: applying it again changes nothing.
	must(t, s.PutDatabase(ctx, Database{ID: 2, UITags: []string{}}))
	must(t, s.Close())
	s, err = Open(path, nil)
	must(t, err)
	defer s.Close()
	d, err := s.Database(1)
	must(t, err)
	if d.Description != "B2C customers" || !slices.Equal(d.UITags, []string{"b2c", "eu"}) {
		t.Fatalf("after reopen: %+v", d)
	}
	if d2, _ := s.Database(2); d2.UITags != nil {
		t.Fatalf("an empty ui_tags list: %#v", d2.UITags)
	}
	d.UITags[0] = "changed"
	if again, _ := s.Database(1); again.UITags[0] != "b2c" {
		t.Fatal("Database returns the schema's own slice")
	}
}
