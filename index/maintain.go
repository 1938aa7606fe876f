package index

import (
	"bytes"
	"slices"
	"strings"

	"github.com/relgraph/relgraph/kv"
)

// Entry is one index fact: a key in a keyspace, with its value (empty
// for set-membership indexes, the profile id for the email index). Its
// bytes are handed to the kv transaction as they are: they must not
// change until it ends.
type Entry struct {
	Keyspace kv.Keyspace
	Key      []byte
	Value    []byte
}

func compareEntries(a, b Entry) int {
	if c := strings.Compare(string(a.Keyspace), string(b.Keyspace)); c != 0 {
		return c
	}
	return bytes.Compare(a.Key, b.Key)
}

// Diff returns the entries to delete (in old, not in new) and to put (in
// new and not in old, or in both with another value). Each list is
// sorted by keyspace and key. Neither argument is modified.
func Diff(old, new []Entry) (del, put []Entry) {
	old, new = SortSet(slices.Clone(old)), SortSet(slices.Clone(new))
	if len(old) == 0 {
		return nil, new // a new profile: every entry is put
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && compareEntries(old[i], new[j]) < 0):
			del = append(del, old[i])
			i++
		case i == len(old) || compareEntries(old[i], new[j]) > 0:
			put = append(put, new[j])
			j++
		default:
			if !bytes.Equal(old[i].Value, new[j].Value) {
				put = append(put, new[j])
			}
			i++
			j++
		}
	}
	return del, put
}

// SortSet sorts es by keyspace and key and keeps one entry per key, in
// place, and returns it. The lists are sets: one entry can be implied
// twice (two subscriptions with the same custom field value).
func SortSet(es []Entry) []Entry {
	slices.SortFunc(es, compareEntries)
	return slices.CompactFunc(es, func(a, b Entry) bool { return compareEntries(a, b) == 0 })
}

// Apply deletes then puts the entries in tx.
func Apply(tx kv.Tx, del, put []Entry) error {
	for _, e := range del {
		if err := tx.Delete(e.Keyspace, e.Key); err != nil {
			return err
		}
	}
	for _, e := range put {
		if err := tx.Put(e.Keyspace, e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}
