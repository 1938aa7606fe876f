package relgraph

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/index"
)

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
