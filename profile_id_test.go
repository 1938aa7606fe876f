package relgraph

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"pgregory.net/rapid"
)

// nextIDs returns the id generator's state: the seconds and sequence of
// the last id it made (zero before the first).
func nextIDs(t fataler, s *Store) (secs uint32, seq uint64) {
	t.Helper()
	err := s.View(ctx, func(tx *Tx) error {
		v, err := tx.kv.Get(index.Meta, index.IDGenKey)
		if v != nil && err == nil {
			secs, seq, err = decodeIDGen(v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return secs, seq
}

// TestGeneratedIDsNeverOverwrite plants profiles at the ids the
// generator is about to make (in the database it creates in and in
// another one), moves the clock backwards, freezes it and sends it far
// ahead, and checks that no created profile ever lands on a stored one:
// every profile the model holds is still there with its own email.
func TestGeneratedIDsNeverOverwrite(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	rapid.Check(t, func(t *rapid.T) {
		runs++
		s, err := Open(filepath.Join(dir, fmt.Sprintf("ids%d.db", runs)), &Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		must(t, s.PutDatabase(ctx, Database{ID: 1, Name: "one"}))
		must(t, s.PutDatabase(ctx, Database{ID: 2, Name: "two"}))
		// The store's background goroutines read the clock too (the
		// feed's trim): the test goroutine, the only writer, changes it
		// under nowMu and reads it without.
		var nowMu sync.Mutex
		now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
		s.clock = func() time.Time { nowMu.Lock(); defer nowMu.Unlock(); return now }
		setNow := func(to time.Time) { nowMu.Lock(); now = to; nowMu.Unlock() }

		model := map[uint32]map[ProfileID]string{1: {}, 2: {}} // db → id → email
		n := 0
		nextEmail := func() string { n++; return fmt.Sprintf("p%d@x.io", n) }
		planted := 0
		t.Repeat(map[string]func(*rapid.T){
			"create": func(t *rapid.T) {
				db := rapid.Uint32Range(1, 2).Draw(t, "db")
				email := nextEmail()
				id, created, err := s.ImportProfile(ctx, db, Locator{}, ProfileData{Email: &email})
				if err != nil {
					t.Fatal(err)
				}
				if !created {
					t.Fatalf("an empty locator did not create")
				}
				for d := range model {
					if _, taken := model[d][id]; taken {
						t.Fatalf("new id %s is already the id of a profile in database %d", id, d)
					}
				}
				model[db][id] = email
			},
			"plant": func(t *rapid.T) {
				db := rapid.Uint32Range(1, 2).Draw(t, "db")
				secs, seq := nextIDs(t, s)
				var id ProfileID
				switch rapid.IntRange(0, 2).Draw(t, "second") {
				case 0:
					binary.BigEndian.PutUint32(id[:4], secs)
				case 1:
					binary.BigEndian.PutUint32(id[:4], uint32(now.Unix()))
				case 2:
					binary.BigEndian.PutUint32(id[:4], uint32(now.Unix())+uint32(rapid.IntRange(1, 3).Draw(t, "ahead")))
				}
				binary.BigEndian.PutUint64(id[4:], seq+uint64(rapid.IntRange(1, 4).Draw(t, "after")))
				email := nextEmail()
				created, err := s.RestoreProfile(ctx, db, id, ProfileData{Email: &email})
				if err != nil {
					t.Fatal(err)
				}
				got := id
				_, existed := model[db][id]
				if got != id || created == existed {
					t.Fatalf("import at %s: got %s created=%v, the profile existed: %v", id, got, created, existed)
				}
				model[db][id] = email
				planted++
			},
			// One ImportBatch (a block of ids reserved ahead) creating
			// profiles and planting ids among the ones it is about to make,
			// in either database.
			"batch": func(t *rapid.T) {
				db := rapid.Uint32Range(1, 2).Draw(t, "db")
				secs, seq := nextIDs(t, s)
				if now.Unix() > int64(secs) && now.Unix() <= 1<<32-1 {
					secs = uint32(now.Unix())
				}
				var items []ImportItem
				var emails []string
				for i := range rapid.IntRange(2, 12).Draw(t, "n") {
					email := nextEmail()
					emails = append(emails, email)
					it := ImportItem{Data: ProfileData{Email: &email}}
					if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("plant%d", i)) == 0 {
						it.KeepID = true
						it.Locator.ProfileID = makeID(secs, seq+uint64(rapid.IntRange(1, 12).Draw(t, fmt.Sprintf("at%d", i)))).String()
					}
					items = append(items, it)
				}
				res, err := s.ImportBatch(ctx, db, items)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range res {
					if r.Err != nil {
						t.Fatalf("item %d: %v", i, r.Err)
					}
					_, existed := model[db][r.ID]
					if !items[i].KeepID {
						for d := range model {
							if _, taken := model[d][r.ID]; taken {
								t.Fatalf("item %d: new id %s is already the id of a profile in database %d", i, r.ID, d)
							}
						}
					} else if r.Created == existed {
						t.Fatalf("item %d at %s: created=%v, the profile existed: %v", i, r.ID, r.Created, existed)
					}
					model[db][r.ID] = emails[i]
				}
			},
			"clock": func(t *rapid.T) {
				switch rapid.IntRange(0, 3).Draw(t, "how") {
				case 0: // backwards
					setNow(now.Add(-time.Duration(rapid.IntRange(1, 100000).Draw(t, "back")) * time.Second))
				case 1: // a second on
					setNow(now.Add(time.Second))
				case 2: // far ahead, up to the end of 32-bit seconds and past it
					setNow(time.Unix(rapid.Int64Range(min(now.Unix(), 1<<32), 1<<32+10).Draw(t, "to"), 0))
				case 3: // frozen: nothing changes
				}
			},
			"": func(t *rapid.T) {
				for db, profiles := range model {
					for id, email := range profiles {
						p, err := s.GetProfile(ctx, db, Locator{ProfileID: id.String()})
						if err != nil {
							t.Fatalf("profile %s of database %d: %v", id, db, err)
						}
						if p.Email != email {
							t.Fatalf("profile %s of database %d holds %q, want %q: overwritten", id, db, p.Email, email)
						}
					}
					stored := 0
					must(t, s.EachProfile(ctx, db, func(*Profile) error { stored++; return nil }))
					if stored != len(profiles) {
						t.Fatalf("database %d holds %d profiles, want %d", db, stored, len(profiles))
					}
				}
			},
		})
		problems, err := s.Check(ctx)
		must(t, err)
		if len(problems) > 0 {
			t.Fatalf("check: %v", problems)
		}
	})
}
