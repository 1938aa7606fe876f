package relgraph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// feedSummary is a change as a line: seq kind op, the ids, and what
// the records held before and after.
func feedSummary(c Change) string {
	if r := c.Relation; r != nil {
		w := func(it *RelationItem) any {
			if it == nil {
				return nil
			}
			return it.Weights
		}
		return fmt.Sprintf("%d %s %s rel=%d %s→%s %v→%v", c.Seq, c.Kind, c.Op, r.Type, r.A, r.B, w(r.Before), w(r.After))
	}
	p := c.Profile
	e := func(p *Profile) string {
		if p == nil {
			return "-"
		}
		return p.Email
	}
	return fmt.Sprintf("%d %s %s db=%d %s %s→%s", c.Seq, c.Kind, c.Op, p.DatabaseID, p.ID, e(p.Before), e(p.After))
}

func readAll(t testing.TB, s *Store, since uint64) []string {
	t.Helper()
	var out []string
	for {
		page, err := s.ReadChanges(ctx, since, 3)
		must(t, err)
		if len(page) == 0 {
			return out
		}
		for _, c := range page {
			out = append(out, feedSummary(c))
			since = c.Seq
		}
	}
}

func TestFeedRecordsEveryKindOfWrite(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	a, _, err := s.ImportProfile(ctx, 1, Locator{Email: "a@x.io"}, ProfileData{})
	must(t, err)
	b, _, err := s.ImportProfile(ctx, 2, Locator{Email: "b@x.io"}, ProfileData{})
	must(t, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(a), ProfileData{Email: new("a2@x.io")})
	must(t, err)
	req := RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": int64(2)}}
	_, err = s.Overwrite(ctx, req)
	must(t, err)
	_, err = s.Overwrite(ctx, req) // byte-identical: writes nothing, no change
	must(t, err)
	req.Weights = map[string]any{"user_like": int64(3)}
	_, err = s.Modify(ctx, req)
	must(t, err)
	_, err = s.Detach(ctx, req)
	must(t, err)
	req.Weights = map[string]any{"note": "n"}
	_, err = s.Attach(ctx, req)
	must(t, err)
	_, err = s.Attach(ctx, req) // present: writes nothing
	must(t, err)
	// Refused writes append nothing.
	_, err = s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": "x"}})
	wantCode(t, err, 400)
	_, _, err = s.ImportProfile(ctx, 2, Locator{Email: "c@x.io"}, ProfileData{Email: new("b@x.io")})
	wantCode(t, err, 409)
	_, err = s.DeleteProfile(ctx, 2, idLoc(b)) // cascades: the relation first
	must(t, err)
	want := []string{
		fmt.Sprintf("1 profile.create import db=1 %s -→a@x.io", a),
		fmt.Sprintf("2 profile.create import db=2 %s -→b@x.io", b),
		fmt.Sprintf("3 profile.update update db=1 %s a@x.io→a2@x.io", a),
		fmt.Sprintf("4 relation.create overwrite rel=3 %s→%s <nil>→map[user_like:2]", a, b),
		fmt.Sprintf("5 relation.update strengthen rel=3 %s→%s map[user_like:2]→map[user_like:5]", a, b),
		fmt.Sprintf("6 relation.delete detach rel=3 %s→%s map[user_like:5]→<nil>", a, b),
		fmt.Sprintf("7 relation.create attach rel=3 %s→%s <nil>→map[note:n]", a, b),
		fmt.Sprintf("8 relation.delete cascade rel=3 %s→%s map[note:n]→<nil>", a, b),
		fmt.Sprintf("9 profile.delete delete db=2 %s b@x.io→-", b),
	}
	got := readAll(t, s, 0)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feed:\n%s\nwant:\n%s", join(got), join(want))
	}
	if tail := readAll(t, s, 7); fmt.Sprint(tail) != fmt.Sprint(want[7:]) {
		t.Fatalf("since 7: %v", tail)
	}
	info, err := s.FeedInfo(ctx)
	must(t, err)
	if info.Oldest != 1 || info.Newest != 9 || info.Bytes <= 0 || !info.Config.On {
		t.Fatalf("info %+v", info)
	}
	_, err = s.ReadChanges(ctx, 10, 5)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("since past the newest: %v", err)
	}
	for _, limit := range []int{0, MaxChangesPage + 1} {
		if _, err := s.ReadChanges(ctx, 0, limit); !errors.Is(err, ErrInvalid) {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
}

func join(lines []string) string {
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	return string(b)
}

// The feed of a cascade: the deleted profile's relations as A then as
// B, per relation type, then the profile.
func TestFeedOfACascade(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.PutRelationType(ctx, RelationType{ID: 4, Name: "follows", DatabaseA: 1, DatabaseB: 1, Properties: []Property{{Name: "w", Type: PropInt, Aggregate: AggSum}}}))
	var ids []ProfileID
	for i := range 3 {
		id, _, err := s.ImportProfile(ctx, 1, Locator{Email: fmt.Sprintf("p%d@x.io", i)}, ProfileData{})
		must(t, err)
		ids = append(ids, id)
	}
	p, _, err := s.ImportProfile(ctx, 2, Locator{Email: "sku@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	rel := func(rt uint32, a, b ProfileID) {
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: rt, A: idLoc(a), B: idLoc(b), Weights: map[string]any{map[uint32]string{3: "user_like", 4: "w"}[rt]: int64(1)}})
		must(t, err)
	}
	rel(4, ids[1], ids[0])
	rel(4, ids[0], ids[2])
	rel(4, ids[0], ids[1])
	rel(3, ids[0], p)
	rel(4, ids[2], ids[0])
	_, err = s.DeleteProfile(ctx, 1, idLoc(ids[0]))
	must(t, err)
	got := readAll(t, s, 5)
	sorted := func(x, y ProfileID) (ProfileID, ProfileID) {
		if x.String() > y.String() {
			return y, x
		}
		return x, y
	}
	b1, b2 := sorted(ids[1], ids[2])
	want := []string{
		fmt.Sprintf("6 relation.delete cascade rel=3 %s→%s map[user_like:1]→<nil>", ids[0], p),
		fmt.Sprintf("7 relation.delete cascade rel=4 %s→%s map[w:1]→<nil>", ids[0], b1),
		fmt.Sprintf("8 relation.delete cascade rel=4 %s→%s map[w:1]→<nil>", ids[0], b2),
		fmt.Sprintf("9 relation.delete cascade rel=4 %s→%s map[w:1]→<nil>", b1, ids[0]),
		fmt.Sprintf("10 relation.delete cascade rel=4 %s→%s map[w:1]→<nil>", b2, ids[0]),
		fmt.Sprintf("11 profile.delete delete db=1 %s p0@x.io→-", ids[0]),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feed:\n%s\nwant:\n%s", join(got), join(want))
	}
}

func TestFeedOffOnAndRetention(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	if _, err := s.ReadChanges(ctx, 0, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a feed never turned on: %v", err)
	}
	// Off: writes append nothing.
	_, _, err := s.ImportProfile(ctx, 1, Locator{Email: "off@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true, MaxChanges: 5}))
	for i := range 12 {
		_, _, err := s.ImportProfile(ctx, 1, Locator{Email: fmt.Sprintf("u%d@x.io", i)}, ProfileData{})
		must(t, err)
	}
	for more := true; more; {
		more, err = s.trimOnce(ctx, trimBatch)
		must(t, err)
	}
	info, err := s.FeedInfo(ctx)
	must(t, err)
	if info.Oldest != 8 || info.Newest != 12 {
		t.Fatalf("after retention to 5: %+v", info)
	}
	_, err = s.ReadChanges(ctx, 6, 10)
	if !errors.Is(err, ErrChangesDropped) {
		t.Fatalf("since 6 after retention: %v", err)
	}
	if got := readAll(t, s, 7); len(got) != 5 {
		t.Fatalf("since 7: %v", got)
	}
	mustCheck(t, s)
	// By bytes: keep what fits.
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true, MaxBytes: info.Bytes / 2}))
	for more := true; more; {
		more, err = s.trimOnce(ctx, trimBatch)
		must(t, err)
	}
	if info2, _ := s.FeedInfo(ctx); info2.Bytes > info.Bytes/2 || info2.Newest != 12 || info2.Oldest <= 8 {
		t.Fatalf("after retention to %d bytes: %+v", info.Bytes/2, info2)
	}
	// By age: everything is older than a nanosecond in the future.
	s.clock = func() time.Time { return time.Now().Add(time.Hour) }
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true, MaxAge: time.Minute}))
	for more := true; more; {
		more, err = s.trimOnce(ctx, trimBatch)
		must(t, err)
	}
	if info3, _ := s.FeedInfo(ctx); info3.Oldest != 13 || info3.Newest != 12 || info3.Bytes != 0 {
		t.Fatalf("after an hour past a minute's retention: %+v", info3)
	}
	s.clock = time.Now
	// Off drops everything; on again leaves a gap.
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "v@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{}))
	if _, err := s.ReadChanges(ctx, 12, 10); !errors.Is(err, ErrInvalid) {
		t.Fatalf("off: %v", err)
	}
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "w@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "x@x.io"}, ProfileData{})
	must(t, err)
	if _, err := s.ReadChanges(ctx, 13, 10); !errors.Is(err, ErrChangesDropped) {
		t.Fatalf("a consumer that read up to 13 before the feed was off: %v", err)
	}
	got, err := s.ReadChanges(ctx, 14, 10)
	must(t, err)
	if len(got) != 1 || got[0].Seq != 15 || got[0].Profile.After.Email != "x@x.io" {
		t.Fatalf("after the gap: %v", got)
	}
	mustCheck(t, s)
	if err := s.SetChangeFeed(ctx, FeedConfig{On: true, MaxChanges: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative bound: %v", err)
	}
}

// Numbering goes on across a reopen, and the configuration is the
// store's.
func TestFeedSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.db")
	s, err := Open(path, &Options{StrictMode: true, NoSync: true})
	must(t, err)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true, MaxChanges: 100}))
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "a@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.Close())
	s, err = Open(path, &Options{StrictMode: true, NoSync: true})
	must(t, err)
	defer s.Close()
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "b@x.io"}, ProfileData{})
	must(t, err)
	info, err := s.FeedInfo(ctx)
	must(t, err)
	if info.Newest != 2 || info.Config != (FeedConfig{On: true, MaxChanges: 100}) {
		t.Fatalf("after reopen: %+v", info)
	}
	mustCheck(t, s)
}

// The blocking iterator: a consumer started before the writes gets each
// once, in order, from many concurrent writers, some of whose writes
// fail in the same batches; it ends with its context.
func TestChangesWaitsForNewChanges(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const writers, each = 8, 25
	got := make(chan Change, writers*each)
	var consumerErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c, err := range s.Changes(cctx, 0) {
			if err != nil {
				consumerErr = err
				return
			}
			got <- *c
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				email := fmt.Sprintf("w%d-%d@x.io", w, i)
				if i%5 == 4 {
					email = "taken@x.io" // all but the first: 409, no change
				}
				s.ImportProfile(ctx, 1, Locator{Email: email}, ProfileData{})
			}
		}()
	}
	wg.Wait()
	info, err := s.FeedInfo(ctx)
	must(t, err)
	want := writers*each - writers*(each/5) + 1
	if info.Newest != uint64(want) {
		t.Fatalf("newest %d, want %d", info.Newest, want)
	}
	emails := map[string]bool{}
	for i := 1; i <= want; i++ {
		select {
		case c := <-got:
			if c.Seq != uint64(i) || c.Kind != ProfileCreated || emails[c.Profile.After.Email] {
				t.Fatalf("change %d: %s", i, feedSummary(c))
			}
			emails[c.Profile.After.Email] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("change %d never came", i)
		}
	}
	cancel()
	<-done
	if !errors.Is(consumerErr, context.Canceled) || len(got) != 0 {
		t.Fatalf("consumer ended with %v, %d more", consumerErr, len(got))
	}
}

// While the feed is on, the store's format says so, and a relgraph
// built before the feed (which reads exactly "relgraph/3") refuses it:
// it would write without appending changes. Off again, the format is
// the plain one. Check holds the format to the feed.
func TestFeedFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.db")
	s, err := Open(path, &Options{StrictMode: true, NoSync: true})
	must(t, err)
	defer func() { s.Close() }()
	testSchema(t, s)
	format := func() string {
		t.Helper()
		var v []byte
		must(t, s.View(ctx, func(tx *Tx) error {
			got, err := tx.kv.Get(index.Meta, index.FormatKey)
			v = bytes.Clone(got)
			return err
		}))
		return string(v)
	}
	if got := format(); got != "relgraph/3" {
		t.Fatalf("a new store's format is %q", got)
	}
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	if got := format(); got != "relgraph/3+feed" {
		t.Fatalf("with the feed on, the format is %q", got)
	}
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true, MaxChanges: 5})) // retention only: still on
	if got := format(); got != FormatVersionFeed {
		t.Fatalf("after a retention change, the format is %q", got)
	}
	must(t, s.Close())
	s, err = Open(path, &Options{StrictMode: true, NoSync: true})
	must(t, err)
	mustCheck(t, s)
	corrupt(t, s, func(tx kv.Txn) { must(t, tx.Put(index.Meta, index.FormatKey, []byte(FormatVersion))) })
	if problems, err := s.Check(ctx); err != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), "relgraph/3+feed") {
		t.Fatalf("a feed store marked plain: check says %v, %v", problems, err)
	}
	corrupt(t, s, func(tx kv.Txn) { must(t, tx.Delete(index.Meta, index.FormatKey)) })
	if problems, err := s.Check(ctx); err != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), "format version") {
		t.Fatalf("a store without its format: check says %v, %v", problems, err)
	}
	corrupt(t, s, func(tx kv.Txn) { must(t, tx.Put(index.Meta, index.FormatKey, []byte(FormatVersionFeed))) })
	must(t, s.SetChangeFeed(ctx, FeedConfig{}))
	if got := format(); got != "relgraph/3" {
		t.Fatalf("with the feed off again, the format is %q", got)
	}
	mustCheck(t, s)
}

// A restore run again changes no byte, so it writes no change (found by
// review: relations wrote one each time).
func TestFeedRestoreAgainWritesNoChange(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _, err := s.ImportProfile(ctx, 1, Locator{Email: "a@x.io"}, ProfileData{})
	must(t, err)
	b, _, err := s.ImportProfile(ctx, 2, Locator{Email: "b@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	at := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	restore := func() {
		must(t, s.Update(ctx, func(tx *Tx) error {
			if _, err := tx.RestoreProfileAt(1, a, ProfileData{}, at, at); err != nil {
				return err
			}
			return tx.RestoreRelation(3, a, b, Weights{"user_like": int64(2)}, at, at)
		}))
	}
	restore()
	first := readAll(t, s, 0)
	restore()
	if again := readAll(t, s, 0); len(again) != len(first) {
		t.Fatalf("the same restore again appended %v", again[len(first):])
	}
	mustCheck(t, s)
}

// An ImportBatch wakes the feed's waiters when it commits, as every
// other write does, not at their next poll (found by review: its items
// ran on a transaction whose feed number never reached the batch's).
// The committer wakes them before it answers the write, so the signal
// taken before the batch must be given once it returns.
func TestFeedImportBatchWakesWaiters(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	woken := s.feed.wait()
	res, err := s.ImportBatch(ctx, 1, []ImportItem{{Locator: Locator{Email: "batch@x.io"}}})
	must(t, err)
	must(t, res[0].Err)
	select {
	case <-woken:
	default:
		t.Fatal("an ImportBatch committed changes without waking the feed's waiters")
	}
}

// Off and on again leaves a gap even when the feed was empty: a
// consumer that read it at 0 is told its position is gone, rather than
// missing the writes made while it was off (found by review).
func TestFeedOffOnWhileEmptyLeavesAGap(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	page, err := s.ReadChanges(ctx, 0, 10)
	must(t, err)
	if len(page) != 0 {
		t.Fatal(page)
	}
	must(t, s.SetChangeFeed(ctx, FeedConfig{}))
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "while-off@x.io"}, ProfileData{})
	must(t, err)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	_, _, err = s.ImportProfile(ctx, 1, Locator{Email: "after@x.io"}, ProfileData{})
	must(t, err)
	if _, err := s.ReadChanges(ctx, 0, 10); !errors.Is(err, ErrChangesDropped) {
		t.Fatalf("a consumer at 0 after off and on: %v, want ErrChangesDropped", err)
	}
}

// Kept changes read as they were written after the relation type
// changed: a property removed once no relation of the type was stored
// still shows in the changes that held it (found by review: the feed
// became unreadable from there on, decoded against the new type).
func TestFeedReadsChangesWrittenUnderAnEarlierType(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	must(t, s.SetChangeFeed(ctx, FeedConfig{On: true}))
	a, _, err := s.ImportProfile(ctx, 1, Locator{Email: "a@x.io"}, ProfileData{})
	must(t, err)
	b, _, err := s.ImportProfile(ctx, 2, Locator{Email: "b@x.io"}, ProfileData{})
	must(t, err)
	req := RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"note": "hello"}}
	_, err = s.Overwrite(ctx, req)
	must(t, err)
	_, err = s.Detach(ctx, req)
	must(t, err)
	rt, err := s.RelationType(3)
	must(t, err)
	var props []Property
	for _, p := range rt.Properties {
		if p.Name != "note" {
			props = append(props, p)
		}
	}
	rt.Properties = props
	must(t, s.PutRelationType(ctx, rt)) // allowed: no relation of type 3 is stored
	page, err := s.ReadChanges(ctx, 2, 10)
	must(t, err)
	if len(page) != 2 || page[0].Relation.After.Weights["note"] != "hello" || page[1].Relation.Before.Weights["note"] != "hello" {
		t.Fatalf("the create and detach of a relation with a since-removed property read as %v", page)
	}
	mustCheck(t, s)
}
