package relgraph

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestImportPrepChangesNothingForLocators: ImportBatch with and without
// the prep, on what TestImportPrepChangesNothing does not draw:
// subscription locators
// (email_sub/phone_sub/push_sub with and without resource), custom and
// email_phone locators, subscriptions in data, tag add/delete and incr
// updates on new profiles, dates, case-different duplicate emails,
// batches crossing prepChunk. Same results, same bytes.
func TestImportPrepChangesNothingForLocators(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	tb := t
	okCount, errCount := 0, map[string]int{}
	defer func() { tb.Logf("ok %d, errors %v", okCount, errCount) }()
	rapid.Check(t, func(t *rapid.T) {
		runs++
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		open := func(name string, noPrep bool) *Store {
			s, err := Open(filepath.Join(dir, fmt.Sprintf("%s%d.db", name, runs)), &Options{NoSync: true, PhoneRegion: "GB"})
			if err != nil {
				t.Fatal(err)
			}
			s.clock = func() time.Time { return now }
			s.noImportPrep = noPrep
			testSchema(tb, s)
			return s
		}
		ahead, inside := open("ahead", false), open("inside", true)
		defer ahead.Close()
		defer inside.Close()
		emails := []string{"a@x.io", "A@X.IO", " a@x.io ", "b@x.io"}
		phones := []string{"+447911123456", "07911 123456", "+4407911123456", "+15550100001", "+80012345678", "+393123456789", "+390612345678"}
		fieldsets := []map[string]any{nil, {"crm_id": 1}, {"crm_id": FieldUpdate{Action: ActionIncr, Value: 2}},
			{"interests": FieldUpdate{Action: ActionAdd, Value: []string{"x", "y"}}}, {"interests": FieldUpdate{Action: ActionDelete, Value: []string{"x"}}},
			{"birthday": time.Date(2000, 1, 2, 3, 4, 5, 0, time.FixedZone("z", 3600))}, {"city": " Paris "}, {"crm_id": nil}}
		item := func(t *rapid.T, l string) ImportItem {
			var it ImportItem
			if rapid.Bool().Draw(t, l+"e") {
				it.Data.Email = Ptr(rapid.SampledFrom(emails).Draw(t, l+"email"))
			}
			if rapid.Bool().Draw(t, l+"p") {
				it.Data.Phones = &[]string{rapid.SampledFrom(phones).Draw(t, l+"phone")}
			}
			it.Data.Fields = rapid.SampledFrom(fieldsets).Draw(t, l+"fields")
			if rapid.IntRange(0, 3).Draw(t, l+"s") == 0 {
				it.Data.Subscriptions = []Subscription{{ResourceID: uint32(rapid.IntRange(1, 2).Draw(t, l+"res")), Channel: ChannelEmail, Email: rapid.SampledFrom(emails).Draw(t, l+"semail"), Status: SubStatus(rapid.IntRange(0, 2).Draw(t, l+"st"))}}
			}
			res := uint32(rapid.IntRange(0, 2).Draw(t, l+"lres"))
			switch rapid.IntRange(0, 7).Draw(t, l+"loc") {
			case 1:
				it.Locator = Locator{Matching: ModeEmailSub, Email: rapid.SampledFrom(emails).Draw(t, l+"le"), ResourceID: res}
			case 2:
				it.Locator = Locator{Matching: ModePhoneSub, Phone: rapid.SampledFrom(phones).Draw(t, l+"lp"), ResourceID: res}
			case 3:
				it.Locator = Locator{Matching: ModePushSub, Provider: "fcm", SubscriptionID: "s1", ResourceID: res}
			case 4:
				it.Locator = Locator{Matching: ModeCustom, FieldName: "crm_id", FieldValue: rapid.IntRange(1, 2).Draw(t, l+"cv")}
			case 5:
				it.Locator = Locator{Matching: ModeEmailPhone, Email: rapid.SampledFrom(emails).Draw(t, l+"le2"), Phone: rapid.SampledFrom(phones).Draw(t, l+"lp2")}
			case 6:
				it.Locator = Locator{Matching: ModeEmailProfile, Email: rapid.SampledFrom(emails).Draw(t, l+"le3")}
			case 7:
				it.Locator = Locator{Matching: ModeCustomSub, FieldName: "k", FieldValue: "v", ResourceID: res}
			}
			return it
		}
		for round := range rapid.IntRange(1, 2).Draw(t, "rounds") {
			items := make([]ImportItem, rapid.IntRange(1, 200).Draw(t, fmt.Sprintf("n%d", round)))
			for i := range items {
				items[i] = item(t, fmt.Sprintf("%d.%d.", round, i))
			}
			got, errA := ahead.ImportBatch(ctx, 1, items)
			want, errB := inside.ImportBatch(ctx, 1, items)
			if fmt.Sprint(errA) != fmt.Sprint(errB) || len(got) != len(want) {
				t.Fatalf("batch: %v / %v", errA, errB)
			}
			for i := range got {
				if got[i].Err == nil {
					okCount++
				} else {
					errCount[fmt.Sprint(got[i].Err)[:min(40, len(fmt.Sprint(got[i].Err)))]]++
				}
				if got[i].ID != want[i].ID || got[i].Created != want[i].Created || fmt.Sprint(got[i].Err) != fmt.Sprint(want[i].Err) {
					t.Fatalf("item %d %+v: ahead %+v, inside %+v", i, items[i], got[i], want[i])
				}
			}
		}
		if a, b := dump(t, ahead), dump(t, inside); a != b {
			t.Fatalf("the stores differ")
		}
	})
}
