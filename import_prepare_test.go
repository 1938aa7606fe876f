package relgraph

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestImportPrepChangesNothing: ImportBatch normalizing ahead on other
// cores gives exactly what normalizing inside the transaction gives —
// the same results, errors word for word, and the same bytes in the
// store — for batches mixing new profiles, items that find existing
// ones, KeepID items, bad phones, emails, fields and locators.
func TestImportPrepChangesNothing(t *testing.T) {
	emails := []string{"a@x.io", "B@X.io", "c@x.io", "not-an-email", ""}
	phones := []string{"+15550100001", "(555) 010-0002", "+1 555 010 0003 ext. 4", "12", "+44 7911 123456", "0044 7911 123457"}
	fields := []map[string]any{nil, {"crm_id": 7}, {"crm_id": "seven"}, {"interests": []string{" b", "a", "a"}}, {"nope": 1},
		{"score": 1.5, "vip": true}, {"birthday": "2020-01-02"}, {"crm_id": FieldUpdate{Action: ActionIncr, Value: 1}}}
	item := func(t *rapid.T, label string) ImportItem {
		var it ImportItem
		if e := rapid.IntRange(-1, len(emails)-1).Draw(t, label+"email"); e >= 0 {
			it.Data.Email = Ptr(emails[e])
		}
		if n := rapid.IntRange(0, 2).Draw(t, label+"phones"); n > 0 {
			ps := rapid.SliceOfN(rapid.SampledFrom(phones), n, n).Draw(t, label+"phone")
			it.Data.Phones = &ps
		}
		it.Data.Fields = rapid.SampledFrom(fields).Draw(t, label+"fields")
		switch rapid.IntRange(0, 4).Draw(t, label+"locator") {
		case 1:
			it.Locator = Locator{Email: rapid.SampledFrom(emails).Draw(t, label+"locEmail")}
		case 2:
			it.Locator = Locator{Matching: ModePhone, Phone: rapid.SampledFrom(phones).Draw(t, label+"locPhone")}
		case 3:
			it.Locator = Locator{ProfileID: fmt.Sprintf("%024x", rapid.IntRange(1, 3).Draw(t, label+"id"))}
			it.KeepID = rapid.Bool().Draw(t, label+"keep")
		case 4:
			it.Locator = Locator{Matching: "no-such-mode", Email: "a@x.io"}
		}
		return it
	}
	checkPrepChangesNothing(t, "US", 3, 150, item)
}

// checkPrepChangesNothing runs batches of items drawn by item through
// ImportBatch on two stores with a frozen clock, one building new
// profiles ahead and one inside the transaction, and fails at the
// first difference: results, errors word for word, the stored bytes.
// It logs how many items succeeded and failed, to show what was drawn.
func checkPrepChangesNothing(t *testing.T, region string, maxRounds, maxItems int, item func(t *rapid.T, label string) ImportItem) {
	dir := t.TempDir()
	runs, succeeded, failed := 0, 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		runs++
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		open := func(name string, noPrep bool) *Store {
			s, err := Open(filepath.Join(dir, fmt.Sprintf("%s%d.db", name, runs)), &Options{NoSync: true, PhoneRegion: region})
			if err != nil {
				rt.Fatal(err)
			}
			s.clock = func() time.Time { return now }
			s.noImportPrep = noPrep
			testSchema(t, s)
			return s
		}
		ahead, inside := open("ahead", false), open("inside", true)
		defer ahead.Close()
		defer inside.Close()
		for round := range rapid.IntRange(1, maxRounds).Draw(rt, "rounds") {
			items := make([]ImportItem, rapid.IntRange(1, maxItems).Draw(rt, fmt.Sprintf("n%d", round)))
			for i := range items {
				items[i] = item(rt, fmt.Sprintf("%d.%d.", round, i))
			}
			got, errA := ahead.ImportBatch(ctx, 1, items)
			want, errB := inside.ImportBatch(ctx, 1, items)
			if fmt.Sprint(errA) != fmt.Sprint(errB) || len(got) != len(want) {
				rt.Fatalf("batch: %v / %v", errA, errB)
			}
			for i := range got {
				if got[i].ID != want[i].ID || got[i].Created != want[i].Created || fmt.Sprint(got[i].Err) != fmt.Sprint(want[i].Err) {
					rt.Fatalf("item %d %+v: built ahead %+v, inside %+v", i, items[i], got[i], want[i])
				}
				if got[i].Err == nil {
					succeeded++
				} else {
					failed++
				}
			}
		}
		if a, b := dump(rt, ahead), dump(rt, inside); a != b {
			rt.Fatalf("the stores differ:\nahead:\n%s\ninside:\n%s", a, b)
		}
	})
	t.Logf("%d items imported, %d refused, the same way both ways", succeeded, failed)
}

// A prepared item is used only for the database and phone region it
// was prepared for, in a transaction not before its time: after a
// schema change, with another region, or with the clock stepped back,
// the transaction builds the profile again.
func TestPreparedItemOnlyForItsSchema(t *testing.T) {
	d1, d2 := &Database{ID: 1}, &Database{ID: 1}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	items := []ImportItem{{Data: ProfileData{Email: Ptr("A@x.io")}}, {KeepID: true}}
	p := startImportPrep(d1, "US", now, items)
	defer p.finish()
	pi := p.item(0)
	later, earlier := now.Add(time.Millisecond), now.Add(-time.Millisecond)
	if !pi.usable(d1, "US", now) || !pi.usable(d1, "US", later) || pi.usable(d2, "US", now) || pi.usable(d1, "GB", now) || pi.usable(d1, "US", earlier) {
		t.Fatalf("usable: same %v, a later transaction %v, other schema %v, other region %v, a clock stepped back %v",
			pi.usable(d1, "US", now), pi.usable(d1, "US", later), pi.usable(d2, "US", now), pi.usable(d1, "GB", now), pi.usable(d1, "US", earlier))
	}
	if pi.err != nil || pi.profile.Email != "a@x.io" || !pi.profile.Created.Equal(now) || !pi.profile.ID.IsZero() {
		t.Fatalf("prepared %+v", pi)
	}
	if want, _ := encodeProfile(pi.profile); string(want) != string(pi.val) {
		t.Fatalf("prepared record %x, the profile encodes as %x", pi.val, want)
	}
	if p.item(1) != nil || (*preparedItem)(nil).usable(d1, "US", now) {
		t.Fatalf("a KeepID item was prepared")
	}
}

// finish before the workers reach every chunk: item answers nil rather
// than waiting for a chunk no worker will prepare (a wait would hang the
// test), and what it does answer is prepared whole.
func TestImportPrepFinishedEarly(t *testing.T) {
	items := make([]ImportItem, 100*prepChunk)
	for i := range items {
		items[i].Data.Email = Ptr(fmt.Sprintf("u%d@x.io", i))
	}
	p := startImportPrep(&Database{ID: 1}, "", time.Now(), items)
	<-p.ready[0] // one chunk in; how many more, the scheduler decides
	p.finish()
	prepared := 0
	for i := range items {
		pi := p.item(i)
		if pi == nil {
			continue
		}
		prepared++
		if pi.err != nil || pi.profile == nil || pi.profile.Email != *items[i].Data.Email || len(pi.val) == 0 || len(pi.entries) != 1 {
			t.Fatalf("item %d answered half prepared: %+v", i, pi)
		}
	}
	if prepared < prepChunk {
		t.Fatalf("%d items prepared, though chunk 0 was ready before finish", prepared)
	}
	t.Logf("%d of %d items prepared before finish", prepared, len(items))
}

// finish returns only once no worker reads the items any more: caught
// mid-chunk, the workers finish that chunk first (go test -race checks
// that the caller's writes after finish race with nothing).
func TestFinishWaitsForTheWorkers(t *testing.T) {
	items := make([]ImportItem, MaxImportBatch)
	for i := range items {
		items[i] = ImportItem{Data: ProfileData{Email: Ptr(fmt.Sprintf("u%d@x.io", i)), Phones: &[]string{"(555) 010-0001"}}}
	}
	p := startImportPrep(&Database{ID: 1}, "US", time.Now(), items)
	time.Sleep(2 * time.Millisecond) // let the workers get into a chunk
	p.finish()
	for k := range min(int(p.next.Load()), len(p.ready)) {
		select {
		case <-p.ready[k]:
		default:
			t.Fatalf("finish returned while chunk %d, taken by a worker, was still being prepared", k)
		}
	}
	for i := range items {
		items[i] = ImportItem{}
	}
}

// A panic while preparing (a bug) leaves the item to the transaction,
// which reports it as the call's error, instead of ending the process.
func TestPreparePanicLeavesTheItemUnprepared(t *testing.T) {
	p := startImportPrep(nil, "", time.Now(), []ImportItem{{Data: ProfileData{Email: Ptr("a@x.io")}}})
	defer p.finish()
	if pi := p.item(0); pi != nil {
		t.Fatalf("prepared without a database: %+v", pi)
	}
}
