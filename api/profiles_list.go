package api

import (
	"context"
	"maps"
	"slices"

	"github.com/relgraph/relgraph"
)

// maxProfilePage is profiles/list's default and largest limit (the
// page's documented default).
const maxProfilePage = 1000

// profilesList answers the platform's "Get data for multiple profiles"
// (profiles/list): the profiles of db_id in id order after from_id
// (exclusive; empty starts at the first), at most limit of them, those
// query keeps (profileQuery), each as profiles/get shapes it, cut to
// fields when given. next_from_id is the last id answered, for the next
// request's from_id ("" when the page is empty: the list is done).
//
// Cost: one read snapshot and one decode per profile visited; a query
// tests profiles one by one (it uses no index), so a selective query on
// a large database visits many profiles to fill a page.
func (h *handler) profilesList(ctx context.Context, p *params) (map[string]any, error) {
	db, err := p.uint32("db_id", true)
	if err != nil {
		return nil, err
	}
	fromText, err := p.str("from_id")
	if err != nil {
		return nil, err
	}
	var from relgraph.ProfileID
	if fromText != "" {
		if from, err = relgraph.ParseProfileID(fromText); err != nil {
			return nil, p.bad("from_id", "%v (the next_from_id of the previous answer, or empty)", err)
		}
	}
	limit, err := p.integer("limit", 0, maxProfilePage, false)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = maxProfilePage
	}
	query, err := p.object("query")
	if err != nil {
		return nil, err
	}
	fields, err := p.strList("fields")
	if err != nil {
		return nil, err
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	d := h.database(db)
	if d == nil {
		return nil, notFoundf("database %d not found", db)
	}
	// The query reads phones in the region the store reads them in
	// (d is this request's copy of the declaration).
	if d.PhoneRegion, err = h.store.PhoneRegion(db); err != nil {
		return nil, err
	}
	keep := func(*relgraph.Profile) bool { return true }
	if len(query) > 0 {
		if keep, err = compileQuery(query, d); err != nil {
			return nil, err
		}
	}
	project, err := projection(fields, d)
	if err != nil {
		return nil, err
	}
	data := []any{}
	next := ""
	err = h.store.ScanProfiles(ctx, db, from, func(prof *relgraph.Profile) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !keep(prof) {
			return nil
		}
		data = append(data, project(ProfileJSON(prof)))
		next = prof.ID.String()
		if int64(len(data)) >= limit {
			return relgraph.ErrStopScan
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": data, "next_from_id": next, "error_text": "Successful operation"}, nil
}

// profileAnswerKeys are the keys ProfileJSON writes besides the
// database's fields (read off an answer with every one of them, so the
// two cannot drift apart), and "_id": what "fields" may name besides
// the fields.
var profileAnswerKeys = append(slices.Collect(maps.Keys(ProfileJSON(&relgraph.Profile{Email: "e@x.io"}))), "_id")

// projection returns what cuts a profile answer to fields (all of it
// when fields is empty). "_id" names the id; the id is always answered.
// A name that is no key of a profile answer and no field of d is a 400.
func projection(fields []string, d *relgraph.Database) (func(map[string]any) map[string]any, error) {
	if len(fields) == 0 {
		return func(m map[string]any) map[string]any { return m }, nil
	}
	keep := map[string]bool{"id": true}
	for i, f := range fields {
		if _, declared := d.Field(f); !declared && !slices.Contains(profileAnswerKeys, f) {
			return nil, invalidf("parameter fields[%d]: %q is no field of database %d", i, truncate(f), d.ID)
		}
		keep[f] = true
	}
	return func(m map[string]any) map[string]any {
		for k := range m {
			if !keep[k] {
				delete(m, k)
			}
		}
		return m
	}, nil
}
