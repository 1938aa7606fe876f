package api

import (
	"context"
	"math"
	"slices"

	"github.com/relgraph/relgraph"
)

// The platform's database calls (docs/spec.md §5, "Databases"), answered
// from the schema: databases/list, databases/get, databases/fields_get.
// They read no profile, so each costs a copy of the schema's
// declarations, nothing on disk.

// mainGroup is the one access group relgraph has: every database is in
// it. The platform's answer names a database's groups; relgraph has no
// sub-accounts, so the honest answer is the main account, id 0, as the
// platform's own example names it.
var mainGroup = map[string]any{"Id": 0, "Name": "main"}

// maxDatabasePage is databases/list's default and largest limit (the
// page's documented default).
const maxDatabasePage = 1000

func (h *handler) databasesList(ctx context.Context, p *params) (map[string]any, error) {
	// from_id may be one past the largest id: the next_from_id after
	// database 4294967295, which ends the list.
	from, err := p.integer("from_id", 0, math.MaxUint32+1, false)
	if err != nil {
		return nil, err
	}
	if from == 0 {
		from = 1 // the page's default
	}
	limit, err := p.integer("limit", 0, maxDatabasePage, false)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = maxDatabasePage
	}
	tags, err := p.strList("ui_tags")
	if err != nil {
		return nil, err
	}
	groups, err := p.strList("groups")
	if err != nil {
		return nil, err
	}
	groupIDs, err := p.intList("groups_id")
	if err != nil {
		return nil, err
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	// Every database is in the main group: a group filter that names
	// it keeps them all, one that does not keeps none. An empty filter
	// is no filter.
	inGroups := (len(groups) == 0 || slices.Contains(groups, "main")) && (len(groupIDs) == 0 || slices.Contains(groupIDs, 0))
	data := []any{}
	total := 0
	next := from
	for _, d := range h.store.Databases() {
		if !inGroups || !hasAnyTag(d.UITags, tags) {
			continue
		}
		total++
		if int64(d.ID) < from || int64(len(data)) >= limit {
			continue
		}
		data = append(data, databaseJSON(d, true))
		next = int64(d.ID) + 1 // never wraps: a client pages on until a page is empty
	}
	return map[string]any{
		"data":         data,
		"next_from_id": next,
		"total_count":  total,
		"error_text":   "Successful operation",
	}, nil
}

// hasAnyTag reports whether a database with tags is kept by a ui_tags
// filter: no filter (or an empty one) keeps every database, a filter
// keeps one holding at least one of its tags.
func hasAnyTag(tags, filter []string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, t := range filter {
		if slices.Contains(tags, t) {
			return true
		}
	}
	return false
}

// databaseJSON is a database as databases/list (list true) or
// databases/get answers it.
func databaseJSON(d relgraph.Database, list bool) map[string]any {
	if !list {
		// No suppression lists in relgraph: 0, the platform's "none".
		return map[string]any{"id": d.ID, "name": d.Name, "suppress_id": 0, "description": d.Description}
	}
	tags := make([]any, len(d.UITags))
	for i, t := range d.UITags {
		tags[i] = t
	}
	return map[string]any{"id": d.ID, "name": d.Name, "ui_tags": tags, "Groups": []any{mainGroup}}
}

func (h *handler) databasesGet(ctx context.Context, p *params) (map[string]any, error) {
	d, err := h.databaseParam(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": databaseJSON(d, false), "error_text": "Successful operation"}, nil
}

// databaseParam reads the required database id "id" of databases/get
// and databases/fields_get, refuses any other parameter, and returns
// the database (404 when there is none).
func (h *handler) databaseParam(p *params) (relgraph.Database, error) {
	id, err := p.uint32("id", true)
	if err != nil {
		return relgraph.Database{}, err
	}
	if err := p.unknown(); err != nil {
		return relgraph.Database{}, err
	}
	d, err := h.store.Database(id)
	if err != nil {
		return relgraph.Database{}, notFoundf("database %d not found", id)
	}
	return d, nil
}

// profileDataFields are the keys of the profile data object that are
// no system field of relgraph.SystemFields: they are listed with them.
var profileDataFields = []relgraph.Field{{Name: "email", Type: "email"}, {Name: "phones", Type: "phones"}}

func (h *handler) databaseFields(ctx context.Context, p *params) (map[string]any, error) {
	d, err := h.databaseParam(p)
	if err != nil {
		return nil, err
	}
	data := []any{}
	for _, f := range profileDataFields {
		data = append(data, fieldJSON("system", f))
	}
	for _, f := range relgraph.SystemFields {
		data = append(data, fieldJSON("system", f))
	}
	for _, f := range d.Fields {
		data = append(data, fieldJSON("custom", f))
	}
	return map[string]any{"data": data, "error_text": "Successful operation"}, nil
}

// fieldJSON is a field as databases/fields_get answers it, in the shape
// of the platform's sibling page for resources ("Get resource
// subscription fields"): category, title, name, required, type, and
// relgraph's own "indexed" (whether the field can be matched on).
func fieldJSON(category string, f relgraph.Field) map[string]any {
	return map[string]any{
		"category": category,
		"title":    f.Name,
		"name":     f.Name,
		"required": false,
		"type":     string(f.Type),
		"indexed":  category == "custom" && !f.Unindexed || f.Name == "email" || f.Name == "phones",
	}
}
