package relgraph

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestImportPrepChangesNothingForLocators: ImportBatch with and without
// the prep, on what TestImportPrepChangesNothing does not draw: the
// subscription locators (with and without a resource), custom,
// email_phone and email_profile locators, subscriptions in data, tag
// add/delete and incr updates on new profiles, dates, emails that
// differ only in case, batches of several chunks. The same results and
// the same bytes.
func TestImportPrepChangesNothingForLocators(t *testing.T) {
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
	checkPrepChangesNothing(t, "GB", 2, 200, item)
}
