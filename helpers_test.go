package relgraph

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// openTest opens a fresh store in t's temp dir, in strict mode (Check
// inside every commit) and without fsync, and checks it on cleanup.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "test.db"), &Options{StrictMode: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.mu.RLock()
		closed := s.closed
		s.mu.RUnlock()
		if closed {
			return
		}
		mustCheck(t, s)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// mustCheck fails the test on any Check problem.
func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	problems, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("check: %s", p)
	}
}

// testSchema declares database 1 (customers) and 2 (products), and
// relation type 3 from 1 to 2 with one property of each aggregate.
func testSchema(t testing.TB, s *Store) {
	t.Helper()
	must(t, s.PutDatabase(ctx, Database{ID: 1, Name: "customers", Fields: []Field{
		{Name: "crm_id", Type: FieldInt},
		{Name: "city", Type: FieldString},
		{Name: "score", Type: FieldFloat},
		{Name: "vip", Type: FieldBool},
		{Name: "birthday", Type: FieldDate},
		{Name: "interests", Type: FieldTags},
		{Name: "notes", Type: FieldString, Unindexed: true},
	}}))
	must(t, s.PutDatabase(ctx, Database{ID: 2, Name: "products", Fields: []Field{
		{Name: "sku", Type: FieldString},
	}}))
	must(t, s.PutRelationType(ctx, RelationType{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []Property{
		{Name: "user_like", Type: PropInt, Aggregate: AggSum},
		{Name: "donate", Type: PropInt, Aggregate: AggTop, Top: 3},
		{Name: "is_online", Type: PropBool, Aggregate: AggCount},
		{Name: "rating", Type: PropFloat, Aggregate: AggSum},
		{Name: "note", Type: PropString},
	}}))
}

func must(t fataler, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// dump renders every key and value of every keyspace: two dumps are
// equal exactly when the stores hold the same bytes.
func dump(t fataler, s *Store) string {
	t.Helper()
	var b strings.Builder
	err := s.View(ctx, func(tx *Tx) error {
		return dumpTx(&b, tx.kv)
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func dumpTx(b *strings.Builder, tx kv.Tx) error {
	for _, ks := range index.All {
		c, err := tx.Cursor(ks)
		if err != nil {
			return err
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			fmt.Fprintf(b, "%s %x = %x\n", ks, k, v)
		}
	}
	return nil
}

// fataler is what both *testing.T and *rapid.T offer.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

// codeOf names an error's kind by the platform's code for it, so test
// tables read as the specification does: 0 success, 400 invalid, 404
// not found, 409 conflict (ambiguous included), 500 the store's fault.
// (The core knows no codes; package api maps kinds the same way.)
func codeOf(err error) int {
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

// wantCode fails unless err is of the kind the code names (codeOf).
func wantCode(t testing.TB, err error, code int) {
	t.Helper()
	if codeOf(err) != code {
		t.Fatalf("got error %v (code %d), want code %d", err, codeOf(err), code)
	}
}

func idLoc(id ProfileID) Locator { return Locator{ProfileID: id.String()} }

// ctx is the context of the tests' store calls: they are not cancelled.
var ctx = context.Background()

// mustID parses a profile id.
func mustID(t testing.TB, s string) ProfileID {
	t.Helper()
	id, err := ParseProfileID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
