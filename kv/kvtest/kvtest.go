// Package kvtest is the conformance suite of the kv seam: every engine
// relgraph runs on must pass Run. It checks the contract of package kv —
// reads see the transaction's own writes, cursors walk in byte order,
// read-only transactions refuse writes, commits are atomic and rollbacks
// leave nothing, and read transactions see a snapshot — then drives
// random operations against a map model with rapid.
package kvtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/kv"
)

// Keyspaces are the keyspaces an engine under test must be opened with.
var Keyspaces = []kv.Keyspace{"a", "b"}

// Run runs the suite. open returns a new, empty engine with Keyspaces;
// the suite closes it. The Snapshot test commits while a read
// transaction is open: an engine whose commits can wait for readers
// (bbolt, when the file must grow past its memory map) must be opened
// with room to spare.
func Run(t *testing.T, open func(t *testing.T) kv.Engine) {
	t.Run("ReadYourWrites", func(t *testing.T) { readYourWrites(t, open(t)) })
	t.Run("CursorOrder", func(t *testing.T) { cursorOrder(t, open(t)) })
	t.Run("CursorBesideWrites", func(t *testing.T) { cursorBesideWrites(t, open(t)) })
	t.Run("ReadOnly", func(t *testing.T) { readOnly(t, open(t)) })
	t.Run("CommitAndRollback", func(t *testing.T) { commitAndRollback(t, open(t)) })
	t.Run("Snapshot", func(t *testing.T) { snapshot(t, open(t)) })
	t.Run("UnknownKeyspace", func(t *testing.T) { unknownKeyspace(t, open(t)) })
	t.Run("Model", func(t *testing.T) { model(t, open) })
}

// fataler is what both *testing.T and *rapid.T offer.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func must(t fataler, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func begin(t fataler, e kv.Engine, writable bool) kv.Txn {
	t.Helper()
	txn, err := e.Begin(context.Background(), writable)
	must(t, err)
	return txn
}

func get(t fataler, tx kv.Tx, ks kv.Keyspace, key string) []byte {
	t.Helper()
	v, err := tx.Get(ks, []byte(key))
	must(t, err)
	return v
}

func readYourWrites(t *testing.T, e kv.Engine) {
	defer e.Close()
	txn := begin(t, e, true)
	defer txn.Rollback()
	if v := get(t, txn, "a", "k"); v != nil {
		t.Fatalf("absent key read %q", v)
	}
	must(t, txn.Put("a", []byte("k"), []byte("v1")))
	must(t, txn.Put("a", []byte("empty"), nil))
	if v := get(t, txn, "a", "k"); string(v) != "v1" {
		t.Fatalf("own write read %q", v)
	}
	if v := get(t, txn, "a", "empty"); v == nil || len(v) != 0 {
		t.Fatalf("an empty value must read as empty, not absent: %v", v)
	}
	if v := get(t, txn, "b", "k"); v != nil {
		t.Fatalf("keyspaces leak: %q", v)
	}
	must(t, txn.Delete("a", []byte("k")))
	must(t, txn.Delete("a", []byte("never")))
	if v := get(t, txn, "a", "k"); v != nil {
		t.Fatalf("deleted key read %q", v)
	}
}

func cursorOrder(t *testing.T, e kv.Engine) {
	defer e.Close()
	keys := []string{"\x00", "a", "a\x00", "ab", "b", "\xff", "\xff\xff"}
	txn := begin(t, e, true)
	for _, k := range []int{4, 0, 6, 2, 5, 1, 3} {
		must(t, txn.Put("a", []byte(keys[k]), []byte{byte(k)}))
	}
	must(t, txn.Commit())
	r := begin(t, e, false)
	defer r.Rollback()
	c, err := r.Cursor("a")
	must(t, err)
	var got []string
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if int(v[0]) != slices.Index(keys, string(k)) {
			t.Fatalf("key %q has value %d", k, v[0])
		}
		got = append(got, string(k))
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("cursor order %q, want %q", got, keys)
	}
	if k, _ := c.Seek([]byte("a\x01")); string(k) != "ab" {
		t.Fatalf("Seek(a\\x01) = %q, want ab", k)
	}
	if k, _ := c.Seek([]byte("\xff\xff\x00")); k != nil {
		t.Fatalf("Seek past the end = %q", k)
	}
	empty, err := r.Cursor("b")
	must(t, err)
	if k, _ := empty.First(); k != nil {
		t.Fatalf("empty keyspace has %q", k)
	}
}

// cursorBesideWrites: a cursor over one keyspace walks it whole, its
// committed keys and the transaction's own, in order, while the
// transaction goes on writing another keyspace between its steps (only
// writes to its own keyspace may move a cursor).
func cursorBesideWrites(t *testing.T, e kv.Engine) {
	defer e.Close()
	var want []string
	txn := begin(t, e, true)
	for i := range 200 {
		k := fmt.Sprintf("a%04d", 2*i)
		want = append(want, k)
		must(t, txn.Put("a", []byte(k), []byte("v")))
		must(t, txn.Put("b", []byte(fmt.Sprintf("b%04d", 2*i)), []byte("v")))
	}
	must(t, txn.Commit())
	txn = begin(t, e, true)
	defer txn.Rollback()
	for i := range 20 {
		k := fmt.Sprintf("a%04d", 20*i+1)
		want = append(want, k)
		must(t, txn.Put("a", []byte(k), []byte("w")))
	}
	slices.Sort(want)
	c, err := txn.Cursor("a")
	must(t, err)
	var got []string
	next := 0
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		got = append(got, string(k))
		for range 32 { // scattered over b, so its nodes split under the walk
			next = (next + 397) % 3000
			must(t, txn.Put("b", []byte(fmt.Sprintf("b%04d", next)), []byte("x")))
		}
	}
	must(t, c.Err())
	if !slices.Equal(got, want) {
		t.Fatalf("the cursor over a walked %d keys while b was written, want %d:\n%q", len(got), len(want), got)
	}
}

func readOnly(t *testing.T, e kv.Engine) {
	defer e.Close()
	r := begin(t, e, false)
	defer r.Rollback()
	if r.Writable() {
		t.Fatal("a read transaction says it is writable")
	}
	if err := r.Put("a", []byte("k"), []byte("v")); !errors.Is(err, kv.ErrReadOnly) {
		t.Fatalf("Put in a read transaction: %v", err)
	}
	if err := r.Delete("a", []byte("k")); !errors.Is(err, kv.ErrReadOnly) {
		t.Fatalf("Delete in a read transaction: %v", err)
	}
}

func commitAndRollback(t *testing.T, e kv.Engine) {
	defer e.Close()
	w := begin(t, e, true)
	must(t, w.Put("a", []byte("kept"), []byte("1")))
	must(t, w.Put("b", []byte("kept"), []byte("2")))
	must(t, w.Put("b", []byte("empty"), []byte{}))
	must(t, w.Commit())
	if err := w.Rollback(); !errors.Is(err, kv.ErrTxClosed) {
		t.Fatalf("Rollback after Commit: %v", err)
	}
	if _, err := w.Get("a", []byte("kept")); err == nil {
		t.Fatal("a committed transaction still reads")
	}
	w = begin(t, e, true)
	must(t, w.Put("a", []byte("dropped"), []byte("x")))
	must(t, w.Delete("a", []byte("kept")))
	must(t, w.Rollback())
	r := begin(t, e, false)
	defer r.Rollback()
	if v := get(t, r, "a", "dropped"); v != nil {
		t.Fatal("a rolled-back write is visible")
	}
	if v := get(t, r, "a", "kept"); string(v) != "1" {
		t.Fatalf("a rolled-back delete took effect: %q", v)
	}
	if v := get(t, r, "b", "kept"); string(v) != "2" {
		t.Fatalf("the commit lost a keyspace's write: %q", v)
	}
	if v := get(t, r, "b", "empty"); v == nil || len(v) != 0 {
		t.Fatalf("a committed empty value must read as empty, not absent: %v", v)
	}
	// A cursor outlives its transaction only to say so: a move after the
	// end is kv.ErrTxClosed, never a key, a panic or damage.
	for _, writable := range []bool{false, true} {
		tx := begin(t, e, writable)
		c, err := tx.Cursor("a")
		must(t, err)
		if k, _ := c.First(); string(k) != "kept" {
			t.Fatalf("cursor First: %q", k)
		}
		must(t, tx.Rollback())
		if k, _ := c.Next(); k != nil {
			t.Fatalf("a cursor moved after its transaction ended: %q", k)
		}
		if err := c.Err(); !errors.Is(err, kv.ErrTxClosed) {
			t.Fatalf("a cursor's move after its transaction ended (writable %v): %v, want kv.ErrTxClosed", writable, err)
		}
	}
}

func snapshot(t *testing.T, e kv.Engine) {
	defer e.Close()
	w := begin(t, e, true)
	must(t, w.Put("a", []byte("k"), []byte("old")))
	must(t, w.Commit())
	r := begin(t, e, false)
	defer r.Rollback()
	if v := get(t, r, "a", "k"); string(v) != "old" { // the snapshot is fixed by now
		t.Fatalf("read %q", v)
	}
	done := make(chan error, 1)
	go func() {
		w, err := e.Begin(context.Background(), true)
		if err != nil {
			done <- err
			return
		}
		if err := w.Put("a", []byte("k"), []byte("new")); err != nil {
			done <- err
			return
		}
		done <- w.Commit()
	}()
	must(t, <-done)
	if v := get(t, r, "a", "k"); string(v) != "old" {
		t.Fatalf("a read transaction saw a later commit: %q", v)
	}
	r2 := begin(t, e, false)
	defer r2.Rollback()
	if v := get(t, r2, "a", "k"); string(v) != "new" {
		t.Fatalf("a new read transaction missed a commit: %q", v)
	}
}

func unknownKeyspace(t *testing.T, e kv.Engine) {
	defer e.Close()
	r := begin(t, e, false)
	defer r.Rollback()
	if _, err := r.Get("nope", []byte("k")); err == nil {
		t.Fatal("Get on an unknown keyspace succeeded")
	}
	if _, err := r.Cursor("nope"); err == nil {
		t.Fatal("Cursor on an unknown keyspace succeeded")
	}
}

// model drives random puts, deletes, reads, scans, commits and rollbacks
// and compares every read with a map.
func model(t *testing.T, open func(t *testing.T) kv.Engine) {
	rapid.Check(t, func(rt *rapid.T) {
		e := open(t)
		defer e.Close()
		committed := map[string]map[string]string{"a": {}, "b": {}}
		pending := clone(committed)
		txn := begin(rt, e, true)
		defer func() { txn.Rollback() }()
		key := rapid.StringOfN(rapid.SampledFrom([]rune{0, 'a', 'b', 0xff}), 1, 3, -1)
		ks := rapid.SampledFrom(Keyspaces)
		rt.Repeat(map[string]func(*rapid.T){
			"put": func(t *rapid.T) {
				s, k, v := ks.Draw(t, "ks"), key.Draw(t, "k"), rapid.String().Draw(t, "v")
				must(t, txn.Put(s, []byte(k), []byte(v)))
				pending[string(s)][k] = v
			},
			"delete": func(t *rapid.T) {
				s, k := ks.Draw(t, "ks"), key.Draw(t, "k")
				must(t, txn.Delete(s, []byte(k)))
				delete(pending[string(s)], k)
			},
			"get": func(t *rapid.T) {
				s, k := ks.Draw(t, "ks"), key.Draw(t, "k")
				v := get(t, txn, s, k)
				want, ok := pending[string(s)][k]
				if (v != nil) != ok || string(v) != want {
					t.Fatalf("get %s/%q = %q, want %q (%v)", s, k, v, want, ok)
				}
			},
			"scan": func(t *rapid.T) {
				s, from := ks.Draw(t, "ks"), key.Draw(t, "from")
				c, err := txn.Cursor(s)
				must(t, err)
				var got []string
				for k, _ := c.Seek([]byte(from)); k != nil; k, _ = c.Next() {
					got = append(got, string(k))
				}
				var want []string
				for k := range pending[string(s)] {
					if k >= from {
						want = append(want, k)
					}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("scan %s from %q = %q, want %q", s, from, got, want)
				}
			},
			"commit": func(t *rapid.T) {
				must(t, txn.Commit())
				committed = clone(pending)
				txn = begin(t, e, true)
			},
			"rollback": func(t *rapid.T) {
				must(t, txn.Rollback())
				pending = clone(committed)
				txn = begin(t, e, true)
			},
		})
	})
}

func clone(m map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for ks, kvs := range m {
		out[ks] = map[string]string{}
		for k, v := range kvs {
			out[ks][k] = v
		}
	}
	return out
}
