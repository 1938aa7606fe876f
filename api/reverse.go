package api

import (
	"context"

	"github.com/relgraph/relgraph"
)

// OwnPrefix is the path prefix of relgraph's own POST endpoints, which
// the platform does not have: outside its /api/v1.1/ paths so that no
// platform client mistakes one for its own. They speak the same wire
// format (JSON or XML, tokens, the error envelope).
const OwnPrefix = "/relgraph/v1/"

// ownEndpoints are the endpoints under OwnPrefix.
var ownEndpoints = map[string]endpoint{
	"relations/reverse": {RoleRead, (*handler).relationsReverse},
}

// relationsReverse answers who relates to a profile: the relations of
// rel_id whose B is the profile the top-level locator finds (in the
// type's database_b), a page at a time ordered by A's id (limit,
// cursor: next_cursor of the previous page), each item in
// relations/get's shape; "count": true adds total_count, which costs a
// walk of B's reverse entries (docs/spec.md §4, "Reverse lists").
func (h *handler) relationsReverse(ctx context.Context, p *params) (map[string]any, error) {
	q := relgraph.ReverseQuery{}
	var err error
	if q.RelationType, err = p.uint32("rel_id", true); err != nil {
		return nil, err
	}
	if q.B, err = p.locator(nil); err != nil {
		return nil, err
	}
	if q.Limit, err = p.int("limit", relgraph.MaxRelationsLimit); err != nil {
		return nil, err
	}
	if q.Cursor, err = p.str("cursor"); err != nil {
		return nil, err
	}
	if q.Count, err = p.boolean("count"); err != nil {
		return nil, err
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	rt, _, dbB := h.relationType(q.RelationType)
	if err := locatorValue(dbB, &q.B, ""); err != nil {
		return nil, err
	}
	var data []any
	var raw []byte
	if p.answer == JSON {
		raw = append(raw, '[')
	} else {
		data = []any{}
	}
	total, next, err := h.store.ScanReverse(ctx, q, func(v *relgraph.RelationView) error {
		if p.answer == JSON {
			if len(raw) > 1 {
				raw = append(raw, ',')
			}
			var err error
			raw, err = appendViewJSON(raw, v)
			return err
		}
		data = append(data, RelationItemJSON(v.Item()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Every item is relations/get's (db_b is the profile asked about);
	// db_a says the database of the profiles listed.
	out := map[string]any{"error_text": "Successful operation", "db_a": rt.DatabaseA} // rt is known: the scan found it
	if p.answer == JSON {
		out["data"] = rawJSON(append(raw, ']'))
	} else {
		out["data"] = data
	}
	if q.Count {
		out["total_count"] = total
	}
	if next != "" {
		out["next_cursor"] = next
	}
	return out, nil
}
