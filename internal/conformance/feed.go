package conformance

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"pgregory.net/rapid"

	. "github.com/relgraph/relgraph"
)

// The change feed in the state machine: the model lists the changes
// its committed writes imply, as lines; the store's feed, read from any
// point, must be exactly those lines from there, numbered densely.

func profileLine(kind ChangeKind, op ChangeOp, db uint32, id ProfileID, before, after *mProfile) string {
	email := func(p *mProfile) string {
		if p == nil {
			return "-"
		}
		return p.email
	}
	return fmt.Sprintf("%s %s db=%d %s %s→%s", kind, op, db, id, email(before), email(after))
}

func relationLine(kind ChangeKind, op ChangeOp, k edgeKey, before, after Weights) string {
	return fmt.Sprintf("%s %s rel=%d %s→%s %s→%s", kind, op, k.rel, k.a, k.b, weightsLine(before), weightsLine(after))
}

// weightsLine writes weights with their types, names sorted; "-" for
// none (an absent relation).
func weightsLine(w Weights) string {
	if w == nil {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, fmt.Sprintf("%s=%T:%v", k, w[k], w[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// feedLine is a stored change as the model writes it.
func feedLine(c *Change) string {
	if r := c.Relation; r != nil {
		w := func(it *RelationItem) Weights {
			if it == nil {
				return nil
			}
			return it.Weights
		}
		return relationLine(c.Kind, c.Op, edgeKey{r.Type, r.A, r.B}, w(r.Before), w(r.After))
	}
	p := c.Profile
	m := func(q *Profile) *mProfile {
		if q == nil {
			return nil
		}
		return &mProfile{email: q.Email}
	}
	return profileLine(c.Kind, c.Op, p.DatabaseID, p.ID, m(p.Before), m(p.After))
}

// sameProfile reports whether two model profiles hold the same data, as
// the store judges a write that changes nothing (nil and empty alike).
func sameProfile(a, b *mProfile) bool {
	if a.email != b.email || !slices.Equal(a.phones, b.phones) || len(a.fields) != len(b.fields) || len(a.subs) != len(b.subs) {
		return false
	}
	for k, v := range a.fields {
		w, ok := b.fields[k]
		if !ok || fmt.Sprintf("%T %v", v, v) != fmt.Sprintf("%T %v", w, w) {
			return false
		}
	}
	return fmt.Sprintf("%+v", a.subs) == fmt.Sprintf("%+v", b.subs)
}

// cascade is a profile's deletion in the model, with the changes it
// implies in the store's order: per relation type (by id), the
// relations it is A of (by B), then those it is B of (by A), then the
// profile.
func (m *model) cascade(db uint32, id ProfileID) {
	rels := slices.Sorted(maps.Keys(machineRels))
	byID := func(a, b edgeKey) int { return strings.Compare(a.a.String()+a.b.String(), b.a.String()+b.b.String()) }
	for _, rel := range rels {
		dbs := machineRels[rel]
		for side := range 2 {
			if dbs[side] != db {
				continue
			}
			var keys []edgeKey
			for k := range m.edges {
				if k.rel == rel && ((side == 0 && k.a == id) || (side == 1 && k.b == id)) {
					keys = append(keys, k)
				}
			}
			slices.SortFunc(keys, byID)
			for _, k := range keys {
				m.changes = append(m.changes, relationLine(RelationDeleted, OpCascade, k, m.edges[k], nil))
				delete(m.edges, k)
			}
		}
	}
	m.changes = append(m.changes, profileLine(ProfileDeleted, OpDelete, db, id, m.profiles[db][id], nil))
	delete(m.profiles[db], id)
}

// compareFeed reads the store's feed after since, in pages of three,
// against the model's changes.
func (mc *machine) compareFeed(t *rapid.T, since uint64) {
	want := mc.m.changes[since:]
	var got []string
	for next := since; ; {
		page, err := mc.s.ReadChanges(ctx, next, 3)
		if err != nil {
			t.Fatalf("read changes since %d: %v", next, err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if next++; c.Seq != next {
				t.Fatalf("change %d where %d was due", c.Seq, next)
			}
			got = append(got, feedLine(&c))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("feed since %d:\n got  %q\n want %q", since, got, want)
	}
	info, err := mc.s.FeedInfo(ctx)
	if err != nil || info.Newest != uint64(len(mc.m.changes)) || info.Oldest != 1 {
		t.Fatalf("feed info %+v %v, want 1..%d", info, err, len(mc.m.changes))
	}
}
