package etcd

import (
	"errors"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

const ks = kv.Keyspace("a")

// begin starts a writable transaction on e, failing the test on error.
func begin(t *testing.T, e *Engine) kv.Txn {
	t.Helper()
	txn, err := e.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	return txn
}

func get(t *testing.T, tx kv.Tx, key string) string {
	t.Helper()
	v, err := tx.Get(ks, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// dial opens an engine on prefix of the cluster at endpoints, closed
// when the test ends.
func dial(t *testing.T, endpoints []string, prefix string, keyspaces []kv.Keyspace, opts Options) *Engine {
	t.Helper()
	e, err := DialWith(endpoints, prefix, keyspaces, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// twoStores opens two stores on one new prefix of a one-member
// cluster, as two processes would, the schema declared by the first.
func twoStores(t *testing.T) (s1, s2 *relgraph.Store) {
	c := startCluster(t, 1)
	prefix := newPrefix()
	s1 = openStore(t, c.clients, prefix)
	t.Cleanup(func() { s1.Close() })
	schema(t, s1)
	s2 = openStore(t, c.clients, prefix)
	t.Cleanup(func() { s2.Close() })
	return s1, s2
}

func metric(e *Engine, name string) float64 {
	for _, m := range e.Metrics() {
		if m.Name == name {
			return m.Value
		}
	}
	return -1
}

// A stale cache entry never answers a committed write: a second client
// (another process) changes a key between the cached read and the
// commit, and the commit fails as a conflict; the entry is then
// dropped, and the transaction run again reads the new value.
func TestStaleCacheEntryNeverAnswersACommit(t *testing.T) {
	c := startCluster(t, 1)
	prefix := newPrefix()
	e := dial(t, c.clients, prefix, kvtest.Keyspaces, Options{})
	other := dial(t, c.clients, prefix, kvtest.Keyspaces, Options{CacheBytes: -1})
	put := func(eng *Engine, key, val string) {
		t.Helper()
		txn := begin(t, eng)
		if err := txn.Put(ks, []byte(key), []byte(val)); err != nil {
			t.Fatal(err)
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	// e reads k (absent) and writes it: the cache holds k = 1.
	txn := begin(t, e)
	if v := get(t, txn, "k"); v != "" {
		t.Fatalf("k = %q before any write", v)
	}
	txn.Put(ks, []byte("k"), []byte("1"))
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	hits := metric(e, "etcd_cache_hits_total")
	txn = begin(t, e)
	if v := get(t, txn, "k"); v != "1" || metric(e, "etcd_cache_hits_total") != hits+1 {
		t.Fatalf("k = %q, cache hits %v → %v: the committed write should be cached", v, hits, metric(e, "etcd_cache_hits_total"))
	}
	txn.Rollback()

	// Another process sets k = 2; e's entry is stale.
	put(other, "k", "2")
	txn = begin(t, e)
	if v := get(t, txn, "k"); v != "1" {
		t.Fatalf("k = %q: the test needs the stale entry", v)
	}
	txn.Put(ks, []byte("j"), []byte("derived from 1"))
	if err := txn.Commit(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("a write derived from a stale entry committed: %v", err)
	}
	check := begin(t, other)
	if v := get(t, check, "j"); v != "" {
		t.Fatalf("j = %q after the conflict", v)
	}
	check.Rollback()
	// The failed commit brought the keys it read back as they are now
	// (its Else branch): the next read of k is the new value, from the
	// cache, with no round trip.
	txn = begin(t, e)
	trips := metric(e, "etcd_round_trips_total")
	if v := get(t, txn, "k"); v != "2" || metric(e, "etcd_round_trips_total") != trips {
		t.Fatalf("after the conflict k = %q (want 2), read in %v round trips (want 0)", v, metric(e, "etcd_round_trips_total")-trips)
	}
	txn.Rollback()

	// A transaction that writes nothing, with a stale read: Commit and
	// Validate say so, where a snapshot read would need no check.
	put(other, "k", "3")
	txn = begin(t, e)
	get(t, txn, "k") // the cached 2
	if err := txn.(kv.Validator).Validate(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("validate after a stale read: %v", err)
	}
	if err := txn.Commit(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("commit without writes after a stale read: %v", err)
	}

	// A cursor that meets the key at another revision than the cache
	// gave ends the transaction as a conflict.
	txn = begin(t, e)
	get(t, txn, "k") // 3, now cached
	txn.Rollback()
	put(other, "k", "4")
	txn = begin(t, e)
	if v := get(t, txn, "k"); v != "3" {
		t.Fatalf("k = %q: the test needs the stale entry", v)
	}
	cur, err := txn.Cursor(ks)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if string(k) == "k" && string(v) != "4" {
			t.Fatalf("the cursor read k = %q", v)
		}
	}
	txn.Put(ks, []byte("j"), []byte("x"))
	if err := txn.Commit(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("a commit after seeing k at two revisions: %v", err)
	}
	// The stale write, the Validate and the Commit after it, the cursor.
	if metric(e, "etcd_conflicts_total") != 4 {
		t.Fatalf("conflicts counted: %v, want 4", metric(e, "etcd_conflicts_total"))
	}
}

// Two stores on one prefix, each with its cache: a write each one
// bases on a relation the other changed meanwhile still counts what the
// other wrote (Modify adds to the stored weight, not the cached one).
func TestCachedStoresSeeEachOthersWrites(t *testing.T) {
	s1, s2 := twoStores(t)
	a, _, err := s1.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s1.ImportProfile(ctx, 2, relgraph.Locator{Email: "b@x.io"}, relgraph.ProfileData{})
	if err != nil {
		t.Fatal(err)
	}
	req := func(like int) relgraph.RelationRequest {
		return relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{Email: "a@x.io"}, B: relgraph.Locator{ProfileID: b.String()},
			Weights: map[string]any{"user_like": like}}
	}
	for i, step := range []struct {
		s      *relgraph.Store
		modify bool
		like   int
		want   int64
	}{
		{s1, false, 1, 1}, {s2, false, 5, 5}, {s1, true, 1, 6}, {s2, true, 10, 16}, {s1, false, 2, 2}, {s2, true, 1, 3},
	} {
		op := step.s.Overwrite
		if step.modify {
			op = step.s.Modify
		}
		if _, err := op(ctx, req(step.like)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, s := range []*relgraph.Store{s1, s2} {
			page, err := s.Relations(ctx, relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: a.String()}})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("step %d: %+v %v", i, page, err)
			}
			if got := page.Items[0].Weights["user_like"]; got != step.want {
				t.Fatalf("step %d: user_like %v, want %d", i, got, step.want)
			}
		}
	}
	check(t, s1)
}

// Prefetch reads, in one request, the keys not yet read: the Gets that
// follow cost no round trip, see the same values Get would (absent
// ones too, and the transaction's own writes over them), and join the
// commit's compares, so a key another client changes after the
// prefetch fails the commit.
func TestPrefetch(t *testing.T) {
	c := startCluster(t, 1)
	prefix := newPrefix()
	e := dial(t, c.clients, prefix, kvtest.Keyspaces, Options{CacheBytes: -1})
	txn := begin(t, e)
	for _, k := range []string{"x", "y"} {
		txn.Put(ks, []byte(k), []byte("v"+k))
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}

	txn = begin(t, e)
	txn.Put(ks, []byte("y"), []byte("mine"))
	trips := metric(e, "etcd_round_trips_total")
	keys := []kv.Key{{Keyspace: ks, Key: []byte("x")}, {Keyspace: ks, Key: []byte("y")}, {Keyspace: ks, Key: []byte("absent")}, {Keyspace: ks, Key: []byte("x")}}
	if err := txn.(kv.Prefetcher).Prefetch(keys); err != nil {
		t.Fatal(err)
	}
	if got := metric(e, "etcd_round_trips_total") - trips; got != 1 {
		t.Fatalf("prefetch of 3 keys took %v round trips", got)
	}
	for k, want := range map[string]string{"x": "vx", "y": "mine", "absent": ""} {
		if v := get(t, txn, k); v != want {
			t.Fatalf("%s = %q after prefetch, want %q", k, v, want)
		}
	}
	if got := metric(e, "etcd_round_trips_total") - trips; got != 1 {
		t.Fatalf("gets after the prefetch took %v more round trips", got-1)
	}
	if err := txn.(kv.Prefetcher).Prefetch([]kv.Key{{Keyspace: "nope", Key: []byte("x")}}); err == nil {
		t.Fatal("prefetch from an unknown keyspace succeeded")
	}

	other := dial(t, c.clients, prefix, kvtest.Keyspaces, Options{})
	o := begin(t, other)
	o.Put(ks, []byte("absent"), []byte("now here"))
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("commit after a prefetched key changed: %v", err)
	}
}

// A writable transaction reads from whichever member the client talks
// to, which may be behind (etcd's serializable reads): one that will
// not commit still has those reads checked by Validate, so a failure
// found in a stale view is a conflict to run again, never an answer.
func TestLocalReadsAreValidated(t *testing.T) {
	c := startCluster(t, 1)
	prefix := newPrefix()
	e := dial(t, c.clients, prefix, kvtest.Keyspaces, Options{CacheBytes: -1})
	txn := begin(t, e)
	if v := get(t, txn, "k"); v != "" {
		t.Fatalf("k = %q", v)
	}
	o := begin(t, e)
	o.Put(ks, []byte("k"), []byte("1"))
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := txn.(kv.Validator).Validate(); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("validate after k changed: %v", err)
	}
	// Read-only transactions read confirmed snapshots: nothing to check.
	r, err := e.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if v := get(t, r, "k"); v != "1" {
		t.Fatalf("k = %q", v)
	}
	trips := metric(e, "etcd_round_trips_total")
	if err := r.(kv.Validator).Validate(); err != nil || metric(e, "etcd_round_trips_total") != trips {
		t.Fatalf("validate of a read-only transaction: %v, %v round trips", err, metric(e, "etcd_round_trips_total")-trips)
	}
	r.Rollback()
}
