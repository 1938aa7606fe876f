package relgraph

import (
	"bytes"
	"strings"
	"testing"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// corrupt opens the store's engine directly and changes one key, as a
// disk fault or a foreign writer would.
func corrupt(t *testing.T, s *Store, fn func(tx kv.Txn)) {
	t.Helper()
	txn, err := s.engine.Begin(ctx, true)
	must(t, err)
	fn(txn)
	must(t, txn.Commit())
}

func firstKey(t *testing.T, s *Store, ks kv.Keyspace) (key, val []byte) {
	t.Helper()
	err := s.View(ctx, func(tx *Tx) error {
		c, err := tx.kv.Cursor(ks)
		if err != nil {
			return err
		}
		k, v := c.First()
		key, val = bytes.Clone(k), bytes.Clone(v)
		return nil
	})
	must(t, err)
	if key == nil {
		t.Fatalf("keyspace %s is empty", ks)
	}
	return key, val
}

func populated(t *testing.T) (*Store, ProfileID, ProfileID) {
	s, err := Open(t.TempDir()+"/c.db", &Options{NoSync: true})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	testSchema(t, s)
	a, b := twoProfiles(t, s)
	_, err = s.UpdateProfile(ctx, 1, idLoc(a), ProfileData{Phones: &[]string{"+15550000001"}, Fields: map[string]any{"interests": []string{"x", "y"}, "crm_id": 5}})
	must(t, err)
	_, err = s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"user_like": 2, "donate": 9}})
	must(t, err)
	if problems, err := s.Check(ctx); err != nil || len(problems) != 0 {
		t.Fatalf("clean store: %v %v", problems, err)
	}
	return s, a, b
}

func wantProblem(t *testing.T, s *Store, substrings ...string) {
	t.Helper()
	problems, err := s.Check(ctx)
	must(t, err)
	var all []string
	for _, p := range problems {
		all = append(all, p.String())
	}
	text := strings.Join(all, "\n")
	for _, sub := range substrings {
		if !strings.Contains(text, sub) {
			t.Fatalf("check report lacks %q:\n%s", sub, text)
		}
	}
}

func TestCheckFindsPlantedCorruption(t *testing.T) {
	t.Run("missing index entry", func(t *testing.T) {
		s, _, _ := populated(t)
		k, _ := firstKey(t, s, index.Phones)
		corrupt(t, s, func(tx kv.Txn) { must(t, tx.Delete(index.Phones, k)) })
		wantProblem(t, s, `phone db=1 phone="+15550000001"`, "missing")
	})
	t.Run("stray index entry", func(t *testing.T) {
		s, _, _ := populated(t)
		var ghost ProfileID
		ghost[11] = 7
		corrupt(t, s, func(tx kv.Txn) {
			must(t, tx.Put(index.Fields, index.FieldKey(1, "crm_id", int64(5), ghost), nil))
		})
		wantProblem(t, s, `field db=1 field="crm_id" value=5 id=000000000000000000000007: stray`)
		// Matching sees the stray entry as a second profile: ambiguous,
		// never a silent pick.
		_, err := s.Match(ctx, 1, Locator{FieldName: "crm_id", FieldValue: 5})
		wantCode(t, err, 409)
	})
	t.Run("flipped profile byte", func(t *testing.T) {
		s, a, _ := populated(t)
		k, v := firstKey(t, s, index.Profiles)
		for i := range v {
			bad := bytes.Clone(v)
			bad[i] ^= 0xFF
			corrupt(t, s, func(tx kv.Txn) { must(t, tx.Put(index.Profiles, k, bad)) })
			problems, err := s.Check(ctx)
			must(t, err)
			_, getErr := s.GetProfile(ctx, 1, idLoc(a))
			if len(problems) == 0 && getErr == nil {
				// A flip may still decode to a valid profile (a changed
				// letter of a tag, say): then the index disagrees.
				t.Fatalf("flip of byte %d went unnoticed", i)
			}
		}
	})
	t.Run("corrupt relation and counter", func(t *testing.T) {
		s, a, b := populated(t)
		corrupt(t, s, func(tx kv.Txn) {
			must(t, tx.Put(index.Adjacency, index.EdgeKey(3, a, b), []byte{0xc1}))
			must(t, tx.Delete(index.ReverseEdges, index.ReverseEdgeKey(3, b, a)))
			must(t, tx.Put(index.Adjacency, index.CounterKey(3, b), []byte{0x80}))
		})
		wantProblem(t, s, "too short for its checksum", "edge_b", "missing", "counter of a profile with no relations")
		_, err := s.Relations(ctx, RelationsQuery{RelationType: 3, A: idLoc(a)})
		if !strings.Contains(err.Error(), "checksum") || codeOf(err) != 500 {
			t.Fatalf("reading a corrupt relation: %v", err)
		}
	})
	t.Run("wrong top list", func(t *testing.T) {
		s, a, b := populated(t)
		for _, tc := range []struct {
			name string
			top  []record.TopEntry
			want string
		}{
			{"wrong value", []record.TopEntry{newTopEntry(PropInt, int64(8), b)}, "top list is not the head of the ranking"},
			{"empty while a relation holds it", nil, "top list of 0 entries while 1 relations hold it, fewer than 3"},
			{"too long", sevenEntries(b), "top list of 7 entries, more than 6"},
		} {
			rec := &record.Counter{Total: 1, Props: map[string]record.PropCounter{
				"user_like": {Total: 1, SumInt: record.Int128{Lo: 2}}, "donate": {Total: 1, Top: tc.top}}}
			v, err := record.EncodeCounter(rec)
			must(t, err)
			corrupt(t, s, func(tx kv.Txn) { must(t, tx.Put(index.Adjacency, index.CounterKey(3, a), v)) })
			wantProblem(t, s, `property "donate": `+tc.want)
		}
		// A write reading the wrong list refuses rather than building on it.
		_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(b), Weights: map[string]any{"donate": 1}})
		if codeOf(err) != 500 {
			t.Fatalf("overwrite on a corrupt top list: %v", err)
		}
	})
	t.Run("garbage keys", func(t *testing.T) {
		s, _, _ := populated(t)
		corrupt(t, s, func(tx kv.Txn) {
			for _, ks := range index.All {
				must(t, tx.Put(ks, []byte{1}, []byte{2}))
			}
		})
		problems, err := s.Check(ctx)
		must(t, err)
		if len(problems) < len(index.All)-1 {
			t.Fatalf("only %d problems for garbage in every keyspace: %v", len(problems), problems)
		}
	})
}

// sevenEntries is a well-formed top list one longer than N=3 allows.
func sevenEntries(b ProfileID) []record.TopEntry {
	var out []record.TopEntry
	for v := int64(9); v > 2; v-- {
		out = append(out, newTopEntry(PropInt, v, b))
	}
	return out
}
