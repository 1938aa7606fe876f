package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	bbolt "go.etcd.io/bbolt"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/bench"
)

// contender is one system doing the workloads. w is the writer's index,
// i the operation's; each contender maps them to the same profiles.
type contender interface {
	Name() string
	// Overwrite sets user_like, donate and is_online on the existing
	// relation populated(i), found by profile id, or by email and sku.
	Overwrite(i int, byEmail bool) error
	// Strengthen adds 1 to user_like on one of 16 hot relations.
	Strengthen(i int) error
	// Page reads 100 relations of the big A profile.
	Page(i int) error
	// Counter aggregates the relations of the small (10) or big A.
	Counter(big bool) error
	// DeleteBig deletes a profile with many relations (cascade).
	DeleteBig() error
	Close() error
}

// dataset describes the shared data every contender loads.
type dataset struct {
	profiles int // A profiles in db 1 and B profiles in db 2
	bigN     int // relations of A[0]; A[1] has 10
	deleteN  int // relations of the profile DeleteBig removes (A[6])
	// The populated relations the overwrites land on: A[popFirst …
	// popFirst+popA) × B[0 … popB), every one existing before the run.
	popA, popB int
}

// popFirst is the first A profile of the populated relations, after the
// ones with relations of their own (A[0], A[1], A[2-5], A[6]).
const popFirst = 10

// populated maps operation i to a populated relation: scattered, so
// consecutive writes land far apart in every store, as real traffic does.
func (d dataset) populated(i int) (a, b int) {
	return popFirst + bench.Scatter(i)%d.popA, bench.Scatter(i*7) % d.popB
}

func hot(i int) (a, b int) { return 2 + i%4, (i / 4) % 4 }

// relgraphContender drives the library directly.
type relgraphContender struct {
	name string
	f    *bench.Fixture
	d    dataset
}

// newRelgraph loads relgraph's store; logged false puts it on plain
// bbolt, as relgraph was before its log ("relgraph-bbolt").
func newRelgraph(dir string, d dataset, logged bool) (*relgraphContender, error) {
	open, name := bench.Open, "relgraph"
	if !logged {
		open, name = bench.OpenBbolt, "relgraph-bbolt"
	}
	f, err := bench.NewFixtureWith(open, filepath.Join(dir, name+".db"), nil, d.profiles, d.profiles)
	if err != nil {
		return nil, err
	}
	load := func(a, n int) error {
		for start := 0; start < n; start += 10000 {
			err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
				for j := start; j < n && j < start+10000; j++ {
					if _, err := tx.Attach(f.OverwriteByID(a, j, int64(j))); err != nil {
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
	for _, l := range []struct{ a, n int }{{0, d.bigN}, {1, 10}, {6, d.deleteN}} {
		if err := load(l.a, l.n); err != nil {
			return nil, err
		}
	}
	for a := popFirst; a < popFirst+d.popA; a++ {
		if err := load(a, d.popB); err != nil {
			return nil, err
		}
	}
	return &relgraphContender{name: name, f: f, d: d}, nil
}

func (c *relgraphContender) Name() string { return c.name }

func (c *relgraphContender) Overwrite(i int, byEmail bool) error {
	a, b := c.d.populated(i)
	req := c.f.OverwriteByID(a, b, int64(i))
	if byEmail {
		req = c.f.OverwriteByEmailAndField(a, b, int64(i))
	}
	_, err := c.f.Store.Overwrite(ctx, req)
	return err
}

func (c *relgraphContender) Strengthen(i int) error {
	a, b := hot(i)
	req := c.f.OverwriteByID(a, b, 1)
	req.Weights = map[string]any{"user_like": 1}
	_, err := c.f.Store.Modify(ctx, req)
	return err
}

// Page reads a page as SQLite's row scan does: B and the three
// properties of each relation, in place (ScanRelations).
func (c *relgraphContender) Page(i int) error {
	n := 0
	var sink int64
	_, _, err := c.f.Store.ScanRelations(ctx, pageQuery(c.f), func(v *relgraph.RelationView) error {
		like, _ := v.Int("user_like")
		donate, _ := v.Int("donate")
		online, _ := v.Bool("is_online")
		sink += like + donate + int64(v.ProfileB[0])
		if online {
			sink++
		}
		n++
		return nil
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("empty page")
	}
	_ = sink
	return err
}

func pageQuery(f *bench.Fixture) relgraph.RelationsQuery {
	return relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: f.A[0].String()}, Limit: 100}
}

// mapsContender reads pages with Relations: every relation decoded into
// a RelationItem with its Weights map ("relgraph-maps").
type mapsContender struct{ *relgraphContender }

func (c mapsContender) Name() string { return "relgraph-maps" }

func (c mapsContender) Page(i int) error {
	p, err := c.f.Store.Relations(ctx, pageQuery(c.f))
	if err == nil && len(p.Items) == 0 {
		err = fmt.Errorf("empty page")
	}
	return err
}

func (c *relgraphContender) Counter(big bool) error {
	a := 1
	if big {
		a = 0
	}
	_, err := c.f.Store.Counter(ctx, 3, relgraph.Locator{ProfileID: c.f.A[a].String()})
	return err
}

func (c *relgraphContender) DeleteBig() error {
	_, err := c.f.Store.DeleteProfile(ctx, 1, relgraph.Locator{ProfileID: c.f.A[6].String()})
	return err
}

func (c *relgraphContender) Close() error { return c.f.Store.Close() }

// httpContender sends relations/edit and friends to the API handler on a
// real listener on 127.0.0.1, with keep-alive clients.
type httpContender struct {
	*relgraphContender
	srv    *httptest.Server
	client *http.Client
}

func newHTTP(r *relgraphContender) *httpContender {
	h := api.New(r.f.Store, api.Config{Tokens: map[string]api.Role{"bench": api.RoleWrite}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return &httpContender{relgraphContender: r, srv: httptest.NewServer(h),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
}

func (c *httpContender) Name() string { return "relgraph-http" }

func (c *httpContender) post(endpoint string, body map[string]any) error {
	body["token"] = "bench"
	b, _ := json.Marshal(body)
	resp, err := c.client.Post(c.srv.URL+api.Prefix+endpoint, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", endpoint, resp.StatusCode, out)
	}
	return nil
}

func (c *httpContender) Overwrite(i int, byEmail bool) error {
	ai, bi := c.d.populated(i)
	a := map[string]any{"profile_id": c.f.A[ai].String()}
	b := map[string]any{"profile_id": c.f.B[bi].String()}
	if byEmail {
		a = map[string]any{"email": bench.Email(ai)}
		b = map[string]any{"matching": "custom", "field_name": "sku", "field_value": bench.SKU(bi)}
	}
	return c.post("relations/edit", map[string]any{"rel_id": 3, "profile_a": a, "profile_b": b,
		"weights": map[string]any{"user_like": i, "donate": i % 1000, "is_online": i%2 == 0}})
}

func (c *httpContender) Strengthen(i int) error {
	a, b := hot(i)
	return c.post("relations/strengthen", map[string]any{"rel_id": 3,
		"profile_a": map[string]any{"profile_id": c.f.A[a].String()}, "profile_b": map[string]any{"profile_id": c.f.B[b].String()},
		"weights": map[string]any{"user_like": 1}})
}

func (c *httpContender) Page(i int) error {
	return c.post("relations/get", map[string]any{"rel_id": 3, "profile_id": c.f.A[0].String(), "limit": 100})
}

func (c *httpContender) Counter(big bool) error {
	a := 1
	if big {
		a = 0
	}
	return c.post("relations/get_counter", map[string]any{"rel_id": 3, "profile_id": c.f.A[a].String()})
}

func (c *httpContender) Close() error {
	c.srv.Close()
	return nil // the store belongs to the library contender
}

// boltContender is the engine's floor: plain bbolt, one Put of a
// relation-sized value per durable Update, at keys scattered over a
// bucket prefilled with a million keys (the overwrites' access pattern).
// It has no indexes, no matching, no counters: only the overwrites.
type boltContender struct {
	db    *bbolt.DB
	value []byte
}

func newBolt(dir string) (*boltContender, error) {
	db, err := bbolt.Open(filepath.Join(dir, "plain.db"), 0o600, &bbolt.Options{FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	c := &boltContender{db: db, value: make([]byte, 64)}
	return c, bench.PrefillBolt(db, 1000000, c.value)
}

func (c *boltContender) Name() string { return "bbolt-put" }

func (c *boltContender) Overwrite(i int, _ bool) error {
	return c.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("edge")).Put(bench.BoltKey(bench.Scatter(i)%1000000), c.value)
	})
}

var errNotApplicable = fmt.Errorf("not applicable")

func (c *boltContender) Strengthen(int) error { return errNotApplicable }
func (c *boltContender) Page(int) error       { return errNotApplicable }
func (c *boltContender) Counter(bool) error   { return errNotApplicable }
func (c *boltContender) DeleteBig() error     { return errNotApplicable }
func (c *boltContender) Close() error         { return c.db.Close() }
