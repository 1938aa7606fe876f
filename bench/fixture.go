package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/wal"
)

// Fixture is a store with the example schema: databases 1 (people, with
// an int field crm_id and a tags field) and 2 (items, with a string
// field sku), and relation type 3 from 1 to 2 with user_like (int, sum),
// donate (int, top 10) and is_online (bool, count).
type Fixture struct {
	Store *relgraph.Store
	// Engine is the engine beneath Store (bbolt with its log, as
	// relgraph.Open opens it), for its page counts and log counters; nil
	// for a fixture on OpenBbolt.
	Engine *wal.Engine
	A, B   []relgraph.ProfileID
}

// Open opens the store file at path as relgraph.Open does (bbolt with
// its log), keeping the engine so the benchmarks can read its counters.
// NoSync comes from opts' engine fields; the others are the store's.
func Open(path string, opts *relgraph.Options) (*relgraph.Store, *wal.Engine, error) {
	var e *wal.Engine
	s, err := openOn(opts, func(o kv.Options) (kv.Engine, error) {
		var err error
		e, err = wal.Open(path, index.All, o, benchWalConfig)
		return e, err
	})
	if err != nil {
		return nil, nil, err
	}
	return s, e, nil
}

// OpenBbolt opens the store file at path on plain bbolt, without the
// log: every acknowledged write a bbolt commit, as relgraph wrote before
// the log. For side-by-side comparisons; the engine it returns is nil.
func OpenBbolt(path string, opts *relgraph.Options) (*relgraph.Store, *wal.Engine, error) {
	s, err := openOn(opts, func(o kv.Options) (kv.Engine, error) { return bolt.Open(path, index.All, o) })
	return s, nil, err
}

// openOn opens a store on the engine open makes, passing opts' NoSync
// to the engine (the store's own commits then need no sync of theirs).
func openOn(opts *relgraph.Options, open func(kv.Options) (kv.Engine, error)) (*relgraph.Store, error) {
	var o relgraph.Options
	if opts != nil {
		o = *opts
	}
	e, err := open(kv.Options{NoSync: o.NoSync, LockTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	o.NoSync = false
	s, err := relgraph.OpenEngine(e, &o)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// ctx is the context of the benchmarks' store calls.
var ctx = context.Background()

// Email is the email of the i-th A profile of a fixture.
func Email(i int) string { return fmt.Sprintf("user%d@example.com", i) }

// SKU is the sku of the i-th B profile of a fixture.
func SKU(i int) string { return fmt.Sprintf("sku-%d", i) }

// Schema applies the fixture schema to s.
func Schema(s *relgraph.Store) error {
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1, Name: "people", Fields: []relgraph.Field{
		{Name: "crm_id", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags}}}); err != nil {
		return err
	}
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 2, Name: "items", Fields: []relgraph.Field{
		{Name: "sku", Type: relgraph.FieldString}}}); err != nil {
		return err
	}
	return s.PutRelationType(ctx, relgraph.RelationType{ID: 3, Name: "likes", DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
		{Name: "is_online", Type: relgraph.PropBool, Aggregate: relgraph.AggCount},
	}})
}

// NewFixture opens a store at path with nA profiles in database 1 (each
// with email, phone, crm_id and tags) and nB in database 2 (each with a
// sku), loaded in batches of 10,000 per commit.
func NewFixture(path string, opts *relgraph.Options, nA, nB int) (*Fixture, error) {
	return NewFixtureWith(Open, path, opts, nA, nB)
}

// NewFixtureWith is NewFixture on the store open opens: Open, or
// OpenBbolt for the store without its log.
func NewFixtureWith(open func(string, *relgraph.Options) (*relgraph.Store, *wal.Engine, error), path string, opts *relgraph.Options, nA, nB int) (*Fixture, error) {
	s, e, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	if err := Schema(s); err != nil {
		s.Close()
		return nil, err
	}
	f := &Fixture{Store: s, Engine: e}
	load := func(db uint32, n int, item func(i int) relgraph.ImportItem) ([]relgraph.ProfileID, error) {
		ids := make([]relgraph.ProfileID, 0, n)
		for start := 0; start < n; start += relgraph.MaxImportBatch {
			items := make([]relgraph.ImportItem, 0, relgraph.MaxImportBatch)
			for i := start; i < n && i < start+relgraph.MaxImportBatch; i++ {
				items = append(items, item(i))
			}
			res, err := s.ImportBatch(ctx, db, items)
			if err != nil {
				return nil, err
			}
			for _, r := range res {
				if r.Err != nil {
					return nil, r.Err
				}
				ids = append(ids, r.ID)
			}
		}
		return ids, nil
	}
	if f.A, err = load(1, nA, func(i int) relgraph.ImportItem { return PersonItem(i) }); err != nil {
		s.Close()
		return nil, err
	}
	if f.B, err = load(2, nB, func(i int) relgraph.ImportItem {
		return relgraph.ImportItem{Data: relgraph.ProfileData{Fields: map[string]any{"sku": SKU(i)}}}
	}); err != nil {
		s.Close()
		return nil, err
	}
	return f, nil
}

// PersonItem is the i-th A profile: email, phone, two custom fields.
func PersonItem(i int) relgraph.ImportItem {
	return relgraph.ImportItem{Data: relgraph.ProfileData{
		Email:  relgraph.Ptr(Email(i)),
		Phones: &[]string{fmt.Sprintf("+1555%07d", i)},
		Fields: map[string]any{"crm_id": int64(i), "interests": []string{fmt.Sprintf("t%d", i%10), fmt.Sprintf("t%d", i%7)}},
	}}
}

// OverwriteByID is the overwrite of relation (A[i], B[j]) by profile id.
func (f *Fixture) OverwriteByID(i, j int, like int64) relgraph.RelationRequest {
	return relgraph.RelationRequest{RelationType: 3,
		A:       relgraph.Locator{ProfileID: f.A[i%len(f.A)].String()},
		B:       relgraph.Locator{ProfileID: f.B[j%len(f.B)].String()},
		Weights: map[string]any{"user_like": like, "donate": like % 1000, "is_online": like%2 == 0}}
}

// OverwriteByEmailAndField is the same with A found by email and B by
// the sku custom field.
func (f *Fixture) OverwriteByEmailAndField(i, j int, like int64) relgraph.RelationRequest {
	return relgraph.RelationRequest{RelationType: 3,
		A:       relgraph.Locator{Email: Email(i % len(f.A))},
		B:       relgraph.Locator{FieldName: "sku", FieldValue: SKU(j % len(f.B))},
		Weights: map[string]any{"user_like": like, "donate": like % 1000, "is_online": like%2 == 0}}
}

// Scatter maps the i-th operation to a profile index far from the
// (i-1)-th, so consecutive writes touch different pages of the store as
// real traffic does (sequential indexes would share pages and flatter
// every contender).
func Scatter(i int) int { return int(uint64(i) * 2654435761 % (1 << 31)) }

// BoltKey is the plain-bbolt floor's key for index i: 8 bytes.
func BoltKey(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

// PrefillBolt fills the bucket "edge" with n keys, so the floor's Puts
// land in a populated tree as relgraph's do.
func PrefillBolt(db *bbolt.DB, n int, value []byte) error {
	for start := 0; start < n; start += 100000 {
		err := db.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("edge"))
			if err != nil {
				return err
			}
			bk.FillPercent = 0.9
			for i := start; i < n && i < start+100000; i++ {
				if err := bk.Put(BoltKey(i), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var benchWalConfig = func() wal.Config {
	var c wal.Config
	if v := os.Getenv("WAL_CKPT_MB"); v != "" {
		n, _ := strconv.Atoi(v)
		c.CheckpointBytes = int64(n) << 20
	}
	if v := os.Getenv("WAL_CKPT_S"); v != "" {
		n, _ := strconv.Atoi(v)
		c.CheckpointInterval = time.Duration(n) * time.Second
	}
	return c
}()

// ImportPeople imports PersonItem(0) to PersonItem(n-1) into database 1
// of s in batches of batch items, building each batch on a goroutine of
// its own and keeping up to inFlight ImportBatch calls under way at
// once, as a bulk loader would: a batch submitted while another commits
// is prepared meanwhile. It returns the first error of a call or item.
func ImportPeople(s *relgraph.Store, n, batch, inFlight int) error {
	errs := make(chan error, (n+batch-1)/batch)
	slots := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for start := 0; start < n; start += batch {
		slots <- struct{}{}
		wg.Add(1)
		go func(start int) {
			defer func() { <-slots; wg.Done() }()
			items := make([]relgraph.ImportItem, 0, batch)
			for i := start; i < n && i < start+batch; i++ {
				items = append(items, PersonItem(i))
			}
			res, err := s.ImportBatch(context.Background(), 1, items)
			if err == nil {
				for _, r := range res {
					if err = r.Err; err != nil {
						break
					}
				}
			}
			errs <- err
		}(start)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
