package api

import (
	"context"
	"encoding/json"
	"math/big"

	"github.com/relgraph/relgraph"
)

// sideDefaults reads the request-level matching block.
func sideDefaults(p *params) (*relgraph.Locator, error) {
	var def relgraph.Locator
	m, err := p.str("matching")
	if err != nil {
		return nil, err
	}
	def.Matching = relgraph.Mode(m)
	if def.FieldName, err = p.str("field_name"); err != nil {
		return nil, err
	}
	if def.ResourceID, err = p.uint32("resource_id", false); err != nil {
		return nil, err
	}
	return &def, nil
}

// relationRequest reads rel_id, profile_a, profile_b and weights, with
// values typed by the relation type's declarations.
func (h *handler) relationRequest(p *params) (relgraph.RelationRequest, error) {
	var req relgraph.RelationRequest
	var err error
	if req.RelationType, err = p.uint32("rel_id", true); err != nil {
		return req, err
	}
	def, err := sideDefaults(p)
	if err != nil {
		return req, err
	}
	for _, side := range []struct {
		name string
		loc  *relgraph.Locator
	}{{"profile_a", &req.A}, {"profile_b", &req.B}} {
		obj, err := p.object(side.name)
		if err != nil {
			return req, err
		}
		if obj == nil {
			return req, p.bad(side.name, "required: an object with the profile's locator")
		}
		sp := newParams(side.name+".", obj)
		if *side.loc, err = sp.locator(def); err != nil {
			return req, err
		}
		if err := sp.unknown(); err != nil {
			return req, err
		}
	}
	if req.Weights, err = p.object("weights"); err != nil {
		return req, err
	}
	if err := p.unknown(); err != nil {
		return req, err
	}
	rt, dbA, dbB := h.relationType(req.RelationType)
	if err := locatorValue(dbA, &req.A, "profile_a"); err != nil {
		return req, err
	}
	if err := locatorValue(dbB, &req.B, "profile_b"); err != nil {
		return req, err
	}
	req.Weights, err = weights(rt, req.Weights)
	return req, err
}

func relationAnswer(res relgraph.RelationResult) map[string]any {
	return map[string]any{
		"profile_a":   res.ProfileA.String(),
		"profile_b":   res.ProfileB.String(),
		"relation_id": res.RelationType,
		"created":     res.Created,
	}
}

func (h *handler) relationWrite(ctx context.Context, p *params, op func(context.Context, relgraph.RelationRequest) (relgraph.RelationResult, error)) (map[string]any, error) {
	req, err := h.relationRequest(p)
	if err != nil {
		return nil, err
	}
	res, err := op(ctx, req)
	if err != nil {
		return nil, err
	}
	return relationAnswer(res), nil
}

func (h *handler) edit(ctx context.Context, p *params) (map[string]any, error) {
	return h.relationWrite(ctx, p, h.store.Overwrite)
}

func (h *handler) strengthen(ctx context.Context, p *params) (map[string]any, error) {
	return h.relationWrite(ctx, p, h.store.Modify)
}

func (h *handler) attach(ctx context.Context, p *params) (map[string]any, error) {
	return h.relationWrite(ctx, p, h.store.Attach)
}

func (h *handler) detach(ctx context.Context, p *params) (map[string]any, error) {
	return h.relationWrite(ctx, p, h.store.Detach)
}

// relationsGet is relations/get: the A profile's locator at the top
// level, with limit, offset or cursor.
func (h *handler) relationsGet(ctx context.Context, p *params) (map[string]any, error) {
	q := relgraph.RelationsQuery{}
	var err error
	if q.RelationType, err = p.uint32("rel_id", true); err != nil {
		return nil, err
	}
	if q.A, err = p.locator(nil); err != nil {
		return nil, err
	}
	if q.Limit, err = p.int("limit", relgraph.MaxRelationsLimit); err != nil {
		return nil, err
	}
	if q.Offset, err = p.int("offset", 1<<31-1); err != nil {
		return nil, err
	}
	if q.Cursor, err = p.str("cursor"); err != nil {
		return nil, err
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	_, dbA, _ := h.relationType(q.RelationType)
	if err := locatorValue(dbA, &q.A, ""); err != nil {
		return nil, err
	}
	if q.Limit == 0 && q.Cursor == "" && q.Offset == 0 {
		// The page documents "all existing links", and no paging.
		q.Limit = relgraph.MaxRelationsLimit
		first, err := h.store.Relations(ctx, q)
		if err != nil {
			return nil, err
		}
		return map[string]any{streamKey: &relationStream{first: first, q: q}, "error_text": "Successful operation"}, nil
	}
	if p.answer == JSON {
		// Read in place and written as bytes: no map per relation.
		data, total, next, err := h.relationsJSON(ctx, q)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"data": data, "total_count": total, "error_text": "Successful operation"}
		if next != "" {
			out["next_cursor"] = next
		}
		return out, nil
	}
	page, err := h.store.Relations(ctx, q)
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(page.Items))
	for _, it := range page.Items {
		items = append(items, RelationItemJSON(it))
	}
	out := map[string]any{"data": items, "total_count": page.Total, "error_text": "Successful operation"}
	if page.NextCursor != "" {
		out["next_cursor"] = page.NextCursor
	}
	return out, nil
}

// wireNumber writes a float sum beyond float64's range (a *big.Float)
// as a JSON or XML number; other values pass through.
func wireNumber(v any) any {
	if f, ok := v.(*big.Float); ok {
		return json.Number(f.Text('g', -1))
	}
	return v
}

// getCounter is relations/get_counter.
func (h *handler) getCounter(ctx context.Context, p *params) (map[string]any, error) {
	rel, loc, err := p.idAndLocator("rel_id")
	if err != nil {
		return nil, err
	}
	_, dbA, _ := h.relationType(rel)
	if err := locatorValue(dbA, &loc, ""); err != nil {
		return nil, err
	}
	c, err := h.store.Counter(ctx, rel, loc)
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": CounterJSON(c), "error_text": "Successful operation"}, nil
}

// CounterJSON is a counter as relations/get_counter answers it (its
// data): profile_id, profile_xxh, total, and per property total, sum
// (null unless a sum property; beyond float64 still a JSON number) and
// top (null unless a top property).
func CounterJSON(c *relgraph.Counter) map[string]any {
	props := map[string]any{}
	for name, pc := range c.Props {
		var top any // null unless a top property
		if pc.Top != nil {
			list := make([]any, 0, len(pc.Top))
			for _, e := range pc.Top {
				list = append(list, map[string]any{"profile_id": e.ProfileB.String(), "value": e.Value})
			}
			top = list
		}
		props[name] = map[string]any{"total": pc.Total, "sum": wireNumber(pc.Sum), "top": top}
	}
	return map[string]any{
		"profile_id":  c.ProfileA.String(),
		"profile_xxh": XXH(c.ProfileA),
		"total":       c.Total,
		"props":       props,
	}
}
