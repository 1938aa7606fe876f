package relgraph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/wal"
)

func TestOpenRefusesForeignAndNewerFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	must(t, os.WriteFile(junk, []byte(strings.Repeat("not a database ", 1000)), 0o600))
	_, err := Open(junk, nil)
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("junk file: %v", err)
	}
	// A relgraph file claiming a future format version.
	path := filepath.Join(dir, "future.db")
	s, err := Open(path, nil)
	must(t, err)
	must(t, s.Close())
	e, err := wal.Open(path, index.All, kv.Options{}, wal.Config{})
	must(t, err)
	txn, err := e.Begin(ctx, true)
	must(t, err)
	must(t, txn.Put(index.Meta, index.FormatKey, []byte("relgraph/99")))
	must(t, txn.Commit())
	must(t, e.Close())
	_, err = Open(path, nil)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"relgraph/99"`) || !strings.Contains(err.Error(), "start a new store") {
		t.Fatalf("future version: %v", err)
	}
	// A truncated file.
	trunc := filepath.Join(dir, "trunc.db")
	s, err = Open(trunc, nil)
	must(t, err)
	must(t, s.Close())
	must(t, os.Truncate(trunc, 100))
	if _, err = Open(trunc, nil); err == nil {
		t.Fatal("truncated file opened")
	}
}

// TestOpenLockedByOtherProcess runs a second process on the same file:
// it must fail with a clear error after the timeout, not hang.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if path := os.Getenv("RELGRAPH_OPEN_CHILD"); path != "" {
		_, err := Open(path, &Options{Timeout: 200 * time.Millisecond})
		fmt.Print(err)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "locked.db")
	s, err := Open(path, nil)
	must(t, err)
	defer s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedByOtherProcess$")
	cmd.Env = append(os.Environ(), "RELGRAPH_OPEN_CHILD="+path)
	out, err := cmd.Output()
	must(t, err)
	if !strings.Contains(string(out), "locked by another process") {
		t.Fatalf("second process said %q", out)
	}
}

func TestClosedStoreRefuses(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), nil)
	must(t, err)
	must(t, s.PutDatabase(ctx, Database{ID: 1}))
	must(t, s.Close())
	if _, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := s.GetProfile(ctx, 1, Locator{Email: "a@b.co"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestSchemaChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := Open(path, &Options{StrictMode: true, NoSync: true})
	must(t, err)
	testSchema(t, s)
	before := dump(t, s)
	testSchema(t, s) // idempotent
	if dump(t, s) != before {
		t.Fatal("re-applying the schema wrote")
	}
	d, _ := s.Database(1)
	d.Fields[0].Type = FieldString
	wantCode(t, s.PutDatabase(ctx, d), 400)
	wantCode(t, s.PutDatabase(ctx, Database{ID: 5, Fields: []Field{{Name: "email", Type: FieldString}}}), 400)
	wantCode(t, s.PutDatabase(ctx, Database{ID: 5, Fields: []Field{{Name: "_x", Type: FieldString}}}), 400)
	wantCode(t, s.PutDatabase(ctx, Database{ID: 5, Fields: []Field{{Name: "x", Type: "blob"}}}), 400)
	wantCode(t, s.PutRelationType(ctx, RelationType{ID: 9, DatabaseA: 1, DatabaseB: 7}), 404)
	wantCode(t, s.PutRelationType(ctx, RelationType{ID: 9, DatabaseA: 1, DatabaseB: 2, Properties: []Property{{Name: "x", Type: PropBool, Aggregate: AggSum}}}), 400)
	// Removing a field is refused while a profile holds it.
	id, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{Fields: map[string]any{"city": "Rome"}})
	must(t, err)
	d, _ = s.Database(1)
	var without []Field
	for _, f := range d.Fields {
		if f.Name != "city" {
			without = append(without, f)
		}
	}
	d.Fields = without
	wantCode(t, s.PutDatabase(ctx, d), 400)
	_, err = s.UpdateProfile(ctx, 1, idLoc(id), ProfileData{Fields: map[string]any{"city": nil}})
	must(t, err)
	must(t, s.PutDatabase(ctx, d))
	// Adding a field works and is matched on at once.
	d.Fields = append(d.Fields, Field{Name: "zip", Type: FieldString})
	must(t, s.PutDatabase(ctx, d))
	_, err = s.UpdateProfile(ctx, 1, idLoc(id), ProfileData{Fields: map[string]any{"zip": "75001"}})
	must(t, err)
	if got, err := s.Match(ctx, 1, Locator{FieldName: "zip", FieldValue: "75001"}); err != nil || got != id {
		t.Fatalf("match new field: %v %v", got, err)
	}
	// The schema survives a reopen.
	must(t, s.Close())
	s2, err := Open(path, nil)
	must(t, err)
	defer s2.Close()
	d2, err := s2.Database(1)
	must(t, err)
	if len(d2.Fields) != len(d.Fields) {
		t.Fatalf("after reopen %+v", d2)
	}
	if rts := s2.RelationTypes(); len(rts) != 1 || rts[0].Properties[1].Top != 3 {
		t.Fatalf("relation types after reopen %+v", rts)
	}
}

// TestFailedProfileCallsChangeNothing compares full dumps around every
// kind of failing profile call.
func TestFailedProfileCallsChangeNothing(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	_, _, err := s.ImportProfile(ctx, 1, Locator{Email: "a@x.io"}, ProfileData{Phones: &[]string{"+15550000001"}, Fields: map[string]any{"interests": []string{"t1"}}})
	must(t, err)
	b, _, err := s.ImportProfile(ctx, 1, Locator{Email: "b@x.io"}, ProfileData{Phones: &[]string{"+15550000001"}, Fields: map[string]any{"interests": []string{"t1"}}})
	must(t, err)
	before := dump(t, s)
	cases := []struct {
		name string
		err  error
		code int
	}{}
	add := func(name string, code int, err error) {
		cases = append(cases, struct {
			name string
			err  error
			code int
		}{name, err, code})
	}
	_, _, err = s.ImportProfile(ctx, 1, Locator{}, ProfileData{Email: Ptr("A@x.io")})
	add("duplicate email on create", 409, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(b), ProfileData{Email: Ptr("a@x.io"), Fields: map[string]any{"city": "Oslo"}})
	add("duplicate email on update", 409, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(b), ProfileData{Fields: map[string]any{"crm_id": "twelve"}})
	add("bad type", 400, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(b), ProfileData{Fields: map[string]any{"city": "Oslo", "shoe_size": 44}})
	add("unknown field", 400, err)
	_, _, err = s.ImportProfile(ctx, 1, Locator{Phone: "+15550000001"}, ProfileData{Fields: map[string]any{"city": "Oslo"}})
	add("ambiguous phone", 409, err)
	_, err = s.DeleteProfile(ctx, 1, Locator{FieldName: "interests", FieldValue: []string{"t1"}})
	add("ambiguous tags", 409, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(b), ProfileData{Phones: &[]string{"12"}})
	add("bad phone", 400, err)
	_, err = s.UpdateProfile(ctx, 1, idLoc(b), ProfileData{Subscriptions: []Subscription{{ResourceID: 1, Channel: "fax"}}})
	add("bad channel", 400, err)
	_, _, err = s.ImportProfile(ctx, 1, Locator{}, ProfileData{Fields: map[string]any{"city": strings.Repeat("x", MaxIndexedStringBytes+1)}})
	add("oversize string", 400, err)
	_, _, err = s.ImportProfile(ctx, 7, Locator{}, ProfileData{})
	add("unknown database", 404, err)
	for _, c := range cases {
		if codeOf(c.err) != c.code {
			t.Errorf("%s: got %v, want code %d", c.name, c.err, c.code)
		}
		if c.err != nil && !strings.Contains(c.err.Error(), " ") {
			t.Errorf("%s: unhelpful message %q", c.name, c.err)
		}
	}
	if dump(t, s) != before {
		t.Fatal("a failed call changed the store")
	}
}

// blockCommitter queues a write that holds the committer until release
// is closed, so the writes queued meanwhile share the next batch.
func blockCommitter(t *testing.T, s *Store) (release chan struct{}, done chan error) {
	release, started, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx *Tx) error { close(started); <-release; return nil })
	}()
	<-started
	return release, done
}

// inOneBatch calls fn(0), …, fn(n-1) from n goroutines, each queued
// behind a held write, so all n share the next group commit. It returns
// each call's error, and the held write's.
func inOneBatch(t *testing.T, s *Store, n int, fn func(i int) error) ([]error, error) {
	release, blocked := blockCommitter(t, s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
		waitQueued(t, s, i+1)
	}
	close(release)
	wg.Wait()
	return errs, <-blocked
}

// importBs imports n profiles into database 2.
func importBs(t testing.TB, s *Store, n int) []ProfileID {
	var bs []ProfileID
	for i := 0; i < n; i++ {
		b, _, err := s.ImportProfile(ctx, 2, Locator{}, ProfileData{})
		must(t, err)
		bs = append(bs, b)
	}
	return bs
}

// waitQueued waits until n writes are queued for the committer.
func waitQueued(t testing.TB, s *Store, n int) {
	for deadline := time.Now().Add(10 * time.Second); len(s.queue) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes queued, want %d", len(s.queue), n)
		}
	}
}

func TestGroupCommitSharesOneCommitAndIsolatesFailures(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _ := twoProfiles(t, s)
	bs := importBs(t, s, 5)
	start := s.Stats()
	errs, err := inOneBatch(t, s, len(bs), func(i int) error {
		w := map[string]any{"user_like": 1}
		if i == 2 {
			w["user_like"] = "bad" // fails validation
		}
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(bs[i]), Weights: w})
		return err
	})
	must(t, err)
	st := s.Stats()
	if st.Commits-start.Commits != 2 || st.Requests-start.Requests != 6 {
		t.Fatalf("6 writes took %d commits (%d requests), want 2", st.Commits-start.Commits, st.Requests-start.Requests)
	}
	for i, err := range errs {
		if (i == 2) != (err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Total != 4 || c.Props["user_like"].Sum != int64(4) {
		t.Fatalf("counter %+v", c)
	}
}

func TestConcurrentStrengthenSums(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	a, _ := twoProfiles(t, s)
	bs := importBs(t, s, 4)
	const writers, each = 32, 40
	var wg sync.WaitGroup
	want := make([]int64, len(bs))
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := (w + i) % len(bs)
				d := int64(w*7-i) % 13
				_, err := s.Modify(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(bs[k]), Weights: map[string]any{"user_like": d, "rating": 0.5}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[k] += d
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
	must(t, err)
	var total int64
	for _, it := range page.Items {
		k := -1
		for i, b := range bs {
			if b == it.ProfileB {
				k = i
			}
		}
		if it.Weights["user_like"] != want[k] {
			t.Errorf("relation to %s: user_like %v, want %d", it.ProfileB, it.Weights["user_like"], want[k])
		}
		total += want[k]
	}
	c, err := s.Counter(ctx, 3, idLoc(a))
	must(t, err)
	if c.Props["user_like"].Sum != total || c.Props["rating"].Sum != float64(writers*each)*0.5 {
		t.Fatalf("counter %+v, want sum %d", c.Props, total)
	}
	st := s.Stats()
	t.Logf("%d requests in %d commits", st.Requests, st.Commits)
}

// faultyEngine fails the writes its predicate picks, and commits when
// failCommit is set.
type faultyEngine struct {
	kv.Engine
	mu         sync.Mutex
	failWrite  func(ks kv.Keyspace, key []byte) bool
	failCommit bool
	writes     int // every Put and Delete so far
	commits    int // every Commit so far
	// failAtWrite and failAtCommit, when > 0, fail exactly that write or
	// commit (counting from 1).
	failAtWrite, failAtCommit int
}

var errInjected = errors.New("injected fault")

func (f *faultyEngine) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	t, err := f.Engine.Begin(ctx, writable)
	if err != nil {
		return nil, err
	}
	return &faultyTxn{Txn: t, f: f}, nil
}

type faultyTxn struct {
	kv.Txn
	f *faultyEngine
}

func (t *faultyTxn) fault(ks kv.Keyspace, key []byte) error {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.f.writes++
	if t.f.failWrite != nil && t.f.failWrite(ks, key) || t.f.writes == t.f.failAtWrite {
		return errInjected
	}
	return nil
}

func (t *faultyTxn) Put(ks kv.Keyspace, key, value []byte) error {
	if err := t.fault(ks, key); err != nil {
		return err
	}
	return t.Txn.Put(ks, key, value)
}

func (t *faultyTxn) Delete(ks kv.Keyspace, key []byte) error {
	if err := t.fault(ks, key); err != nil {
		return err
	}
	return t.Txn.Delete(ks, key)
}

func (t *faultyTxn) Commit() error {
	t.f.mu.Lock()
	t.f.commits++
	fail := t.f.failCommit || t.f.commits == t.f.failAtCommit
	t.f.mu.Unlock()
	if fail {
		return errInjected
	}
	return t.Txn.Commit()
}

func openFaulty(t *testing.T) (*Store, *faultyEngine) {
	e, err := bolt.Open(filepath.Join(t.TempDir(), "faulty.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	f := &faultyEngine{Engine: e}
	s, err := OpenEngine(f, &Options{StrictMode: true})
	must(t, err)
	t.Cleanup(func() { mustCheck(t, s); s.Close() })
	return s, f
}

// TestFaultMidOperationRollsBackOnlyIt fails one overwrite after it
// wrote the relation but before its reverse edge: that overwrite is
// undone whole, and its batch neighbours commit correct.
func TestFaultMidOperationRollsBackOnlyIt(t *testing.T) {
	s, f := openFaulty(t)
	testSchema(t, s)
	a, _ := twoProfiles(t, s)
	bs := importBs(t, s, 5)
	victim := index.ReverseEdgeKey(3, bs[2], a)
	f.mu.Lock()
	f.failWrite = func(ks kv.Keyspace, key []byte) bool {
		return ks == index.ReverseEdges && string(key) == string(victim)
	}
	f.mu.Unlock()
	errs, err := inOneBatch(t, s, len(bs), func(i int) error {
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(bs[i]), Weights: map[string]any{"user_like": 1, "donate": i}})
		return err
	})
	must(t, err)
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, errInjected) || !errors.Is(err, ErrStorage) {
				t.Fatalf("victim: %v", err)
			}
		} else if err != nil {
			t.Fatalf("neighbour %d: %v", i, err)
		}
	}
	page, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
	must(t, err)
	if page.Total != 4 || len(page.Items) != 4 {
		t.Fatalf("relations %+v", page)
	}
	for _, it := range page.Items {
		if it.ProfileB == bs[2] {
			t.Fatal("the failed overwrite left its relation")
		}
	}
}

func TestFailedCommitFailsItsBatchAndChangesNothing(t *testing.T) {
	s, f := openFaulty(t)
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	before := dump(t, s)
	f.mu.Lock()
	f.failCommit = true
	f.mu.Unlock()
	_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": 1}})
	if !errors.Is(err, errInjected) || codeOf(err) != 500 {
		t.Fatalf("overwrite with failing commit: %v", err)
	}
	f.mu.Lock()
	f.failCommit = false
	f.mu.Unlock()
	if dump(t, s) != before {
		t.Fatal("a failed commit changed the store")
	}
}

func TestPanickingWriteIsContained(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	err := s.Update(ctx, func(tx *Tx) error {
		if _, _, err := tx.ImportProfile(1, Locator{}, ProfileData{}); err != nil {
			return err
		}
		panic("boom")
	})
	if codeOf(err) != 500 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic: %v", err)
	}
	// The committer is still alive and nothing was stored.
	id, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{})
	must(t, err)
	if id.String()[8:] != "0000000000000001" {
		t.Fatalf("the panicking write left its id sequence: %s", id)
	}
}

// TestFailedUpdateInBatchIsUndone: a user's Update that writes and then
// fails, in a batch with others, is undone exactly; its neighbours
// commit.
func TestFailedUpdateInBatchIsUndone(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	before := dump(t, s)
	errs, err := inOneBatch(t, s, 3, func(i int) error {
		return s.Update(ctx, func(tx *Tx) error {
			_, _, err := tx.ImportProfile(1, Locator{}, ProfileData{Email: Ptr(fmt.Sprintf("u%d@x.io", i))})
			if err == nil && i == 1 {
				return errors.New("changed my mind")
			}
			return err
		})
	})
	must(t, err)
	if errs[0] != nil || errs[2] != nil || errs[1] == nil || errs[1].Error() != "changed my mind" {
		t.Fatalf("errors %v", errs)
	}
	if _, err := s.Match(ctx, 1, Locator{Email: "u1@x.io"}); codeOf(err) != 404 {
		t.Fatalf("the failed update's profile: %v", err)
	}
	for _, e := range []string{"u0@x.io", "u2@x.io"} {
		if _, err := s.Match(ctx, 1, Locator{Email: e}); err != nil {
			t.Fatalf("neighbour %s: %v", e, err)
		}
	}
	if dump(t, s) == before {
		t.Fatal("nothing committed")
	}
}

// TestDiskFull: with MaxSize, writes go on into the log while
// checkpoints into the full file fail, until the log's memory bound;
// then a write fails with ErrStorage and changes nothing. What was
// acknowledged stays (in the log, if not in the file), reads go on, and
// the store reopens without the cap with every acknowledged write.
func TestDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.db")
	s, err := Open(path, &Options{NoSync: true, Engine: wal.Config{CheckpointBytes: 64 << 10, File: bolt.Config{MaxSize: 1 << 20}}})
	must(t, err)
	testSchema(t, s)
	var ids []ProfileID
	var failure error
	for i := 0; i < 100000 && failure == nil; i++ {
		before, err := s.Digest(ctx)
		must(t, err)
		var id ProfileID
		id, _, failure = s.ImportProfile(ctx, 1, Locator{}, ProfileData{Email: Ptr(fmt.Sprintf("u%d@x.io", i)), Fields: map[string]any{"notes": strings.Repeat("x", 2000)}})
		if failure == nil {
			ids = append(ids, id)
			continue
		}
		if after, _ := s.Digest(ctx); after != before {
			t.Fatal("the write that did not fit changed the store")
		}
	}
	if !errors.Is(failure, ErrStorage) {
		t.Fatalf("a full store answered %v after %d profiles", failure, len(ids))
	}
	mustCheck(t, s)
	if _, err := s.GetProfile(ctx, 1, idLoc(ids[len(ids)-1])); err != nil {
		t.Fatalf("read from a full store: %v", err)
	}
	// Close cannot checkpoint into the full file: the log keeps the
	// acknowledged writes, and a reopening without the cap replays them.
	if err := s.Close(); err == nil {
		t.Fatal("Close checkpointed into a full file")
	}
	s, err = Open(path, &Options{NoSync: true})
	must(t, err)
	defer s.Close()
	for _, id := range ids {
		if _, err := s.GetProfile(ctx, 1, idLoc(id)); err != nil {
			t.Fatalf("an acknowledged profile is missing after reopening: %v", err)
		}
	}
	if _, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{}); err != nil {
		t.Fatalf("write after reopening without the cap: %v", err)
	}
	mustCheck(t, s)
	t.Logf("%d profiles fit in 1 MiB; then: %v", len(ids), failure)
}

// TestReadOnlyOpensShareTheFile: read-only opens of one file coexist;
// a writer's open waits for them and fails after its timeout.
func TestReadOnlyOpensShareTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	s, err := Open(path, nil)
	must(t, err)
	must(t, s.Close())
	r1, err := Open(path, &Options{ReadOnly: true})
	must(t, err)
	defer r1.Close()
	r2, err := Open(path, &Options{ReadOnly: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("a second read-only open: %v", err)
	}
	defer r2.Close()
	if _, err := Open(path, &Options{Timeout: 200 * time.Millisecond}); !errors.Is(err, ErrStorage) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a writer beside readers: %v", err)
	}
}

// TestApplySchemaIsAllOrNothing: a schema with several problems is
// refused whole, naming each problem, and writes nothing; a relation
// type may name a database of the same call.
func TestApplySchemaIsAllOrNothing(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	before := dump(t, s)
	err := s.ApplySchema(ctx, []Database{
		{ID: 1, Fields: []Field{{Name: "crm_id", Type: FieldString}}}, // a type change
		{ID: 7, Fields: []Field{{Name: "fresh", Type: FieldInt}}},     // fine on its own
	}, []RelationType{
		{ID: 8, DatabaseA: 7, DatabaseB: 9}, // database 9 does not exist
	})
	for _, want := range []string{"2 problems", "database 1: field \"crm_id\": changing type", "relation type 8: database 9 not found"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want it to say %q", err, want)
		}
	}
	if dump(t, s) != before {
		t.Fatal("a refused schema wrote something")
	}
	if _, err := s.Database(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("database 7 was declared: %v", err)
	}
	must(t, s.ApplySchema(ctx, []Database{{ID: 7}}, []RelationType{{ID: 8, DatabaseA: 7, DatabaseB: 1}}))
	if _, err := s.RelationType(8); err != nil {
		t.Fatal(err)
	}
	err = s.ApplySchema(ctx, []Database{{ID: 5, Fields: []Field{{Name: "1st", Type: FieldInt}}}}, []RelationType{{ID: 6, Properties: []Property{{Name: "x", Type: "blob"}}}})
	if err == nil || !strings.Contains(err.Error(), "database 5: field name \"1st\"") || !strings.Contains(err.Error(), "relation type 6: database_a and database_b") {
		t.Fatalf("validation problems: %v", err)
	}
}

// TestCancelledWhileQueuedIsNotApplied: a write whose context ends while
// it waits in the queue returns the context's error and never runs; a
// write whose batch has begun returns the outcome it had, whatever its
// context does; a context already ended queues nothing.
func TestCancelledWhileQueuedIsNotApplied(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	count := func() int {
		n := 0
		must(t, s.EachProfile(ctx, 1, func(*Profile) error { n++; return nil }))
		return n
	}

	release, blocked := blockCommitter(t, s)
	queued, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, _, err := s.ImportProfile(queued, 1, Locator{Email: "queued@x.io"}, ProfileData{})
		result <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while queued: %v", err)
	}
	close(release)
	must(t, <-blocked)
	if _, err := s.Match(ctx, 1, Locator{Email: "queued@x.io"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the abandoned write was applied: %v", err)
	}

	running, cancelRunning := context.WithCancel(context.Background())
	started, finish := make(chan struct{}), make(chan struct{})
	go func() {
		result <- s.Update(running, func(tx *Tx) error {
			close(started)
			<-finish
			_, _, err := tx.ImportProfile(1, Locator{Email: "begun@x.io"}, ProfileData{})
			return err
		})
	}()
	<-started
	cancelRunning()
	close(finish)
	if err := <-result; err != nil {
		t.Fatalf("a write whose batch had begun: %v", err)
	}
	if _, err := s.Match(ctx, 1, Locator{Email: "begun@x.io"}); err != nil {
		t.Fatalf("the begun write is missing: %v", err)
	}

	before := count()
	if _, _, err := s.ImportProfile(running, 1, Locator{}, ProfileData{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: %v", err)
	}
	if count() != before {
		t.Fatal("a write with an ended context was applied")
	}
}

// TestOptionsAreValidated: impossible values are refused by name, and
// OpenEngine refuses the engine's options rather than ignoring them.
func TestOptionsAreValidated(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "a.db"), &Options{MaxBatch: -1})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "invalid options: MaxBatch -1 is negative") {
		t.Fatalf("negative options: %v", err)
	}
	_, err = Open(filepath.Join(dir, "a.db"), &Options{Engine: wal.Config{File: bolt.Config{MaxSize: -5, InitialMmapSize: -1}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "InitialMmapSize -1 is negative; MaxSize -5 is negative") {
		t.Fatalf("a negative engine config: %v", err)
	}
	_, err = Open(filepath.Join(dir, "a.db"), &Options{Engine: bolt.Config{}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "a store file takes a wal.Config, not bolt.Config") {
		t.Fatalf("another engine's config: %v", err)
	}
	e, err := bolt.Open(filepath.Join(dir, "b.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	defer e.Close()
	_, err = OpenEngine(e, &Options{NoSync: true, Timeout: time.Second})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "[Timeout NoSync] are the engine's") {
		t.Fatalf("engine options on OpenEngine: %v", err)
	}
	_, err = Open("nope://x", nil)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `no engine for "nope" locations`) {
		t.Fatalf("an unknown scheme: %v", err)
	}
}

// TestCompactLeavesAnExistingFileAlone: Compact onto an existing file is
// refused as invalid, and the file is left as it was (it was deleted);
// onto a new file it makes a verified copy.
func TestCompactLeavesAnExistingFileAlone(t *testing.T) {
	s := openTest(t)
	testSchema(t, s)
	dir := t.TempDir()
	precious := filepath.Join(dir, "p.txt")
	must(t, os.WriteFile(precious, []byte("precious"), 0o600))
	err := s.Compact(ctx, precious)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("compact onto an existing file: %v", err)
	}
	if got, err := os.ReadFile(precious); err != nil || string(got) != "precious" {
		t.Fatalf("the existing file became %q (%v)", got, err)
	}
	must(t, s.Compact(ctx, filepath.Join(dir, "copy.db")))
	must(t, Verify(ctx, filepath.Join(dir, "copy.db")))
}
