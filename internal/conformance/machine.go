// Package conformance is relgraph's engine-independent test suite: a
// rapid state machine that drives random profile and relation
// operations, on every matching mode, through the public API of a
// Store, and compares every answer with a plain in-memory model, with
// Check between steps and close-and-reopen as an action. The root
// package runs it on bbolt; kv/etcd runs it on an etcd cluster.
//
// It dot-imports relgraph: the suite reads as the package's own tests.
package conformance

import (
	"context"
	"errors"

	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/relgraph/relgraph"

	"pgregory.net/rapid"
)

// The state machine drives random profile and relation operations
// through the public API and compares every answer with a plain
// in-memory model. The store runs in strict mode, so Check runs inside
// every commit; the machine also runs Check between steps.

type mProfile struct {
	db     uint32
	email  string
	phones []string
	fields map[string]any
	subs   []Subscription
}

type edgeKey struct {
	rel  uint32
	a, b ProfileID
}

type model struct {
	profiles map[uint32]map[ProfileID]*mProfile
	// changes are the change feed the committed writes imply, in
	// order, as feedLine writes them (feed.go).
	changes []string
	edges   map[edgeKey]Weights
}

var (
	emailPool = []string{"a@x.io", "b@x.io", "c@x.io"}
	phonePool = []string{"+15550000001", "+15550000002"}
	pushPool  = []string{"device-1", "device-2"}
	extPool   = []string{"k1", "k2"}
	tagPool   = []string{"t1", "t2", "t3"}
	// Dyadic fractions, so float sums are exact in any order.
	floatPool = []float64{0.5, -1.75, 2.25}
)

// rel 3: db 1 → db 2 (testSchema); rel 4: db 1 → db 1, for same-db and
// self relations.
var machineRels = map[uint32][2]uint32{3: {1, 2}, 4: {1, 1}}

func (m *model) matches(db uint32, loc Locator) ([]ProfileID, error) {
	mode, err := inferMode(loc)
	if err != nil {
		return nil, err
	}
	switch mode {
	case ModeProfileID:
		_, err = ParseProfileID(loc.ProfileID)
	case ModeEmail, ModeEmailProfile, ModeEmailSub:
		_, err = NormalizeEmail(loc.Email)
	case ModePhone, ModePhoneSub:
		_, err = NormalizePhone(loc.Phone, "")
	case ModeEmailPhone, ModeEmailPhoneSub:
		if loc.Email != "" {
			_, err = NormalizeEmail(loc.Email)
		}
		if loc.Phone != "" && err == nil {
			_, err = NormalizePhone(loc.Phone, "")
		}
	case ModeCustom:
		declared := map[uint32][]string{1: {"crm_id", "interests"}, 2: {"sku"}}[db]
		if !slices.Contains(declared, loc.FieldName) {
			err = errors.New("undeclared field")
		}
	}
	if err != nil {
		return nil, err
	}
	var out []ProfileID
	for id, p := range m.profiles[db] {
		hit := false
		switch mode {
		case ModeProfileID:
			hit = strings.EqualFold(id.String(), loc.ProfileID)
		case ModeEmail, ModeEmailProfile, ModeEmailSub:
			e := strings.ToLower(strings.TrimSpace(loc.Email))
			hit = mode != ModeEmailSub && p.email == e
			if mode != ModeEmailProfile {
				hit = hit || hasSub(p, ChannelEmail, e, loc.ResourceID)
			}
		case ModePhone, ModePhoneSub:
			ph, _ := NormalizePhone(loc.Phone, "")
			hit = mode == ModePhone && slices.Contains(p.phones, ph)
			hit = hit || hasSub(p, ChannelSMS, ph, loc.ResourceID)
		case ModeEmailPhone, ModeEmailPhoneSub:
			e := strings.ToLower(strings.TrimSpace(loc.Email))
			ph, _ := NormalizePhone(loc.Phone, "")
			if mode == ModeEmailPhone {
				hit = loc.Email != "" && p.email == e || loc.Phone != "" && slices.Contains(p.phones, ph)
			} else {
				hit = loc.Email != "" && hasSub(p, ChannelEmail, e, loc.ResourceID) || loc.Phone != "" && hasSub(p, ChannelSMS, ph, loc.ResourceID)
			}
		case ModePushSub:
			hit = hasSub(p, ChannelPush, loc.Provider+"\x00"+loc.SubscriptionID, loc.ResourceID)
		case ModeCustomSub:
			for _, s := range p.subs {
				if s.Fields["ext"] == loc.FieldValue && loc.FieldName == "ext" && (loc.ResourceID == 0 || s.ResourceID == loc.ResourceID) {
					hit = true
				}
			}
		case ModeCustom:
			v := p.fields[loc.FieldName]
			if want, ok := loc.FieldValue.([]string); ok && loc.FieldName == "interests" {
				have, _ := v.([]string)
				hit = true
				for _, t := range want {
					hit = hit && slices.Contains(have, strings.TrimSpace(t))
				}
			} else {
				hit = v != nil && v == loc.FieldValue
			}
		}
		if hit {
			out = append(out, id)
		}
	}
	return out, nil
}

func hasSub(p *mProfile, ch Channel, addr string, resource uint32) bool {
	for _, s := range p.subs {
		if s.Channel == ch && address(s) == addr && (resource == 0 || s.ResourceID == resource) {
			return true
		}
	}
	return false
}

// resolve returns the one match, or the expected error code.
func (m *model) resolve(db uint32, loc Locator) (ProfileID, int) {
	ids, err := m.matches(db, loc)
	switch {
	case err != nil:
		return ProfileID{}, 400
	case len(ids) == 0:
		return ProfileID{}, 404
	case len(ids) > 1:
		return ProfileID{}, 409
	}
	return ids[0], 0
}

type machine struct {
	t     *testing.T
	open  func() (*Store, error)
	s     *Store
	m     *model
	fired map[string]int
}

func genEmail(t *rapid.T, label string) string {
	e := rapid.SampledFrom(emailPool).Draw(t, label)
	if rapid.Bool().Draw(t, label+"-upper") {
		e = "  " + strings.ToUpper(e)
	}
	return e
}

func genPhone(t *rapid.T, label string) string {
	p := rapid.SampledFrom(phonePool).Draw(t, label)
	switch rapid.IntRange(0, 2).Draw(t, label+"-form") {
	case 1:
		p = p[:2] + " (" + p[2:5] + ") " + p[5:8] + "-" + p[8:]
	case 2:
		p = "00" + p[1:2] + " " + p[2:]
	}
	return p
}

func genTags(t *rapid.T, label string) []string {
	tags := rapid.SliceOfNDistinct(rapid.SampledFrom(tagPool), 1, 3, rapid.ID[string]).Draw(t, label)
	for i := range tags {
		if rapid.Bool().Draw(t, label+"-spaced") {
			tags[i] = " " + tags[i] + " "
		}
	}
	return tags
}

func genLocator(t *rapid.T, m *model, db uint32) Locator {
	var known []ProfileID
	for id := range m.profiles[db] {
		known = append(known, id)
	}
	slices.SortFunc(known, func(a, b ProfileID) int { return strings.Compare(a.String(), b.String()) })
	if rapid.IntRange(0, 12).Draw(t, "bad-loc?") == 0 {
		return rapid.SampledFrom([]Locator{
			{Matching: ModeCustom, FieldName: "undeclared", FieldValue: "x"},
			{Email: "not-an-email"},
			{Matching: ModeEmail, Phone: "+15550000001"},
			{ProfileID: "not-hex"},
			{Matching: "fax", Email: "a@x.io"},
		}).Draw(t, "bad-loc")
	}
	mode := rapid.SampledFrom([]Mode{"", ModeEmail, ModeEmailProfile, ModeEmailSub, ModePhone, ModePhoneSub, ModeEmailPhone, ModeEmailPhoneSub,
		ModeProfileID, ModePushSub, ModeCustom, ModeCustomSub}).Draw(t, "mode")
	loc := Locator{Matching: mode}
	if rapid.IntRange(0, 4).Draw(t, "resource?") == 0 {
		loc.ResourceID = uint32(rapid.IntRange(1, 2).Draw(t, "resource"))
	}
	switch mode {
	case ModeEmail, ModeEmailProfile, ModeEmailSub:
		loc.Email = genEmail(t, "loc-email")
	case ModePhone, ModePhoneSub:
		loc.Phone = genPhone(t, "loc-phone")
	case ModeEmailPhone, ModeEmailPhoneSub:
		switch rapid.IntRange(0, 2).Draw(t, "email-phone-keys") {
		case 0:
			loc.Email = genEmail(t, "loc-email")
		case 1:
			loc.Phone = genPhone(t, "loc-phone")
		default:
			loc.Email, loc.Phone = genEmail(t, "loc-email"), genPhone(t, "loc-phone")
		}
	case ModePushSub:
		loc.Provider, loc.SubscriptionID = "fcm", rapid.SampledFrom(pushPool).Draw(t, "loc-push")
	case ModeCustomSub:
		loc.FieldName, loc.FieldValue = "ext", rapid.SampledFrom(extPool).Draw(t, "loc-ext")
	case ModeCustom:
		if db == 2 || rapid.Bool().Draw(t, "int?") {
			if db == 2 {
				loc.FieldName, loc.FieldValue = "sku", rapid.SampledFrom([]string{"s1", "s2"}).Draw(t, "sku")
			} else {
				loc.FieldName, loc.FieldValue = "crm_id", int64(rapid.IntRange(0, 2).Draw(t, "crm"))
			}
		} else {
			loc.FieldName, loc.FieldValue = "interests", genTags(t, "loc-tags")
		}
	default: // profile id, or inferred from it
		if len(known) > 0 && rapid.IntRange(0, 5).Draw(t, "known?") > 0 {
			id := rapid.SampledFrom(known).Draw(t, "id")
			loc.ProfileID = id.String()
			if rapid.Bool().Draw(t, "upper-id") {
				loc.ProfileID = strings.ToUpper(loc.ProfileID)
			}
		} else {
			loc.ProfileID = "5d63dbdb439e7306b596c5d0"
		}
	}
	return loc
}

func genData(t *rapid.T, db uint32) (ProfileData, bool) {
	var d ProfileData
	valid := true
	switch rapid.IntRange(0, 3).Draw(t, "email-op") {
	case 1:
		d.Email = Ptr(genEmail(t, "email"))
	case 2:
		d.Email = Ptr("")
	}
	if rapid.Bool().Draw(t, "phones?") {
		n := rapid.IntRange(0, 2).Draw(t, "n-phones")
		phones := make([]string, n)
		for i := range phones {
			phones[i] = genPhone(t, "phone")
		}
		d.Phones = &phones
	}
	d.Fields = map[string]any{}
	if db == 2 {
		if rapid.Bool().Draw(t, "sku?") {
			d.Fields["sku"] = rapid.SampledFrom([]any{"s1", " s2 ", nil}).Draw(t, "sku")
		}
	} else {
		if rapid.Bool().Draw(t, "crm?") {
			d.Fields["crm_id"] = rapid.SampledFrom([]any{int64(0), uint8(1), 2, nil}).Draw(t, "crm")
		}
		if rapid.Bool().Draw(t, "tags?") {
			d.Fields["interests"] = genTags(t, "tags")
			if rapid.IntRange(0, 2).Draw(t, "tags-update?") == 0 {
				d.Fields["interests"] = FieldUpdate{Action: rapid.SampledFrom([]string{ActionAdd, ActionDelete}).Draw(t, "tags-action"), Value: genTags(t, "tags")}
			}
		}
		if rapid.IntRange(0, 4).Draw(t, "incr?") == 0 {
			d.Fields["crm_id"] = FieldUpdate{Action: ActionIncr, Value: int64(rapid.IntRange(-2, 2).Draw(t, "incr"))}
		}
		if rapid.Bool().Draw(t, "city?") {
			d.Fields["city"] = rapid.SampledFrom([]any{"Paris", "Rome", nil}).Draw(t, "city")
		}
		if rapid.IntRange(0, 3).Draw(t, "more?") == 0 {
			d.Fields["score"] = rapid.SampledFrom(floatPool).Draw(t, "score")
			d.Fields["vip"] = rapid.Bool().Draw(t, "vip")
			d.Fields["birthday"] = rapid.SampledFrom([]time.Time{time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC),
				time.Date(1999, 12, 31, 23, 0, 0, 0, time.FixedZone("", 3600))}).Draw(t, "bday")
			d.Fields["notes"] = "free text"
		}
	}
	if rapid.IntRange(0, 9).Draw(t, "bad-field?") == 0 {
		d.Fields[rapid.SampledFrom([]string{"undeclared", "crm_id", "vip"}).Draw(t, "bad-name")] = "not-a-number-or-bool"
		if db == 1 || true {
			valid = false
		}
	}
	n := rapid.IntRange(0, 2).Draw(t, "n-subs")
	for i := 0; i < n; i++ {
		s := Subscription{ResourceID: uint32(rapid.IntRange(1, 2).Draw(t, "sub-res")), Status: SubStatus(rapid.IntRange(0, 6).Draw(t, "status")),
			Priority: rapid.IntRange(0, 2).Draw(t, "priority")}
		switch rapid.IntRange(0, 2).Draw(t, "sub-channel") {
		case 0:
			s.Channel, s.Email = ChannelEmail, genEmail(t, "sub-email")
		case 1:
			s.Channel, s.Phone = ChannelSMS, genPhone(t, "sub-phone")
		default:
			s.Channel, s.Provider, s.SubscriptionID = ChannelPush, "fcm", rapid.SampledFrom(pushPool).Draw(t, "sub-push")
		}
		// Status and priority not sent keep a stored subscription's;
		// custom fields: not sent (kept), replaced, or cleared.
		s.KeepStatus, s.KeepPriority = rapid.IntRange(0, 3).Draw(t, "keep-status?") == 0, rapid.IntRange(0, 3).Draw(t, "keep-priority?") == 0
		switch rapid.IntRange(0, 3).Draw(t, "sub-fields") {
		case 1:
			s.Fields = map[string]string{"ext": rapid.SampledFrom(extPool).Draw(t, "sub-ext")}
		case 2:
			s.Fields = map[string]string{}
		}
		d.Subscriptions = append(d.Subscriptions, s)
	}
	return d, valid
}

// expectedProfile applies data to a copy of p as docs/spec.md says.
func expectedProfile(p *mProfile, data ProfileData) *mProfile {
	n := &mProfile{db: p.db, email: p.email, phones: slices.Clone(p.phones), fields: maps.Clone(p.fields), subs: slices.Clone(p.subs)}
	if n.fields == nil {
		n.fields = map[string]any{}
	}
	if data.Email != nil {
		n.email = strings.ToLower(strings.TrimSpace(*data.Email))
	}
	if data.Phones != nil {
		n.phones = nil
		for _, ph := range *data.Phones {
			norm, _ := NormalizePhone(ph, "")
			if !slices.Contains(n.phones, norm) {
				n.phones = append(n.phones, norm)
			}
		}
	}
	for k, v := range data.Fields {
		switch x := v.(type) {
		case FieldUpdate:
			switch x.Action {
			case ActionIncr:
				cur, _ := n.fields[k].(int64)
				n.fields[k] = cur + x.Value.(int64)
			case ActionAdd, ActionDelete:
				have, _ := n.fields[k].([]string)
				tags := slices.Clone(have)
				for _, t := range x.Value.([]string) {
					t = strings.TrimSpace(t)
					i := slices.Index(tags, t)
					if x.Action == ActionAdd && i < 0 {
						tags = append(tags, t)
					} else if x.Action == ActionDelete && i >= 0 {
						tags = slices.Delete(tags, i, i+1)
					}
				}
				slices.Sort(tags)
				if len(tags) == 0 {
					delete(n.fields, k)
				} else {
					n.fields[k] = tags
				}
			}
		case nil:
			delete(n.fields, k)
		case string:
			n.fields[k] = strings.TrimSpace(x)
		case []string:
			var tags []string
			for _, t := range x {
				tags = append(tags, strings.TrimSpace(t))
			}
			slices.Sort(tags)
			n.fields[k] = tags
		case time.Time:
			n.fields[k] = x.UTC()
		case int:
			n.fields[k] = int64(x)
		case uint8:
			n.fields[k] = int64(x)
		default:
			n.fields[k] = v
		}
	}
	for _, s := range data.Subscriptions {
		s = normalizeSub(s)
		i := slices.IndexFunc(n.subs, func(h Subscription) bool { return sameSub(h, s) })
		if i >= 0 {
			have := n.subs[i]
			if s.KeepStatus {
				s.Status = have.Status
			}
			if s.KeepPriority {
				s.Priority = have.Priority
			}
			if s.Fields == nil {
				s.Fields = have.Fields
			}
			n.subs[i] = storedSub(s)
		} else {
			n.subs = append(n.subs, storedSub(s))
		}
	}
	slices.SortFunc(n.subs, compareSubs)
	return n
}

// putProfile runs an import, an update or a restore (how) against the
// model.
func (mc *machine) putProfile(t *rapid.T, how string) {
	create := how != "update"
	db := uint32(rapid.IntRange(1, 2).Draw(t, "db"))
	loc := Locator{}
	switch {
	case how == "restore":
		ids := []string{"5d63dbdb439e7306b596c5d0", "000000000000000000000009"}
		if known, ok := mc.pickProfile(t, db, "restore-known"); ok && rapid.Bool().Draw(t, "restore-existing?") {
			ids = append(ids, known.String())
		}
		loc = Locator{Matching: ModeProfileID, ProfileID: rapid.SampledFrom(ids).Draw(t, "restore-id")}
	case !create || rapid.IntRange(0, 3).Draw(t, "empty-loc?") > 0:
		loc = genLocator(t, mc.m, db)
	}
	data, valid := genData(t, db)
	// Expected outcome.
	wantCode, created := 0, false
	var id ProfileID
	base := &mProfile{db: db}
	if !loc.IsEmpty() {
		var code int
		id, code = mc.m.resolve(db, loc)
		mode, _ := inferMode(loc)
		switch {
		case code == 404 && how == "restore":
			created = true
			id, _ = ParseProfileID(loc.ProfileID)
		case code == 404 && create && mode != ModeProfileID && (!subOnly(mode) || loc.ResourceID != 0 && mode != ModeCustomSub):
			// profile_id only updates; a subscription mode creates only
			// what it can find again: a subscription on its resource.
			created = true
		case code != 0:
			wantCode = code
		default:
			base = mc.m.profiles[db][id]
		}
	} else {
		created = true
	}
	expected := data // what the store is sent is data, as the caller wrote it
	if created && !loc.IsEmpty() {
		mode, _ := inferMode(loc)
		expected = withLocatorKey(data, loc, mode)
	}
	var next *mProfile
	if wantCode == 0 && !valid {
		wantCode = 400
	}
	if wantCode == 0 {
		next = expectedProfile(base, expected)
		if next.email != "" && (created || next.email != base.email) {
			for other, p := range mc.m.profiles[db] {
				if p.email == next.email && (created || other != id) {
					wantCode = 409
				}
			}
		}
	}
	var gotID ProfileID
	var gotCreated bool
	var err error
	switch how {
	case "import":
		gotID, gotCreated, err = mc.s.ImportProfile(ctx, db, loc, data)
	case "update":
		gotID, err = mc.s.UpdateProfile(ctx, db, loc, data)
	case "restore":
		gotID = id
		gotCreated, err = mc.s.RestoreProfile(ctx, db, id, data)
	}
	if outcome(err) != wantCode {
		t.Fatalf("put profile db=%d loc=%+v data=%+v: got %v, want code %d", db, loc, data, err, wantCode)
	}
	if err != nil {
		return
	}
	if gotCreated != created || (!id.IsZero() && gotID != id) {
		t.Fatalf("put profile: got id %s created=%v, want %s created=%v", gotID, gotCreated, id, created)
	}
	mc.fired[how+"-ok"]++
	op := map[string]ChangeOp{"import": OpImport, "update": OpUpdate, "restore": OpRestore}[how]
	switch {
	case created:
		mc.m.changes = append(mc.m.changes, profileLine(ProfileCreated, op, db, gotID, nil, next))
	case !sameProfile(base, next):
		mc.m.changes = append(mc.m.changes, profileLine(ProfileUpdated, op, db, gotID, base, next))
	}
	mc.m.profiles[db][gotID] = next
	mc.compareProfile(t, db, gotID) // what was just written, at once: "get" samples only
}

func (mc *machine) compareProfile(t *rapid.T, db uint32, id ProfileID) {
	want := mc.m.profiles[db][id]
	got, err := mc.s.GetProfile(ctx, db, idLoc(id))
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	gotFields := got.Fields
	if gotFields == nil {
		gotFields = map[string]any{}
	}
	if got.Email != want.email || !slices.Equal(got.Phones, want.phones) || !reflect.DeepEqual(gotFields, want.fields) || !reflect.DeepEqual(got.Subscriptions, want.subs) {
		t.Fatalf("profile %s:\n got  %q %q %v %v\n want %q %q %v %v", id, got.Email, got.Phones, gotFields, got.Subscriptions, want.email, want.phones, want.fields, want.subs)
	}
}

func (mc *machine) pickProfile(t *rapid.T, db uint32, label string) (ProfileID, bool) {
	var ids []ProfileID
	for id := range mc.m.profiles[db] {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return ProfileID{}, false
	}
	slices.SortFunc(ids, func(a, b ProfileID) int { return strings.Compare(a.String(), b.String()) })
	return rapid.SampledFrom(ids).Draw(t, label), true
}

// genWeights puts the extreme integers first: rapid favours the first
// elements of a sample, and sums past int64 need two of them on one A.
func genWeights(t *rapid.T, rel uint32) (map[string]any, bool) {
	w := map[string]any{}
	if rel == 4 {
		w["w"] = rapid.SampledFrom([]int64{math.MaxInt64, 1, -3, math.MinInt64}).Draw(t, "w")
		if rapid.Bool().Draw(t, "rank?") {
			w["rank"] = rapid.SampledFrom([]int64{2, 1, 0, -1}).Draw(t, "rank")
		}
		return w, true
	}
	valid := true
	if rapid.Bool().Draw(t, "user_like?") {
		w["user_like"] = rapid.SampledFrom([]int64{math.MaxInt64 - 1, 2, -5}).Draw(t, "user_like")
	}
	if rapid.Bool().Draw(t, "donate?") {
		w["donate"] = rapid.SampledFrom([]any{int64(343), 7, int64(-1)}).Draw(t, "donate")
	}
	if rapid.Bool().Draw(t, "rating?") {
		w["rating"] = rapid.SampledFrom(floatPool).Draw(t, "rating")
	}
	if rapid.Bool().Draw(t, "online?") {
		w["is_online"] = rapid.SampledFrom([]any{true, false, nil}).Draw(t, "online")
	}
	if rapid.Bool().Draw(t, "note?") {
		w["note"] = rapid.SampledFrom([]any{"hi", nil}).Draw(t, "note")
	}
	if rapid.IntRange(0, 9).Draw(t, "bad-weight?") == 0 {
		w[rapid.SampledFrom([]string{"undeclared", "user_like", "is_online"}).Draw(t, "bad-prop")] = 1.5
		valid = false
	}
	return w, valid
}

func normWeight(v any) any {
	if i, ok := v.(int); ok {
		return int64(i)
	}
	return v
}

// relLocator mostly names a known profile by id, so relation writes
// mostly reach the relation, and sometimes draws any locator.
func (mc *machine) relLocator(t *rapid.T, db uint32, label string) Locator {
	if rapid.IntRange(0, 3).Draw(t, label+"-any?") > 0 {
		if id, ok := mc.pickProfile(t, db, label); ok {
			return idLoc(id)
		}
	}
	return genLocator(t, mc.m, db)
}

func (mc *machine) relationWrite(t *rapid.T, op string) {
	rel := rapid.SampledFrom([]uint32{3, 4}).Draw(t, "rel")
	dbs := machineRels[rel]
	locA := mc.relLocator(t, dbs[0], "a")
	locB := mc.relLocator(t, dbs[1], "b")
	weights, valid := genWeights(t, rel)
	if op == "modify" && slices.Contains(slices.Collect(maps.Values(weights)), nil) {
		valid = false // strengthen has no null: nothing to add
	}
	req := RelationRequest{RelationType: rel, A: locA, B: locB, Weights: weights}
	a, codeA := mc.m.resolve(dbs[0], locA)
	b, codeB := mc.m.resolve(dbs[1], locB)
	key := edgeKey{rel, a, b}
	old, exists := mc.m.edges[key]
	want := 0
	var next Weights
	switch {
	case (op == "overwrite" || op == "modify") && len(weights) == 0:
		want = 400
	case codeA != 0:
		want = codeA
	case codeB != 0:
		want = codeB
	case op != "detach" && !valid:
		want = 400
	case (op == "overwrite" || op == "modify") && len(weights) == 0:
		want = 400
	case op == "attach" && slices.ContainsFunc(slices.Collect(maps.Values(weights)), func(v any) bool { return v == nil }):
		want = 400
	case op == "detach" && !exists:
		want = 404
	}
	if want == 0 || want == codeA || want == codeB {
		mc.fired["match-"+fmt.Sprint(want)]++ // the outcome the locators decided
	}
	if want == 0 {
		next = maps.Clone(old)
		if next == nil {
			next = Weights{}
		}
		switch op {
		case "overwrite":
			for k, v := range weights {
				if v == nil {
					delete(next, k)
				} else {
					next[k] = normWeight(v)
				}
			}
		case "modify":
			for k, v := range weights {
				switch d := normWeight(v).(type) {
				case int64:
					cur, _ := next[k].(int64)
					s := new(big.Int).Add(big.NewInt(cur), big.NewInt(d))
					if !s.IsInt64() {
						want = 400
					}
					next[k] = s.Int64()
				case float64:
					cur, _ := next[k].(float64)
					next[k] = cur + d
				default: // bool or string: set, as overwrite does
					next[k] = d
				}
			}
		case "attach":
			if exists {
				next = old
			} else {
				next = Weights{}
				for k, v := range weights {
					next[k] = normWeight(v)
				}
			}
		case "detach":
			next = nil
		}
	}
	var res RelationResult
	var err error
	switch op {
	case "overwrite":
		res, err = mc.s.Overwrite(ctx, req)
	case "modify":
		res, err = mc.s.Modify(ctx, req)
	case "attach":
		res, err = mc.s.Attach(ctx, req)
	case "detach":
		res, err = mc.s.Detach(ctx, req)
	}
	if outcome(err) != want {
		t.Fatalf("%s %+v: got %v, want code %d", op, req, err, want)
	}
	if err != nil {
		return
	}
	if res.ProfileA != a || res.ProfileB != b || res.RelationType != rel || res.Created != (!exists && op != "detach") {
		t.Fatalf("%s: result %+v, want A=%s B=%s created=%v", op, res, a, b, !exists)
	}
	mc.fired[op+"-ok"]++
	changeOp := map[string]ChangeOp{"overwrite": OpOverwrite, "modify": OpStrengthen, "attach": OpAttach, "detach": OpDetach}[op]
	switch {
	case next == nil:
		mc.m.changes = append(mc.m.changes, relationLine(RelationDeleted, changeOp, key, old, nil))
	case !exists:
		mc.m.changes = append(mc.m.changes, relationLine(RelationCreated, changeOp, key, nil, next))
	case !reflect.DeepEqual(old, next):
		mc.m.changes = append(mc.m.changes, relationLine(RelationUpdated, changeOp, key, old, next))
	}
	if next == nil {
		delete(mc.m.edges, key)
	} else {
		mc.m.edges[key] = next
	}
	mc.compareCounter(t, rel, a)
}

// compareReverse walks B's reverse list in pages of two against the
// model: the A profiles relating to b, by id, with their properties, and
// the count of them.
func (mc *machine) compareReverse(t *rapid.T, rel uint32, b ProfileID) {
	type item struct {
		a ProfileID
		w Weights
	}
	var want []item
	for k, w := range mc.m.edges {
		if k.rel == rel && k.b == b {
			want = append(want, item{k.a, w})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].a.String() < want[j].a.String() })
	var got []item
	cursor := ""
	for page := 0; ; page++ {
		total, next, err := mc.s.ScanReverse(ctx, ReverseQuery{RelationType: rel, B: idLoc(b), Limit: 2, Cursor: cursor, Count: page == 0}, func(v *RelationView) error {
			got = append(got, item{v.ProfileA, v.Weights()})
			return nil
		})
		if err != nil {
			t.Fatalf("reverse: %v", err)
		}
		if page == 0 && total != int64(len(want)) {
			t.Fatalf("reverse total %d, want %d", total, len(want))
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("reverse list of %s: %d items, want %d", b, len(got), len(want))
	}
	for i := range got {
		if got[i].a != want[i].a || !reflect.DeepEqual(map[string]any(got[i].w), map[string]any(want[i].w)) {
			t.Fatalf("reverse relation %d: got %v %v, want %v %v", i, got[i].a, got[i].w, want[i].a, want[i].w)
		}
	}
}

func (mc *machine) compareRelations(t *rapid.T, rel uint32, a ProfileID) {
	type item struct {
		b ProfileID
		w Weights
	}
	var want []item
	for k, w := range mc.m.edges {
		if k.rel == rel && k.a == a {
			want = append(want, item{k.b, w})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].b.String() < want[j].b.String() })
	var got []item
	cursor := ""
	for {
		page, err := mc.s.Relations(ctx, RelationsQuery{RelationType: rel, A: idLoc(a), Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("relations: %v", err)
		}
		if page.Total != int64(len(want)) {
			t.Fatalf("relations total %d, want %d", page.Total, len(want))
		}
		for _, it := range page.Items {
			got = append(got, item{it.ProfileB, it.Weights})
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("relations of %s: %d items, want %d", a, len(got), len(want))
	}
	for i := range got {
		if got[i].b != want[i].b || !reflect.DeepEqual(map[string]any(got[i].w), map[string]any(want[i].w)) {
			t.Fatalf("relation %d: got %v %v, want %v %v", i, got[i].b, got[i].w, want[i].b, want[i].w)
		}
	}
	// The same relations read in place, each property through its typed
	// accessor and through the others (which must refuse it).
	rt, _ := mc.s.RelationType(rel)
	i := 0
	_, _, err := mc.s.ScanRelations(ctx, RelationsQuery{RelationType: rel, A: idLoc(a), Limit: MaxRelationsLimit}, func(v *RelationView) error {
		if i >= len(want) || v.ProfileB != want[i].b || v.ProfileA != a || v.Len() != len(want[i].w) ||
			!reflect.DeepEqual(map[string]any(v.Weights()), map[string]any(want[i].w)) {
			t.Fatalf("scan relation %d: got %v %v, want %v", i, v.ProfileB, v.Weights(), want[i])
		}
		for _, p := range rt.Properties {
			wv, has := want[i].w[p.Name]
			iv, iok := v.Int(p.Name)
			fv, fok := v.Float(p.Name)
			bv, bok := v.Bool(p.Name)
			sv, sok := v.String(p.Name)
			got := map[PropertyType]bool{PropInt: iok, PropFloat: fok, PropBool: bok, PropString: sok}
			for typ, ok := range got {
				if ok != (has && typ == p.Type) {
					t.Fatalf("scan relation %d: %s accessor of %s property %q answered ok=%v (set: %v)", i, typ, p.Type, p.Name, ok, has)
				}
			}
			if has {
				var read any = map[PropertyType]any{PropInt: iv, PropFloat: fv, PropBool: bv, PropString: sv}[p.Type]
				if read != wv {
					t.Fatalf("scan relation %d: %q read %v, want %v", i, p.Name, read, wv)
				}
			}
		}
		i++
		return nil
	})
	if err != nil || i != len(want) {
		t.Fatalf("scan relations: %d of %d, %v", i, len(want), err)
	}
	mc.compareCounter(t, rel, a)
}

// compareCounter reads A's counter of rel and recomputes it from the
// model: every write checks the counter it moved, so sums past int64
// and top lists are met as often as writes make them.
func (mc *machine) compareCounter(t *rapid.T, rel uint32, a ProfileID) {
	type item struct {
		b ProfileID
		w Weights
	}
	var want []item
	for k, w := range mc.m.edges {
		if k.rel == rel && k.a == a {
			want = append(want, item{k.b, w})
		}
	}
	rt, _ := mc.s.RelationType(rel)
	c, err := mc.s.Counter(ctx, rel, idLoc(a))
	if err != nil {
		t.Fatalf("counter: %v", err)
	}
	if c.Total != int64(len(want)) {
		t.Fatalf("counter total %d, want %d", c.Total, len(want))
	}
	if len(want) == 0 {
		if len(c.Props) != 0 {
			t.Fatalf("counter props %v with no relations", c.Props)
		}
		return
	}
	for _, p := range rt.Properties {
		var total int64
		sumI := new(big.Int)
		var sumF float64
		var top []TopEntry
		for _, it := range want {
			v, has := it.w[p.Name]
			if counts(v, has) {
				total++
			}
			if has && p.Aggregate == AggSum {
				if p.Type == PropInt {
					sumI.Add(sumI, big.NewInt(v.(int64)))
				} else {
					sumF += v.(float64)
				}
			}
			if has && p.Aggregate == AggTop {
				top = append(top, TopEntry{ProfileB: it.b, Value: v})
			}
		}
		gp := c.Props[p.Name]
		if gp.Total != total {
			t.Fatalf("counter %s total %d, want %d", p.Name, gp.Total, total)
		}
		switch p.Aggregate {
		case AggSum:
			var wantSum any = sumF
			if p.Type == PropInt {
				wantSum = sumI.Int64()
				if !sumI.IsInt64() {
					wantSum = sumI
					mc.fired["sum-beyond-int64"]++
				}
			}
			if fmt.Sprint(gp.Sum) != fmt.Sprint(wantSum) || fmt.Sprintf("%T", gp.Sum) != fmt.Sprintf("%T", wantSum) {
				t.Fatalf("counter %s sum %v, want %v", p.Name, gp.Sum, wantSum)
			}
		case AggTop:
			sort.SliceStable(top, func(i, j int) bool {
				vi, vj := top[i].Value.(int64), top[j].Value.(int64)
				if vi != vj {
					return vi > vj
				}
				return top[i].ProfileB.String() < top[j].ProfileB.String()
			})
			if len(top) > p.Top {
				top = top[:p.Top]
			}
			if !slices.Equal(gp.Top, top) {
				t.Fatalf("counter %s top %v, want %v", p.Name, gp.Top, top)
			}
		default:
			if gp.Sum != nil || gp.Top != nil {
				t.Fatalf("counter %s has sum/top for aggregate %s", p.Name, p.Aggregate)
			}
		}
	}
}

// Backend gives the state machine its stores: called once per run, it
// returns a function that opens that run's store, empty the first time,
// and again (with what was committed) after each close.
type Backend func(t *testing.T) (open func() (*Store, error))

// Actions lists every action and outcome RunStateMachine counts. The
// match-N outcomes count locators the store resolved with outcome N and
// the model checked: in match, delete and the relation writes.
var Actions = []string{"import", "update", "restore", "delete", "match", "get", "overwrite", "modify", "attach", "detach",
	"relations", "reverse", "feed", "reopen", "import-ok", "update-ok", "restore-ok", "delete-ok", "overwrite-ok", "modify-ok", "attach-ok",
	"detach-ok", "sum-beyond-int64", "match-0", "match-404", "match-409", "match-400"}

// RunStateMachine runs rapid's checks of the state machine on stores of
// the backend and returns how often each action and outcome fired; the
// caller asserts they all did. Run length follows rapid's flags
// (-rapid.checks, -rapid.steps).
func RunStateMachine(t *testing.T, backend Backend) map[string]int {
	fired := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		open := backend(t)
		s, err := open()
		if err != nil {
			rt.Fatal(err)
		}
		mc := &machine{t: t, open: open, s: s, fired: fired,
			m: &model{profiles: map[uint32]map[ProfileID]*mProfile{1: {}, 2: {}}, edges: map[edgeKey]Weights{}}}
		defer func() { mc.s.Close() }()
		if err := Schema(s); err != nil {
			rt.Fatal(err)
		}
		if err := s.SetChangeFeed(ctx, FeedConfig{On: true}); err != nil {
			rt.Fatal(err)
		}
		act := func(name string, fn func(*rapid.T)) func(*rapid.T) {
			return func(t *rapid.T) { fired[name]++; fn(t) }
		}
		rt.Repeat(map[string]func(*rapid.T){
			"import":  act("import", func(t *rapid.T) { mc.putProfile(t, "import") }),
			"update":  act("update", func(t *rapid.T) { mc.putProfile(t, "update") }),
			"restore": act("restore", func(t *rapid.T) { mc.putProfile(t, "restore") }),
			"delete": act("delete", func(t *rapid.T) {
				db := uint32(rapid.IntRange(1, 2).Draw(t, "db"))
				loc := genLocator(t, mc.m, db)
				id, want := mc.m.resolve(db, loc)
				fired["match-"+fmt.Sprint(want)]++
				got, err := mc.s.DeleteProfile(ctx, db, loc)
				if outcome(err) != want || (err == nil && got != id) {
					t.Fatalf("delete %+v: got %s %v, want %s code %d", loc, got, err, id, want)
				}
				if err == nil {
					fired["delete-ok"]++
					mc.m.cascade(db, id)
				}
			}),
			"match": act("match", func(t *rapid.T) {
				db := uint32(rapid.IntRange(1, 2).Draw(t, "db"))
				loc := genLocator(t, mc.m, db)
				id, want := mc.m.resolve(db, loc)
				got, err := mc.s.Match(ctx, db, loc)
				if outcome(err) != want || got != id {
					t.Fatalf("match %+v: got %s %v, want %s code %d", loc, got, err, id, want)
				}
				fired["match-"+fmt.Sprint(want)]++
			}),
			"get": act("get", func(t *rapid.T) {
				db := uint32(rapid.IntRange(1, 2).Draw(t, "db"))
				if id, ok := mc.pickProfile(t, db, "id"); ok {
					mc.compareProfile(t, db, id)
				}
			}),
			"overwrite": act("overwrite", func(t *rapid.T) { mc.relationWrite(t, "overwrite") }),
			"modify":    act("modify", func(t *rapid.T) { mc.relationWrite(t, "modify") }),
			"attach":    act("attach", func(t *rapid.T) { mc.relationWrite(t, "attach") }),
			"detach":    act("detach", func(t *rapid.T) { mc.relationWrite(t, "detach") }),
			"relations": act("relations", func(t *rapid.T) {
				rel := rapid.SampledFrom([]uint32{3, 4}).Draw(t, "rel")
				if a, ok := mc.pickProfile(t, 1, "a"); ok {
					mc.compareRelations(t, rel, a)
				}
			}),
			"feed": act("feed", func(t *rapid.T) {
				since := rapid.IntRange(0, len(mc.m.changes)).Draw(t, "since")
				mc.compareFeed(t, uint64(since))
			}),
			"reverse": act("reverse", func(t *rapid.T) {
				rel := rapid.SampledFrom([]uint32{3, 4}).Draw(t, "rel")
				dbB := map[uint32]uint32{3: 2, 4: 1}[rel]
				if b, ok := mc.pickProfile(t, dbB, "b"); ok {
					mc.compareReverse(t, rel, b)
				}
			}),
			"reopen": act("reopen", func(t *rapid.T) {
				if err := mc.s.Close(); err != nil {
					t.Fatal(err)
				}
				s, err := mc.open()
				if err != nil {
					t.Fatal(err)
				}
				mc.s = s
			}),
			"": func(t *rapid.T) {
				problems, err := mc.s.Check(ctx)
				if err != nil || len(problems) > 0 {
					t.Fatalf("check: %v %v", err, problems)
				}
			},
		})
	})
	return fired
}

// Schema declares what the machine uses: database 1 (customers) with a
// field of each type, database 2 (products, sku), relation type 3 from 1
// to 2 with a property of each aggregate, and relation type 4 from 1 to
// 1, for same-database and self relations.
func Schema(s *Store) error {
	for _, err := range []error{
		s.PutDatabase(ctx, Database{ID: 1, Name: "customers", Fields: []Field{
			{Name: "crm_id", Type: FieldInt},
			{Name: "city", Type: FieldString},
			{Name: "score", Type: FieldFloat},
			{Name: "vip", Type: FieldBool},
			{Name: "birthday", Type: FieldDate},
			{Name: "interests", Type: FieldTags},
			{Name: "notes", Type: FieldString, Unindexed: true},
		}}),
		s.PutDatabase(ctx, Database{ID: 2, Name: "products", Fields: []Field{{Name: "sku", Type: FieldString}}}),
		s.PutRelationType(ctx, RelationType{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []Property{
			{Name: "user_like", Type: PropInt, Aggregate: AggSum},
			{Name: "donate", Type: PropInt, Aggregate: AggTop, Top: 3},
			{Name: "is_online", Type: PropBool, Aggregate: AggCount},
			{Name: "rating", Type: PropFloat, Aggregate: AggSum},
			{Name: "note", Type: PropString},
		}}),
		// rank keeps a top list of one, at most two entries listed: lists
		// overflow and run short after a few writes. (TestTopListsAgainstModel
		// in the root package drives the refills themselves.)
		s.PutRelationType(ctx, RelationType{ID: 4, Name: "knows", DatabaseA: 1, DatabaseB: 1, Properties: []Property{
			{Name: "w", Type: PropInt}, {Name: "rank", Type: PropInt, Aggregate: AggTop, Top: 1}}}),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func idLoc(id ProfileID) Locator { return Locator{ProfileID: id.String()} }

// The model's own versions of rules the store implements: they are
// written again here on purpose, from docs/spec.md, so the suite checks the
// store instead of reusing it.

// inferMode is docs/spec.md §3's mode rule: explicit, or inferred from the first
// key present in the order profile_id, email, phone, field_name.
func inferMode(l Locator) (Mode, error) {
	need := map[Mode]bool{
		ModeEmail: l.Email != "", ModeEmailProfile: l.Email != "", ModeEmailSub: l.Email != "",
		ModePhone: l.Phone != "", ModePhoneSub: l.Phone != "", ModeProfileID: l.ProfileID != "",
		ModeEmailPhone: l.Email != "" || l.Phone != "", ModeEmailPhoneSub: l.Email != "" || l.Phone != "",
		ModePushSub: l.Provider != "" && l.SubscriptionID != "",
		ModeCustom:  l.FieldName != "" && l.FieldValue != nil, ModeCustomSub: l.FieldName != "" && l.FieldValue != nil,
	}
	if l.Matching != "" {
		if has, known := need[l.Matching]; !known || !has {
			return "", errors.New("bad matching")
		}
		return l.Matching, nil
	}
	switch {
	case l.ProfileID != "":
		return ModeProfileID, nil
	case l.Email != "":
		return ModeEmail, nil
	case l.Phone != "":
		return ModePhone, nil
	case l.FieldName != "" && l.FieldValue != nil:
		return ModeCustom, nil
	}
	return "", errors.New("no locator")
}

func address(s Subscription) string {
	switch s.Channel {
	case ChannelEmail:
		return s.Email
	case ChannelSMS:
		return s.Phone
	}
	return s.Provider + "\x00" + s.SubscriptionID
}

func normalizeSub(s Subscription) Subscription {
	if s.Email != "" {
		s.Email, _ = NormalizeEmail(s.Email)
	}
	if s.Phone != "" {
		s.Phone, _ = NormalizePhone(s.Phone, "")
	}
	return s
}

// subOnly reports whether mode finds profiles by subscriptions only.
func subOnly(mode Mode) bool {
	switch mode {
	case ModeEmailSub, ModePhoneSub, ModeEmailPhoneSub, ModePushSub, ModeCustomSub:
		return true
	}
	return false
}

// storedSub is a subscription as the store keeps it: no import flags,
// no empty custom fields.
func storedSub(s Subscription) Subscription {
	s.KeepStatus, s.KeepPriority = false, false
	if len(s.Fields) == 0 {
		s.Fields = nil
	}
	return s
}

func sameSub(a, b Subscription) bool {
	return a.ResourceID == b.ResourceID && a.Channel == b.Channel && address(a) == address(b)
}

func compareSubs(a, b Subscription) int {
	if a.ResourceID != b.ResourceID {
		if a.ResourceID < b.ResourceID {
			return -1
		}
		return 1
	}
	if c := strings.Compare(string(a.Channel), string(b.Channel)); c != 0 {
		return c
	}
	return strings.Compare(address(a), address(b))
}

// withLocatorKey is docs/spec.md §3's rule as the model reads it, not
// profile.go's code: a profile an import creates carries each key its
// locator's mode matches by, unless the data sets it — as a value of the
// profile, or for the subscription modes as a subscription on the
// locator's resource (its status kept) — so the same locator finds it.
func withLocatorKey(d ProfileData, loc Locator, mode Mode) ProfileData {
	matchesBy := func(modes ...Mode) bool { return slices.Contains(modes, mode) }
	byEmail := loc.Email != "" && matchesBy(ModeEmail, ModeEmailProfile, ModeEmailPhone, ModeEmailSub, ModeEmailPhoneSub)
	byPhone := loc.Phone != "" && matchesBy(ModePhone, ModeEmailPhone, ModePhoneSub, ModeEmailPhoneSub)
	if subOnly(mode) {
		var keys []Subscription
		if byEmail {
			keys = append(keys, Subscription{Channel: ChannelEmail, Email: loc.Email})
		}
		if byPhone {
			keys = append(keys, Subscription{Channel: ChannelSMS, Phone: loc.Phone})
		}
		if mode == ModePushSub {
			keys = append(keys, Subscription{Channel: ChannelPush, Provider: loc.Provider, SubscriptionID: loc.SubscriptionID})
		}
		for i := range keys {
			keys[i].ResourceID, keys[i].KeepStatus, keys[i].KeepPriority = loc.ResourceID, true, true
		}
		d.Subscriptions = append(keys, d.Subscriptions...)
		return d
	}
	if byEmail && d.Email == nil {
		d.Email = Ptr(loc.Email)
	}
	if byPhone && d.Phones == nil {
		d.Phones = &[]string{loc.Phone}
	}
	if _, set := d.Fields[loc.FieldName]; mode == ModeCustom && !set {
		fields := map[string]any{loc.FieldName: loc.FieldValue}
		for k, v := range d.Fields {
			fields[k] = v
		}
		d.Fields = fields
	}
	return d
}

// counts: a property value counts toward its total when present (bool:
// when true).
func counts(v any, present bool) bool {
	if b, ok := v.(bool); ok {
		return present && b
	}
	return present
}

// outcome names an answer as the model predicts it: 0 for success, else
// the platform's code for its kind (400 invalid, 404 not found, 409
// conflict, 500 anything else).
func outcome(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrInvalid):
		return 400
	case errors.Is(err, ErrNotFound):
		return 404
	case errors.Is(err, ErrConflict):
		return 409
	}
	return 500
}

// ctx is the context of the machine's store calls: they are not
// cancelled.
var ctx = context.Background()
