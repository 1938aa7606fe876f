package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// The import floor writes what relgraph's import writes: the same keys
// in the same keyspaces (profile ids aside, which are ranked), the
// email index's values pointing at the same profiles, and records of
// about the same size. A floor that wrote less would flatter bbolt's
// ceiling and excuse relgraph.
func TestImportFloorWritesWhatImportWrites(t *testing.T) {
	const n = 300
	keyspaces := []kv.Keyspace{index.Profiles, index.Emails, index.Phones, index.Fields, index.Tags}

	s, e, err := Open(filepath.Join(t.TempDir(), "import.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := Schema(s); err != nil {
		t.Fatal(err)
	}
	if err := ImportPeople(s, n, 100, 1); err != nil { // one at a time: ids in item order
		t.Fatal(err)
	}
	imported := map[kv.Keyspace][][2][]byte{}
	txn, err := e.Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ks := range keyspaces {
		c, err := txn.Cursor(ks)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			imported[ks] = append(imported[ks], [2][]byte{bytes.Clone(k), bytes.Clone(v)})
		}
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
	}
	txn.Rollback()

	recordLen, err := PersonRecordLen(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	floorPath := filepath.Join(t.TempDir(), "floor.db")
	if _, err := ImportFloor(floorPath, n, 100, recordLen, 0); err != nil {
		t.Fatal(err)
	}
	floor := map[kv.Keyspace][][2][]byte{}
	db, err := bbolt.Open(floorPath, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for _, ks := range keyspaces {
			err := tx.Bucket([]byte(ks)).ForEach(func(k, v []byte) error {
				floor[ks] = append(floor[ks], [2][]byte{bytes.Clone(k), bytes.Clone(v)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	importedBytes := 0
	for _, kv := range imported[index.Profiles] {
		importedBytes += len(kv[1])
	}
	if mean := float64(importedBytes) / n; mean < 0.95*float64(recordLen) || mean > 1.05*float64(recordLen) {
		t.Errorf("imported records are %.1f bytes on average, the floor's %d", mean, recordLen)
	}
	for _, ks := range keyspaces {
		got, want := ranked(t, floor, ks), ranked(t, imported, ks)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the floor wrote %d keys, the import %d; first floor keys %q, import's %q", ks, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}

// ranked lists a keyspace's entries of store with every profile id
// (a key's last 12 bytes, or an email's value) replaced by its rank
// among the store's profile ids: both stores generate ids in import
// order, from different clocks.
func ranked(t *testing.T, store map[kv.Keyspace][][2][]byte, ks kv.Keyspace) []string {
	rank := map[string]int{}
	for i, kv := range store[index.Profiles] { // sorted by db ‖ id
		rank[string(kv[0][len(kv[0])-index.IDLen:])] = i
	}
	rankOf := func(id []byte) string {
		r, ok := rank[string(id)]
		if !ok {
			t.Fatalf("%s: id %x is no profile's", ks, id)
		}
		return string(binary.BigEndian.AppendUint32(nil, uint32(r)))
	}
	var out []string
	for _, kv := range store[ks] {
		k, v := kv[0], kv[1]
		if ks == index.Emails {
			out = append(out, fmt.Sprintf("%x → %x", k, rankOf(v)))
			continue
		}
		head := k[:len(k)-index.IDLen]
		if ks == index.Profiles {
			v = nil // records differ in their times; their size is checked above
		}
		out = append(out, fmt.Sprintf("%x ‖ %x → %x", head, rankOf(k[len(k)-index.IDLen:]), v))
	}
	slices.Sort(out)
	return out
}
