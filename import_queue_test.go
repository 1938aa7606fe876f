package relgraph

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func openQueueTest(t *testing.T) *Store {
	s, err := Open(filepath.Join(t.TempDir(), "r.db"), &Options{NoSync: true})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	testSchema(t, s)
	return s
}

// holdCommitter runs an Update that holds the committer until release
// is called, so that later writes wait in the queue.
func holdCommitter(t *testing.T, s *Store) (release func()) {
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx *Tx) error { close(started); <-hold; return nil })
	}()
	<-started
	return func() { close(hold); must(t, <-done) }
}

// ImportBatch builds its new profiles at the time it is submitted; a
// profile it updates gets the transaction's time, so a write queued
// before it (run later than the batch's time) that creates the profile
// never ends up with an Updated before its Created.
func TestBatchTimeNeverPutsUpdatedBeforeCreated(t *testing.T) {
	s := openQueueTest(t)
	var tick atomic.Int64
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.clock = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	release := holdCommitter(t, s)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{Email: Ptr("w@x.io")})
		must(t, err)
	})
	waitQueued(t, s, 1)
	wg.Go(func() {
		res, err := s.ImportBatch(ctx, 1, []ImportItem{{Locator: Locator{Email: "w@x.io"}, Data: ProfileData{Fields: map[string]any{"crm_id": 5}}}})
		must(t, err)
		must(t, res[0].Err)
	})
	waitQueued(t, s, 2)
	release()
	wg.Wait()
	p, err := s.GetProfile(ctx, 1, Locator{Email: "w@x.io"})
	must(t, err)
	if p.Updated.Before(p.Created) {
		t.Errorf("stored profile: Created %v, Updated %v (before it)", p.Created, p.Updated)
	}
}

// ctx ends while the batch waits in the queue: ctx's error, nothing
// stored, the prepare workers gone, and the caller's items its own
// again at once (go test -race watches for a worker still reading).
func TestImportBatchCanceledInTheQueue(t *testing.T) {
	s := openQueueTest(t)
	before := goleak.IgnoreCurrent()
	release := holdCommitter(t, s)
	cctx, cancel := context.WithCancel(ctx)
	items := make([]ImportItem, 5000)
	for i := range items {
		items[i].Data.Email = Ptr(fmt.Sprintf("u%d@x.io", i))
		items[i].Data.Phones = &[]string{"+1555010" + fmt.Sprintf("%04d", i%10000)}
	}
	errc := make(chan error, 1)
	go func() { _, err := s.ImportBatch(cctx, 1, items); errc <- err }()
	waitQueued(t, s, 1)
	cancel()
	err := <-errc
	// items are the caller's again: write them (the race detector
	// watches for a worker still reading).
	for i := range items {
		items[i].Data.Email = nil
	}
	release()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	n := 0
	must(t, s.EachProfile(ctx, 1, func(*Profile) error { n++; return nil }))
	if n != 0 {
		t.Fatalf("%d profiles stored", n)
	}
	goleak.VerifyNone(t, before) // retries while finished goroutines exit
}

// A schema change between prepare and transaction (queued before the
// batch): the prepared profiles are not used; the outcome is that of a
// batch without prep (checked by the field now refused / accepted).
func TestSchemaChangeBetweenPrepAndTransaction(t *testing.T) {
	for _, noPrep := range []bool{false, true} {
		s := openQueueTest(t)
		s.noImportPrep = noPrep
		release := holdCommitter(t, s)
		errc := make(chan error, 1)
		go func() {
			errc <- s.PutDatabase(ctx, Database{ID: 1, Name: "customers", Fields: []Field{
				{Name: "crm_id", Type: FieldInt}, {Name: "city", Type: FieldString}, {Name: "score", Type: FieldFloat},
				{Name: "vip", Type: FieldBool}, {Name: "birthday", Type: FieldDate}, {Name: "interests", Type: FieldTags},
				{Name: "notes", Type: FieldString, Unindexed: true}, {Name: "shoe", Type: FieldInt}}})
		}()
		waitQueued(t, s, 1)
		items := []ImportItem{{Data: ProfileData{Email: Ptr("a@x.io"), Fields: map[string]any{"shoe": 42}}}, {Data: ProfileData{Email: Ptr("b@x.io")}}}
		resc := make(chan []ImportResult, 1)
		go func() { res, err := s.ImportBatch(ctx, 1, items); must(t, err); resc <- res }()
		waitQueued(t, s, 2)
		release()
		must(t, <-errc)
		res := <-resc
		if res[0].Err != nil || res[1].Err != nil {
			t.Errorf("noPrep=%v: %v / %v", noPrep, res[0].Err, res[1].Err)
		}
	}
}

// Concurrent batches, schema changes and single imports under -race.
func TestConcurrentBatchesAndSchemaChanges(t *testing.T) {
	s := openQueueTest(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 10 {
				items := make([]ImportItem, 200)
				shared := map[string]any{"crm_id": FieldUpdate{Action: ActionIncr, Value: 1}, "interests": []string{"b", " a"}}
				for i := range items {
					items[i].Data.Fields = shared // one map for every item
					if i%3 == 0 {
						items[i].Locator = Locator{Email: fmt.Sprintf("g%d-%d@x.io", g, i)}
					} else {
						items[i].Data.Email = Ptr(fmt.Sprintf("g%d-r%d-%d@x.io", g, round, i))
					}
				}
				cctx, cancel := context.WithTimeout(ctx, time.Duration(round)*time.Millisecond)
				res, err := s.ImportBatch(cctx, 1, items)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Error(err)
				}
				for i := range res {
					if res[i].Err != nil {
						t.Error(res[i].Err)
					}
				}
				shared["crm_id"] = 1 // the caller's again
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			fields := []Field{{Name: "crm_id", Type: FieldInt}, {Name: "city", Type: FieldString}, {Name: "score", Type: FieldFloat},
				{Name: "vip", Type: FieldBool}, {Name: "birthday", Type: FieldDate}, {Name: "interests", Type: FieldTags},
				{Name: "notes", Type: FieldString, Unindexed: true}}
			fields = append(fields, Field{Name: fmt.Sprintf("x%d", i), Type: FieldInt})
			must(t, s.PutDatabase(ctx, Database{ID: 1, Name: "customers", Fields: fields}))
		}
	})
	wg.Wait()
	mustCheck(t, s)
}
