package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// Review findings (2026-12-06), each failing before its fix.

// A key whose new value is too large for the cache loses its old entry
// (put returned before replacing it, leaving it stale).
func TestCacheDropsAnEntryItCannotReplace(t *testing.T) {
	c := newReadCache(16 << 10) // one entry at most 1 KiB
	c.put("k", []byte("small"), 5, 5)
	c.put("k", make([]byte, 2000), 9, 9) // a commit at rev 9 wrote a big value
	if e, ok := c.get("k"); ok {
		t.Fatalf("after the key changed at rev 9 the cache still holds rev %d (%q)", e.rev, e.val)
	}
}

// The same at the engine: a transaction reads k, writes a large value
// and commits; later transactions that read k commit (they conflicted
// for ever: the Else branch's answer could not replace the entry).
func TestLargeValueDoesNotConflictForEver(t *testing.T) {
	cl := startCluster(t, 1)
	e := dial(t, cl.clients, newPrefix(), kvtest.Keyspaces, Options{CacheBytes: 16 << 10})
	txn := begin(t, e)
	get(t, txn, "k")
	txn.Put(ks, []byte("k"), []byte("small"))
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	txn = begin(t, e)
	get(t, txn, "k")
	txn.Put(ks, []byte("k"), []byte(strings.Repeat("x", 2000)))
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		txn = begin(t, e)
		v := get(t, txn, "k")
		txn.Put(ks, []byte("j"), []byte("y"))
		if err := txn.Commit(); err != nil {
			t.Fatalf("attempt %d: read k as %d bytes, commit: %v", i, len(v), err)
		}
	}
}

// At the store: with a small cache, a profile whose record grew past a
// sixteenth of it stays writable.
func TestLargeProfileStaysWritable(t *testing.T) {
	cl := startCluster(t, 1)
	e, err := DialWith(cl.clients, newPrefix(), index.All, Options{CacheBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	s, err := relgraph.OpenEngine(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "bio", Type: relgraph.FieldString, Unindexed: true}}}); err != nil {
		t.Fatal(err)
	}
	loc := relgraph.Locator{Email: "a@x.io"}
	if _, _, err := s.ImportProfile(ctx, 1, loc, relgraph.ProfileData{Fields: map[string]any{"bio": "short"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ImportProfile(ctx, 1, loc, relgraph.ProfileData{Fields: map[string]any{"bio": strings.Repeat("b", 5000)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ImportProfile(ctx, 1, loc, relgraph.ProfileData{Fields: map[string]any{"bio": strings.Repeat("c", 5000)}}); err != nil {
		t.Fatalf("third write of the profile: %v", err)
	}
}

// A store already open on a prefix that a copy (relgraph migrate) then
// fills from a store file sees the copied schema: the copy installs it
// as a schema change, bumping the generation (it wrote none, and the
// open store kept generation 0 with its empty schema).
func TestCopyIntoASharedPrefixReachesAnOpenStore(t *testing.T) {
	cl := startCluster(t, 1)
	prefix := newPrefix()
	server := openStore(t, cl.clients, prefix) // e.g. relgraph serve, started first
	defer server.Close()

	src, err := relgraph.Open(t.TempDir()+"/src.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	schema(t, src)
	dst := openStore(t, cl.clients, prefix)
	if _, err := src.CopyTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	dst.Close()

	if _, _, err := server.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{}); err != nil {
		t.Errorf("the open store writes into the copied database 1: %v", err)
	}
	// Worse: it declares database 1 afresh over the copied declaration
	// (its schema says there is none), dropping field n.
}

// A request refused for what it read answers its refusal on a cluster
// at etcd's default --max-txn-ops, though the validation of its reads
// (one compare per key read) is too large for one etcd transaction: it
// is checked in parts (it was a storage error).
func TestRefusalStaysARefusalAtDefaultTxnOps(t *testing.T) {
	cl := startClusterWith(t, 1, 128)
	s := openStore(t, cl.clients, newPrefix())
	defer s.Close()
	schema(t, s)
	for range 5 {
		if _, err := s.ImportBatch(ctx, 1, make([]relgraph.ImportItem, 30)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.ImportProfile(ctx, 1, relgraph.Locator{}, relgraph.ProfileData{Fields: map[string]any{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	err := s.PutDatabase(ctx, relgraph.Database{ID: 1})
	if !errors.Is(err, relgraph.ErrInvalid) {
		t.Fatalf("removing a field a profile holds: %v", err)
	}
}

// Store.Database / Databases / RelationType(s), which the HTTP API
// answers GET databases with and coerces every request's fields by,
// check the stored generation (they read the kept schema, stale until
// the store happened to run a transaction).
func TestSchemaAccessorsSeeAnotherProcessesChange(t *testing.T) {
	s1, s2 := twoStores(t)
	if err := s1.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{
		{Name: "n", Type: relgraph.FieldInt}, {Name: "age", Type: relgraph.FieldInt}}}); err != nil {
		t.Fatal(err)
	}
	// A liveness bound, not a speed one: the change must arrive (within
	// 100 ms, as documented), not stay stale for ever.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := s2.Database(1)
		if err == nil && len(d.Fields) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s2.Database(1) 10 s after s1 added field age: %+v, %v", d, err)
		}
	}
}

// holdingEngine holds a writable commit's return once armed.
type holdingEngine struct {
	*Engine
	armed   chan struct{} // closed: hold the next commit with writes
	entered chan struct{}
	release chan struct{}
}

type holdingTxn struct {
	*txn
	h *holdingEngine
}

func (h *holdingEngine) Begin(c context.Context, w bool) (kv.Txn, error) {
	t, err := h.Engine.Begin(c, w)
	if err != nil {
		return nil, err
	}
	return &holdingTxn{t.(*txn), h}, nil
}

func (t *holdingTxn) Commit() error {
	writes := len(t.writes) > 0
	err := t.txn.Commit()
	select {
	case <-t.h.armed:
		if writes {
			close(t.h.entered)
			<-t.h.release
		}
	default:
	}
	return err
}

// The committer never puts back the schema its batch started with over
// a newer one a View kept meanwhile (it stored it after every commit).
func TestCommitterNeverRevertsTheKeptSchema(t *testing.T) {
	cl := startCluster(t, 1)
	prefix := newPrefix()
	s1 := openStore(t, cl.clients, prefix)
	defer s1.Close()
	schema(t, s1)
	e, err := Dial(cl.clients, prefix, index.All)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdingEngine{Engine: e, armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{})}
	s2, err := relgraph.OpenEngine(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	close(h.armed)
	done := make(chan error, 1)
	go func() {
		_, _, err := s2.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{})
		done <- err
	}()
	<-h.entered // s2's write committed; its committer has not returned yet
	if err := s1.PutDatabase(ctx, relgraph.Database{ID: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s2.View(ctx, func(*relgraph.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Database(5); err != nil {
		t.Fatalf("s2 after a View: %v", err)
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Database(5); err != nil {
		t.Fatalf("s2 answered database 5 before its write returned, and now: %v", err)
	}
}
