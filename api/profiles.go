package api

import (
	"context"
	"slices"
	"time"

	"github.com/relgraph/relgraph"
)

// ProfileData reads the platform's profile data object: email, phones,
// subscriptions, and every other key a custom field by its own name,
// its value typed by its declaration in db (nil: left as sent, for the
// store to judge).
func ProfileData(obj map[string]any, db *relgraph.Database) (relgraph.ProfileData, error) {
	var d relgraph.ProfileData
	p := newParams("data.", obj)
	for k, v := range obj {
		switch k {
		case "email":
			if v == nil {
				d.Email = relgraph.Ptr("")
				continue
			}
			s, err := p.str("email")
			if err != nil {
				return d, err
			}
			if s == "" {
				return d, p.bad("email", "empty: send null to remove the email")
			}
			d.Email = &s
		case "phones":
			list, _, err := p.list("phones")
			if err != nil {
				return d, err
			}
			phones := []string{}
			for _, item := range list {
				s, ok := item.(string)
				if !ok {
					return d, p.bad("phones", "expected strings, got %s", kindOf(item))
				}
				phones = append(phones, s)
			}
			d.Phones = &phones
		case "subscriptions":
			list, _, err := p.list("subscriptions")
			if err != nil {
				return d, err
			}
			for i, item := range list {
				m, ok := item.(map[string]any)
				if !ok {
					return d, p.bad("subscriptions", "item %d: expected an object, got %s", i, kindOf(item))
				}
				s, err := subscription(m)
				if err != nil {
					return d, err
				}
				d.Subscriptions = append(d.Subscriptions, s)
			}
		default:
			if d.Fields == nil {
				d.Fields = map[string]any{}
			}
			var err error
			if d.Fields[k], err = fieldValue(db, k, v); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

func subscription(m map[string]any) (relgraph.Subscription, error) {
	var s relgraph.Subscription
	p := newParams("data.subscriptions.", m)
	var err error
	if s.ResourceID, err = p.uint32("resource_id", true); err != nil {
		return s, err
	}
	ch, err := p.str("channel")
	if err != nil {
		return s, err
	}
	s.Channel = relgraph.Channel(ch)
	if s.Email, err = p.str("email"); err != nil {
		return s, err
	}
	if s.Phone, err = p.str("phone"); err != nil {
		return s, err
	}
	if s.Provider, err = p.str("provider"); err != nil {
		return s, err
	}
	if s.SubscriptionID, err = p.str("subscription_id"); err != nil {
		return s, err
	}
	if status, ok := p.get("status"); ok {
		if s.Status, err = subStatus(status); err != nil {
			return s, err
		}
	}
	return s, p.unknown()
}

// profileRequest reads db_id, the top-level locator and data.
func (h *handler) profileRequest(p *params) (db uint32, loc relgraph.Locator, data relgraph.ProfileData, err error) {
	if db, err = p.uint32("db_id", true); err != nil {
		return
	}
	if loc, err = p.locator(nil); err != nil {
		return
	}
	obj, err := p.object("data")
	if err != nil {
		return
	}
	if err = p.unknown(); err != nil {
		return
	}
	d := h.database(db)
	if err = locatorValue(d, &loc, ""); err != nil {
		return
	}
	data, err = ProfileData(obj, d)
	return
}

func (h *handler) profileImport(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, data, err := h.profileRequest(p)
	if err != nil {
		return nil, err
	}
	id, created, err := h.store.ImportProfile(ctx, db, loc, data)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profile_id": id.String(), "created": created}, nil
}

func (h *handler) profileUpdate(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, data, err := h.profileRequest(p)
	if err != nil {
		return nil, err
	}
	if loc.IsEmpty() {
		return nil, p.bad("matching", "update needs a locator (profile_id, email, phone or field_name)")
	}
	id, err := h.store.UpdateProfile(ctx, db, loc, data)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profile_id": id.String()}, nil
}

// profileImportBatch is profiles/import_batch: db_id, an optional
// request-level matching block, and items, each with its own locator
// keys and data. Each item gets its own result.
func (h *handler) profileImportBatch(ctx context.Context, p *params) (map[string]any, error) {
	db, err := p.uint32("db_id", true)
	if err != nil {
		return nil, err
	}
	def, err := sideDefaults(p)
	if err != nil {
		return nil, err
	}
	list, present, err := p.list("items")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, p.bad("items", "required: a list of {locator keys, data}")
	}
	if len(list) > relgraph.MaxImportBatch {
		return nil, p.bad("items", "%d items, at most %d", len(list), relgraph.MaxImportBatch)
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	d := h.database(db)
	// An item that does not parse fails alone, as one the store refuses.
	results := make([]relgraph.ImportResult, len(list))
	var items []relgraph.ImportItem
	var sent []int // the index of each item sent to the store
	for i, raw := range list {
		item, err := importItem(raw, def, d)
		if err != nil {
			results[i].Err = err
			continue
		}
		items, sent = append(items, item), append(sent, i)
	}
	stored, err := h.store.ImportBatch(ctx, db, items)
	if err != nil {
		return nil, err
	}
	for j, r := range stored {
		results[sent[j]] = r
	}
	out := make([]any, len(results))
	for i, r := range results {
		item := map[string]any{"error": statusOf(r.Err), "error_text": ""}
		if r.Err != nil {
			item["error_text"] = r.Err.Error()
		} else {
			item["profile_id"] = r.ID.String()
			item["created"] = r.Created
		}
		out[i] = item
	}
	return map[string]any{"data": out}, nil
}

// importItem reads one item of import_batch: its locator keys and data.
func importItem(raw any, def *relgraph.Locator, d *relgraph.Database) (relgraph.ImportItem, error) {
	var item relgraph.ImportItem
	m, ok := raw.(map[string]any)
	if !ok {
		return item, invalidf("item: expected an object, got %s", kindOf(raw))
	}
	ip := newParams("items.", m)
	var err error
	if item.Locator, err = ip.locator(def); err != nil {
		return item, err
	}
	obj, err := ip.object("data")
	if err != nil {
		return item, err
	}
	if err := ip.unknown(); err != nil {
		return item, err
	}
	if err := locatorValue(d, &item.Locator, ""); err != nil {
		return item, err
	}
	item.Data, err = ProfileData(obj, d)
	return item, err
}

func (h *handler) profileGet(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, err := p.idAndLocator("db_id")
	if err != nil {
		return nil, err
	}
	if err := locatorValue(h.database(db), &loc, ""); err != nil {
		return nil, err
	}
	prof, err := h.store.GetProfile(ctx, db, loc)
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": ProfileJSON(prof), "error_text": "Successful operation"}, nil
}

func (h *handler) profileDelete(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, err := p.idAndLocator("db_id")
	if err != nil {
		return nil, err
	}
	if err := locatorValue(h.database(db), &loc, ""); err != nil {
		return nil, err
	}
	id, err := h.store.DeleteProfile(ctx, db, loc)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profile_id": id.String()}, nil
}

// ProfileJSON shapes a profile as the platform does: id, db_id, email,
// phones, subscriptions and each custom field by name at the top level;
// dates as RFC 3339 text, tags as lists. _created and _updated (names
// no custom field can take) carry the store's times.
func ProfileJSON(p *relgraph.Profile) map[string]any {
	out := map[string]any{
		"id":       p.ID.String(),
		"db_id":    p.DatabaseID,
		"email":    nil,
		"phones":   []any{},
		"_created": p.Created.Format(time.RFC3339Nano),
		"_updated": p.Updated.Format(time.RFC3339Nano),
	}
	if p.Email != "" {
		out["email"] = p.Email
	}
	phones := make([]any, len(p.Phones))
	for i, ph := range p.Phones {
		phones[i] = ph
	}
	out["phones"] = phones
	subs := make([]any, 0, len(p.Subscriptions))
	for _, s := range p.Subscriptions {
		m := map[string]any{"resource_id": s.ResourceID, "channel": string(s.Channel), "status": s.Status.String()}
		switch s.Channel {
		case relgraph.ChannelEmail:
			m["email"] = s.Email
		case relgraph.ChannelSMS:
			m["phone"] = s.Phone
		default:
			m["provider"], m["subscription_id"] = s.Provider, s.SubscriptionID
		}
		subs = append(subs, m)
	}
	out["subscriptions"] = subs
	for name, v := range p.Fields {
		switch x := v.(type) {
		case time.Time:
			out[name] = x.Format(time.RFC3339Nano)
		case []string:
			tags := make([]any, len(x))
			for i, t := range slices.Clone(x) {
				tags[i] = t
			}
			out[name] = tags
		default:
			out[name] = v
		}
	}
	return out
}
