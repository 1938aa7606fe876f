package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
)

// ImportFloor is bbolt's ceiling for the import workload: it writes the
// keys an import of PersonItem(0) to PersonItem(n-1) writes (the
// profile record, its email, phone, crm_id and two tags, laid out as
// relgraph lays them out, with generated ids in order) straight into
// the keyspaces of a fresh bbolt file at path, batch profiles per
// durable commit, with records of recordLen bytes (PersonRecordLen).
// Keys are built outside the clock, a batch at a time; it returns the
// time spent in bbolt's transactions alone. No relgraph code runs in
// them, so relgraph's import cannot beat it at the same page fill.
//
// fill is the buckets' FillPercent; 0 keeps bbolt's default (0.5), as
// relgraph does: a page split leaves both halves half full, room for
// keys that arrive in any order. 1 packs pages full, which suits keys
// that arrive in order, as this workload's mostly do (ids, phones,
// crm_id and each tag's ids grow): bbolt's ceiling for this workload,
// at a setting relgraph cannot choose for indexes whose keys come in
// any order.
func ImportFloor(path string, n, batch, recordLen int, fill float64) (time.Duration, error) {
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, ks := range index.All {
			if _, err := tx.CreateBucketIfNotExists([]byte(ks)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	type put struct{ bucket, key, value []byte }
	record := make([]byte, recordLen)
	var took time.Duration
	for start := 0; start < n; start += batch {
		var puts []put
		for i := start; i < n && i < start+batch; i++ {
			var pid [index.IDLen]byte
			binary.BigEndian.PutUint32(pid[:4], 1_800_000_000)
			binary.BigEndian.PutUint64(pid[4:], uint64(i))
			add := func(ks string, key, value []byte) { puts = append(puts, put{[]byte(ks), key, value}) }
			add(string(index.Profiles), index.ProfileKey(1, pid), record)
			add(string(index.Emails), index.EmailKey(1, Email(i)), pid[:])
			add(string(index.Phones), index.PhoneKey(1, fmt.Sprintf("+1555%07d", i), pid), []byte{})
			add(string(index.Fields), index.FieldKey(1, "crm_id", int64(i), pid), []byte{})
			add(string(index.Tags), index.TagKey(1, "interests", fmt.Sprintf("t%d", i%10), pid), []byte{})
			if i%10 != i%7 { // tags are a set
				add(string(index.Tags), index.TagKey(1, "interests", fmt.Sprintf("t%d", i%7), pid), []byte{})
			}
		}
		t0 := time.Now()
		err := db.Update(func(tx *bbolt.Tx) error {
			for _, p := range puts {
				b := tx.Bucket(p.bucket)
				if fill > 0 {
					b.FillPercent = fill
				}
				if err := b.Put(p.key, p.value); err != nil {
					return err
				}
			}
			return nil
		})
		took += time.Since(t0)
		if err != nil {
			return took, err
		}
	}
	return took, nil
}

// PersonRecordLen is the mean length of the stored records of
// PersonItem(0) to PersonItem(n-1), for ImportFloor, from a sample of
// up to 100 spread over them (a record grows with its email's digits
// and its tags): it imports the sample into a scratch store in dir.
func PersonRecordLen(dir string, n int) (int, error) {
	s, e, err := Open(filepath.Join(dir, "record-len.db"), nil)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := Schema(s); err != nil {
		return 0, err
	}
	var items []relgraph.ImportItem
	for k := range min(n, 100) {
		items = append(items, PersonItem(k*n/min(n, 100)))
	}
	res, err := s.ImportBatch(context.Background(), 1, items)
	if err != nil {
		return 0, err
	}
	for _, r := range res {
		if r.Err != nil {
			return 0, r.Err
		}
	}
	txn, err := e.Begin(context.Background(), false)
	if err != nil {
		return 0, err
	}
	defer txn.Rollback()
	c, err := txn.Cursor(index.Profiles)
	if err != nil {
		return 0, err
	}
	total, count := 0, 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		total += len(v)
		count++
	}
	if count != len(items) {
		return 0, fmt.Errorf("%d profiles stored of %d imported: %v", count, len(items), c.Err())
	}
	return (total + count - 1) / count, nil
}
