package relgraph

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// Fault injection: a scripted run is repeated once per KV write and once
// per commit, failing exactly that one. Afterwards the store must equal,
// byte for byte, a fault-free store that ran only the operations the
// faulty run acknowledged, and pass Check.

var faultClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type scriptOp struct {
	name string
	run  func(s *Store) error
}

func faultScript() []scriptOp {
	a1 := Locator{Email: "a1@x.io"}
	a2 := Locator{Email: "a2@x.io"}
	b1 := Locator{FieldName: "sku", FieldValue: "s1"}
	b2 := Locator{FieldName: "sku", FieldValue: "s2"}
	rel := func(a, b Locator, w map[string]any) RelationRequest {
		return RelationRequest{RelationType: 3, A: a, B: b, Weights: w}
	}
	imp := func(db uint32, loc Locator, d ProfileData) func(s *Store) error {
		return func(s *Store) error { _, _, err := s.ImportProfile(ctx, db, loc, d); return err }
	}
	return []scriptOp{
		{"import a1", imp(1, a1, ProfileData{Fields: map[string]any{"crm_id": 1}})},
		{"import a2", imp(1, a2, ProfileData{Phones: &[]string{"+15550000001"}, Fields: map[string]any{"interests": []string{"x", "y"}}})},
		{"import b1", imp(2, b1, ProfileData{})},
		{"import b2", imp(2, b2, ProfileData{})},
		{"overwrite a1-b1", func(s *Store) error {
			_, err := s.Overwrite(ctx, rel(a1, b1, map[string]any{"user_like": 2, "donate": 5, "is_online": true}))
			return err
		}},
		{"strengthen a1-b1", func(s *Store) error { _, err := s.Modify(ctx, rel(a1, b1, map[string]any{"user_like": 3})); return err }},
		{"attach a2-b1", func(s *Store) error { _, err := s.Attach(ctx, rel(a2, b1, map[string]any{"donate": 7})); return err }},
		{"overwrite a1-b2", func(s *Store) error {
			_, err := s.Overwrite(ctx, rel(a1, b2, map[string]any{"donate": 9, "note": "x", "rating": 0.5}))
			return err
		}},
		{"update a1", func(s *Store) error {
			_, err := s.UpdateProfile(ctx, 1, a1, ProfileData{Fields: map[string]any{"city": "Oslo", "interests": []string{"y"}}})
			return err
		}},
		{"detach a2-b1", func(s *Store) error { _, err := s.Detach(ctx, rel(a2, b1, nil)); return err }},
		{"strengthen a2-b2", func(s *Store) error {
			_, err := s.Modify(ctx, rel(a2, b2, map[string]any{"user_like": -4}))
			return err
		}},
		{"delete b1", func(s *Store) error { _, err := s.DeleteProfile(ctx, 2, b1); return err }},
		{"import batch", func(s *Store) error {
			// The call is acknowledged as a whole; its items succeed or
			// fail alone (the second duplicates a1's email, if a1 exists).
			_, err := s.ImportBatch(ctx, 1, []ImportItem{
				{Data: ProfileData{Email: Ptr("c1@x.io")}},
				{Data: ProfileData{Email: Ptr("a1@x.io")}},
				{Locator: a2, Data: ProfileData{Fields: map[string]any{"vip": true}}},
			})
			return err
		}},
		{"delete a2", func(s *Store) error { _, err := s.DeleteProfile(ctx, 1, a2); return err }},
		{"overwrite a1-b2 null", func(s *Store) error {
			_, err := s.Overwrite(ctx, rel(a1, b2, map[string]any{"note": nil, "user_like": 1}))
			return err
		}},
	}
}

func openFaultStore(t *testing.T, f *faultyEngine) *Store {
	t.Helper()
	e, err := bolt.Open(filepath.Join(t.TempDir(), "f.db"), index.All, kv.Options{NoSync: true})
	must(t, err)
	f.Engine = e
	s, err := OpenEngine(f, nil)
	must(t, err)
	s.clock = func() time.Time { return faultClock }
	testSchema(t, s)
	t.Cleanup(func() { s.Close() })
	return s
}

// runScript runs the ops, alone or in groups sharing one commit, and
// returns which were acknowledged.
func runScript(t *testing.T, s *Store, ops []scriptOp, group int) []bool {
	acked := make([]bool, len(ops))
	for start := 0; start < len(ops); start += group {
		end := min(start+group, len(ops))
		if group == 1 {
			acked[start] = ops[start].run(s) == nil
			continue
		}
		// The held write's own commit may be the fault point: its error
		// is no operation's.
		errs, _ := inOneBatch(t, s, end-start, func(i int) error { return ops[start+i].run(s) })
		for i, err := range errs {
			acked[start+i] = err == nil
		}
	}
	return acked
}

func TestFaultAtEveryWriteAndCommit(t *testing.T) {
	ops := faultScript()
	for _, group := range []int{1, 4} {
		// A fault-free run counts the writes and commits to fail.
		clean := &faultyEngine{}
		s := openFaultStore(t, clean)
		clean.mu.Lock()
		base, baseCommits := clean.writes, clean.commits
		clean.mu.Unlock()
		for i, ok := range runScript(t, s, ops, group) {
			if !ok {
				t.Fatalf("group %d: op %q fails without faults", group, ops[i].name)
			}
		}
		clean.mu.Lock()
		writes, commits := clean.writes-base, clean.commits-baseCommits
		clean.mu.Unlock()
		tried := 0
		for n := 1; n <= writes+commits; n++ {
			f := &faultyEngine{}
			s := openFaultStore(t, f)
			f.mu.Lock()
			if n <= writes {
				f.failAtWrite = f.writes + n
			} else {
				f.failAtCommit = f.commits + n - writes
			}
			f.mu.Unlock()
			acked := runScript(t, s, ops, group)
			// The reference: a fault-free store running only what was
			// acknowledged, one at a time.
			ref := openFaultStore(t, &faultyEngine{})
			for i, ok := range acked {
				if ok {
					if err := ops[i].run(ref); err != nil {
						t.Fatalf("group %d fault %d: acknowledged op %q fails on replay: %v", group, n, ops[i].name, err)
					}
				}
			}
			got, want := dump(t, s), dump(t, ref)
			if got != want {
				t.Fatalf("group %d fault %d (acked %v): the store differs from the acknowledged operations\n got:\n%s\nwant:\n%s", group, n, acked, got, want)
			}
			mustCheck(t, s)
			tried++
		}
		t.Logf("group size %d: %d fault points (%d writes, %d commits)", group, tried, writes, commits)
	}
}
