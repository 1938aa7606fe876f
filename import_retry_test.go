package relgraph

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/relgraph/relgraph/index"
)

// A batch run twice by the group commit (another write in its
// transaction fails after writing, and the batch runs again without
// it): with the prep, the same results and bytes as without.
func TestRetriedBatchWithPreparedItems(t *testing.T) {
	var dumps []string
	var results []string
	for _, noPrep := range []bool{false, true} {
		s, err := Open(filepath.Join(t.TempDir(), "r.db"), &Options{NoSync: true})
		must(t, err)
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s.clock = func() time.Time { return now }
		s.noImportPrep = noPrep
		testSchema(t, s)
		_, _, err = s.ImportProfile(ctx, 1, Locator{}, ProfileData{Email: Ptr("old@x.io"), Fields: map[string]any{"crm_id": 1}})
		must(t, err)
		release := holdCommitter(t, s)
		items := make([]ImportItem, 150)
		for i := range items {
			items[i].Data.Email = Ptr(fmt.Sprintf("u%d@x.io", i))
			items[i].Data.Fields = map[string]any{"interests": []string{"b", "a"}, "crm_id": FieldUpdate{Action: ActionIncr, Value: i}}
		}
		items[5] = ImportItem{Locator: Locator{Email: "old@x.io"}, Data: ProfileData{Fields: map[string]any{"crm_id": FieldUpdate{Action: ActionIncr, Value: 10}}}}
		resc := make(chan []ImportResult, 1)
		go func() { res, err := s.ImportBatch(ctx, 1, items); must(t, err); resc <- res }()
		waitQueued(t, s, 1)
		spoiled := errors.New("spoiler")
		sameTx := false
		errc := make(chan error, 1)
		go func() {
			errc <- s.write(ctx, func(tx *Tx) error {
				if v, _ := tx.kv.Get(index.Emails, index.EmailKey(1, "u0@x.io")); v != nil {
					sameTx = true
				}
				if err := tx.kv.Put(index.Meta, []byte("zz-spoiler"), []byte("x")); err != nil {
					return err
				}
				return spoiled
			})
		}()
		waitQueued(t, s, 2)
		release()
		if err := <-errc; err != spoiled {
			t.Fatalf("spoiler: %v", err)
		}
		res := <-resc
		if !sameTx {
			t.Fatalf("the spoiler did not share the batch's transaction")
		}
		results = append(results, fmt.Sprint(res))
		dumps = append(dumps, dump(t, s))
		s.Close()
	}
	if results[0] != results[1] {
		t.Errorf("results differ:\n%s\n%s", results[0], results[1])
	}
	if dumps[0] != dumps[1] {
		t.Errorf("stores differ")
	}
}
