package relgraph

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A new profile's index entries built ahead and completed with its id
// (withProfileID) are those built inside the transaction, for every
// kind of index entry: subscriptions on the three channels with custom
// fields (two subscriptions implying the same entry), categories and
// priority; indexed string, int, float, bool and date fields and tags;
// unindexed fields.
func TestImportPrepChangesNothingForEveryIndexKind(t *testing.T) {
	emails := []string{"a@x.io", "b@x.io", "c@x.io", ""}
	phones := []string{"+15550100001", "+447911123456", "(555) 010-0002"}
	texts := []string{"", "a", "a\x00b", "\xff", "Zürich"}
	item := func(t *rapid.T, l string) ImportItem {
		var it ImportItem
		if e := rapid.IntRange(-1, len(emails)-1).Draw(t, l+"email"); e >= 0 {
			it.Data.Email = Ptr(emails[e])
		}
		if rapid.Bool().Draw(t, l+"hasPhones") {
			ps := rapid.SliceOfN(rapid.SampledFrom(phones), 0, 3).Draw(t, l+"phones")
			it.Data.Phones = &ps
		}
		f := map[string]any{}
		if rapid.Bool().Draw(t, l+"city") {
			f["city"] = rapid.SampledFrom(texts).Draw(t, l+"cityV")
		}
		if rapid.Bool().Draw(t, l+"crm") {
			f["crm_id"] = rapid.SampledFrom([]int64{0, -1, 1 << 62}).Draw(t, l+"crmV")
		}
		if rapid.Bool().Draw(t, l+"score") {
			f["score"] = rapid.SampledFrom([]float64{0, -1.5, 2.25}).Draw(t, l+"scoreV")
		}
		if rapid.Bool().Draw(t, l+"vip") {
			f["vip"] = rapid.Bool().Draw(t, l+"vipV")
		}
		if rapid.Bool().Draw(t, l+"bday") {
			f["birthday"] = time.Unix(rapid.Int64Range(-1e10, 1e10).Draw(t, l+"bdayS"), rapid.Int64Range(0, 999999999).Draw(t, l+"bdayN")).UTC()
		}
		if rapid.Bool().Draw(t, l+"tags") {
			f["interests"] = rapid.SliceOfN(rapid.SampledFrom([]string{"x", "y", "z", "x"}), 0, 4).Draw(t, l+"tagsV")
		}
		if rapid.Bool().Draw(t, l+"notes") {
			f["notes"] = "n"
		}
		it.Data.Fields = f
		for i := range rapid.IntRange(0, 4).Draw(t, l+"subs") {
			sl := fmt.Sprintf("%ss%d.", l, i)
			s := Subscription{ResourceID: uint32(rapid.IntRange(1, 2).Draw(t, sl+"res")), Status: SubStatus(rapid.IntRange(0, 6).Draw(t, sl+"st")),
				Priority: rapid.IntRange(0, 3).Draw(t, sl+"pr")}
			switch rapid.IntRange(0, 2).Draw(t, sl+"ch") {
			case 0:
				s.Channel, s.Email = ChannelEmail, rapid.SampledFrom(emails[:3]).Draw(t, sl+"e")
			case 1:
				s.Channel, s.Phone = ChannelSMS, rapid.SampledFrom(phones).Draw(t, sl+"p")
			case 2:
				s.Channel, s.Provider, s.SubscriptionID = ChannelPush, rapid.SampledFrom([]string{"fcm", "apns"}).Draw(t, sl+"pv"), rapid.SampledFrom([]string{"s1", "s2"}).Draw(t, sl+"sid")
			}
			if rapid.Bool().Draw(t, sl+"hasF") {
				s.Fields = map[string]string{"plan": rapid.SampledFrom([]string{"gold", "", "a\x00"}).Draw(t, sl+"plan")}
			}
			if rapid.Bool().Draw(t, sl+"hasC") {
				s.Categories = []string{"news"}
			}
			it.Data.Subscriptions = append(it.Data.Subscriptions, s)
		}
		return it
	}
	checkPrepChangesNothing(t, "US", 2, 120, item)
}
