package relgraph

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"pgregory.net/rapid"
)

func TestImportGetUpdateDelete(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	id, created, err := s.ImportProfile(ctx, 1, Locator{Email: " Ann@Example.COM "}, ProfileData{
		Phones:        &[]string{"+1 (555) 123-4567"},
		Fields:        map[string]any{"crm_id": 123420, "city": " Paris ", "interests": []string{"a", " b ", "", "a"}, "birthday": time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC), "vip": true, "score": 1.5},
		Subscriptions: []Subscription{{ResourceID: 7, Channel: ChannelEmail, Email: "ann@example.com", Status: StatusSubscribed}},
	})
	must(t, err)
	if !created {
		t.Fatal("first import did not create")
	}
	p, err := s.GetProfile(ctx, 1, Locator{Matching: ModeEmailProfile, Email: "ann@example.com"})
	must(t, err)
	if p.ID != id || p.Email != "ann@example.com" || p.Phones[0] != "+15551234567" {
		t.Fatalf("got %+v", p)
	}
	if p.Fields["crm_id"] != int64(123420) || p.Fields["city"] != "Paris" || p.Fields["vip"] != true || p.Fields["score"] != 1.5 {
		t.Fatalf("fields %+v", p.Fields)
	}
	if tags := p.Fields["interests"].([]string); len(tags) != 2 || tags[0] != "a" || tags[1] != "b" {
		t.Fatalf("tags %q", tags)
	}
	if !p.Fields["birthday"].(time.Time).Equal(time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("birthday %v", p.Fields["birthday"])
	}
	// Every mode finds her.
	for _, loc := range []Locator{
		{ProfileID: id.String()},
		{ProfileID: "  "[:0] + id.String()},
		{Email: "ANN@example.com"},
		{Matching: ModeEmailSub, Email: "ann@example.com", ResourceID: 7},
		{Phone: "+15551234567"},
		{Phone: "001 555 123 4567"},
		{Matching: ModeEmailPhone, Phone: "+1 555 123 4567"},
		{Matching: ModeEmailPhone, Email: "ann@example.com", Phone: "+15551234567"},
		{Matching: ModeCustom, FieldName: "crm_id", FieldValue: int64(123420)},
		{FieldName: "interests", FieldValue: []string{"b", "a"}},
		{FieldName: "birthday", FieldValue: time.Date(2001, 2, 3, 1, 0, 0, 0, time.FixedZone("", 3600))},
	} {
		got, err := s.Match(ctx, 1, loc)
		if err != nil || got != id {
			t.Errorf("%+v: got %v, %v", loc, got, err)
		}
	}
	// Update: null unsets, unsent kept.
	_, err = s.UpdateProfile(ctx, 1, idLoc(id), ProfileData{Fields: map[string]any{"city": nil}, Email: Ptr("")})
	must(t, err)
	p, err = s.GetProfile(ctx, 1, idLoc(id))
	must(t, err)
	if _, has := p.Fields["city"]; has || p.Email != "" || p.Fields["crm_id"] != int64(123420) {
		t.Fatalf("after update %+v", p)
	}
	_, err = s.Match(ctx, 1, Locator{Matching: ModeEmailProfile, Email: "ann@example.com"})
	wantCode(t, err, 404)
	// email still finds her through the subscription.
	if got, err := s.Match(ctx, 1, Locator{Email: "ann@example.com"}); err != nil || got != id {
		t.Fatalf("email via subscription: %v %v", got, err)
	}
	_, err = s.UpdateProfile(ctx, 1, Locator{Email: "nobody@example.com"}, ProfileData{})
	wantCode(t, err, 404)
	if _, err := s.DeleteProfile(ctx, 1, idLoc(id)); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetProfile(ctx, 1, idLoc(id))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestMatchErrors(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	for _, email := range []string{"a@x.io", "b@x.io"} {
		_, _, err := s.ImportProfile(ctx, 1, Locator{Email: email}, ProfileData{Phones: &[]string{"+7 900 000 00 00"}, Fields: map[string]any{"interests": []string{"x", "y"}}})
		must(t, err)
	}
	_, err := s.Match(ctx, 1, Locator{Phone: "+79000000000"})
	if !errors.Is(err, ErrAmbiguous) || !errors.Is(err, ErrConflict) || codeOf(err) != 409 {
		t.Fatalf("ambiguous phone: %v", err)
	}
	_, err = s.Match(ctx, 1, Locator{FieldName: "interests", FieldValue: []string{"x"}})
	wantCode(t, err, 409)
	cases := []struct {
		loc  Locator
		code int
	}{
		{Locator{}, 400},
		{Locator{Matching: "fax", Email: "a@x.io"}, 400},
		{Locator{Matching: ModeEmail}, 400},
		{Locator{Email: "not-an-email"}, 400},
		{Locator{ProfileID: "xyz"}, 400},
		{Locator{ProfileID: "000000000000000000000000"}, 400},
		{Locator{FieldName: "nope", FieldValue: "1"}, 400},
		{Locator{FieldName: "notes", FieldValue: "1"}, 400},
		{Locator{FieldName: "crm_id", FieldValue: 1.5}, 400},
		{Locator{FieldName: "crm_id", FieldValue: "12"}, 400}, // text is the wire's business
		{Locator{Email: "c@x.io"}, 404},
		{Locator{ProfileID: "5d63dbdb439e7306b596c5d0"}, 404},
		{Locator{FieldName: "interests", FieldValue: []string{"x", "z"}}, 404},
	}
	for _, c := range cases {
		_, err := s.Match(ctx, 1, c.loc)
		if codeOf(err) != c.code {
			t.Errorf("%+v: got %v, want %d", c.loc, err, c.code)
		}
	}
	_, err = s.Match(ctx, 9, Locator{Email: "a@x.io"})
	wantCode(t, err, 404)
}

// TestProfileIDMatchingOnlyUpdates: as the platform's Matching page
// says, profile_id matching is "only on update": an import by an unknown
// id creates nothing (404); RestoreProfile creates with the id, and an
// import by it then updates.
func TestProfileIDMatchingOnlyUpdates(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	before := dump(t, s)
	_, _, err := s.ImportProfile(ctx, 1, Locator{ProfileID: "5D63DBDB439E7306B596C5D0"}, ProfileData{})
	wantCode(t, err, 404)
	_, err = s.ImportBatch(ctx, 1, []ImportItem{{Locator: Locator{Matching: ModeProfileID, ProfileID: "5d63dbdb439e7306b596c5d0"}}})
	must(t, err)
	if dump(t, s) != before {
		t.Fatal("an import by an unknown profile_id wrote")
	}
	id := mustID(t, "5d63dbdb439e7306b596c5d0")
	created, err := s.RestoreProfile(ctx, 1, id, ProfileData{})
	must(t, err)
	if !created {
		t.Fatal("RestoreProfile did not create")
	}
	// Importing by the id is an update; one that changes nothing writes
	// nothing.
	before = dump(t, s)
	got, created, err := s.ImportProfile(ctx, 1, Locator{ProfileID: "5D63DBDB439E7306B596C5D0"}, ProfileData{})
	must(t, err)
	if created || got != id || dump(t, s) != before {
		t.Fatal("no-op import wrote")
	}
	res, err := s.ImportBatch(ctx, 1, []ImportItem{{Locator: Locator{ProfileID: "000000000000000000000007"}, KeepID: true}})
	must(t, err)
	if res[0].Err != nil || !res[0].Created || res[0].ID.String() != "000000000000000000000007" {
		t.Fatalf("a batch item with KeepID: %+v", res[0])
	}
}

func TestGeneratedIDsIncrease(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	var last ProfileID
	for i := 0; i < 50; i++ {
		id, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
		must(t, err)
		if id.String() <= last.String() {
			t.Fatalf("id %s after %s", id, last)
		}
		last = id
	}
}

// TestProfileEncodingIsCanonical: equal profiles give equal bytes, however
// Go orders the map (found by the fault-injection test).
func TestProfileEncodingIsCanonical(t *testing.T) {
	p := &Profile{Fields: map[string]any{}}
	for i := 0; i < 20; i++ {
		p.Fields[fmt.Sprintf("f%02d", i)] = int64(i)
	}
	first, err := encodeProfile(p)
	must(t, err)
	for i := 0; i < 50; i++ {
		again, err := encodeProfile(p.clone())
		must(t, err)
		if !bytes.Equal(first, again) {
			t.Fatal("the same profile encoded to different bytes")
		}
	}
	bad := &record.Profile{Fields: []record.Field{{Name: "b", Value: record.Value{Kind: record.KindInt}}, {Name: "a", Value: record.Value{Kind: record.KindInt}}}}
	b, err := record.Encode(bad)
	must(t, err)
	if _, err := decodeProfile(1, ProfileID{1}, record.Seal(b)); codeOf(err) != 500 {
		t.Fatalf("unsorted fields decoded: %v", err)
	}
}

// A profile's index entries built with the zero id and completed by
// withProfileID are those built with its id: every index key ends in
// the id, but the email's, whose value it is. Import relies on it to
// build a new profile's entries before the transaction gives it an id.
func TestWithProfileIDCompletesEntries(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	d, err := s.schema.Load().db(1)
	must(t, err)
	texts := []string{"", "a", "ab", "a\x00", "\xff", "Zürich"}
	rapid.Check(t, func(t *rapid.T) {
		var p Profile
		p.DatabaseID = 1
		if rapid.Bool().Draw(t, "hasEmail") {
			p.Email = rapid.SampledFrom(texts[1:]).Draw(t, "email") + "@x.io"
		}
		p.Phones = rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"+15550100001", "+447911123456", "+4930123456"}), 0, 3, rapid.ID).Draw(t, "phones")
		p.Fields = map[string]any{}
		if rapid.Bool().Draw(t, "city") {
			p.Fields["city"] = rapid.SampledFrom(texts).Draw(t, "cityValue")
		}
		if rapid.Bool().Draw(t, "crm") {
			p.Fields["crm_id"] = rapid.Int64().Draw(t, "crmValue")
		}
		if rapid.Bool().Draw(t, "notes") {
			p.Fields["notes"] = "unindexed"
		}
		if tags := rapid.SliceOfDistinct(rapid.SampledFrom(texts[1:]), rapid.ID).Draw(t, "tags"); len(tags) > 0 {
			slices.Sort(tags)
			p.Fields["interests"] = tags
		}
		for i := range rapid.IntRange(0, 3).Draw(t, "subs") {
			sub := Subscription{ResourceID: uint32(rapid.IntRange(1, 3).Draw(t, fmt.Sprint("res", i))), Channel: ChannelEmail,
				Email: rapid.SampledFrom(texts[1:]).Draw(t, fmt.Sprint("subEmail", i)) + "@x.io"}
			if rapid.Bool().Draw(t, fmt.Sprint("subFields", i)) {
				sub.Fields = map[string]string{"plan": rapid.SampledFrom(texts).Draw(t, fmt.Sprint("plan", i))}
			}
			p.Subscriptions = append(p.Subscriptions, sub)
		}
		idless := indexEntries(d, &p)
		before := slices.Clone(idless)
		for i := range before {
			before[i].Key, before[i].Value = bytes.Clone(before[i].Key), bytes.Clone(before[i].Value)
		}
		p.ID = ProfileID(rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "id"))
		got, want := withProfileID(idless, p.ID), indexEntries(d, &p)
		// Map order varies between the two calls: compare them sorted.
		byKey := func(a, b index.Entry) int {
			return cmp.Or(cmp.Compare(a.Keyspace, b.Keyspace), bytes.Compare(a.Key, b.Key), bytes.Compare(a.Value, b.Value))
		}
		slices.SortFunc(got, byKey)
		slices.SortFunc(want, byKey)
		if len(got) != len(want) {
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Keyspace != want[i].Keyspace || !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
				t.Fatalf("entry %d: %s %x → %x, want %s %x → %x", i, got[i].Keyspace, got[i].Key, got[i].Value, want[i].Keyspace, want[i].Key, want[i].Value)
			}
		}
		for i := range before {
			if !bytes.Equal(before[i].Key, idless[i].Key) || !bytes.Equal(before[i].Value, idless[i].Value) {
				t.Fatalf("withProfileID changed its argument's entry %d", i)
			}
		}
	})
}

// TestImportChecksTheEmailItStores: a match by email that finds no
// profile lets the import skip reading that email's index entry again,
// but only for that email: a profile whose data carries another email,
// already taken, is refused, alone and within a batch, in every mode
// that reads the email index.
func TestImportChecksTheEmailItStores(t *testing.T) {
	for _, mode := range []Mode{ModeEmail, ModeEmailProfile, ModeEmailPhone} {
		t.Run(string(mode), func(t *testing.T) {
			s := openTest(t)
			testSchema(t, s)
			owner, _, err := s.ImportProfile(ctx, 1, Locator{Email: "taken@x.io"}, ProfileData{})
			must(t, err)
			loc := func(email string) Locator { return Locator{Matching: mode, Email: email} }

			_, _, err = s.ImportProfile(ctx, 1, loc("new@x.io"), ProfileData{Email: Ptr("Taken@x.io")})
			wantCode(t, err, 409)
			if _, err := s.Match(ctx, 1, Locator{Matching: ModeEmailProfile, Email: "new@x.io"}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the refused import stored something: %v", err)
			}

			id, created, err := s.ImportProfile(ctx, 1, loc(" NEW2@x.io"), ProfileData{})
			must(t, err)
			if got, err := s.Match(ctx, 1, Locator{Matching: ModeEmailProfile, Email: "new2@x.io"}); !created || err != nil || got != id {
				t.Fatalf("created %v, found %v, %v; want %v", created, got, err, id)
			}

			res, err := s.ImportBatch(ctx, 1, []ImportItem{
				{Locator: loc("c@x.io")},
				{Locator: loc("d@x.io"), Data: ProfileData{Email: Ptr("c@x.io")}},
				{Locator: loc("e@x.io"), Data: ProfileData{Email: Ptr("taken@x.io")}},
				{Locator: loc("f@x.io")},
			})
			must(t, err)
			if res[0].Err != nil || res[3].Err != nil || !res[0].Created || !res[3].Created {
				t.Fatalf("batch: the plain creations failed: %+v", res)
			}
			for _, i := range []int{1, 2} {
				if codeOf(res[i].Err) != 409 {
					t.Fatalf("batch item %d: %v, want a conflict", i, res[i].Err)
				}
			}
			if got, err := s.Match(ctx, 1, Locator{Matching: ModeEmailProfile, Email: "taken@x.io"}); err != nil || got != owner {
				t.Fatalf("taken@x.io now finds %v, %v; want %v", got, err, owner)
			}
		})
	}
}
