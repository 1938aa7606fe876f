package api

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
)

// ProfileData reads the platform's profile data object: email, phones,
// subscriptions, and every other key a system or custom field by its
// own name, its value typed by its declaration in db (nil: left as
// sent, for the store to judge). A subscription that does not parse is
// an error.
func ProfileData(obj map[string]any, db *relgraph.Database) (relgraph.ProfileData, error) {
	d, _, err := profileData(obj, db, dataOptions{})
	return d, err
}

// dataOptions say how a request's profile data is read.
type dataOptions struct {
	// xmlNames: the body was XML, whose example on the platform's
	// "Profile data object" page writes system fields without their
	// underscore (<fname>); such a name that is no declared field is
	// read as the system field.
	xmlNames bool
	// skipInvalidSubscriptions (the import parameter): a subscription
	// that does not parse or is not valid is dropped and reported
	// instead of failing the request.
	skipInvalidSubscriptions bool
	// check validates a subscription as the store will (with
	// skipInvalidSubscriptions).
	check func(relgraph.Subscription) error
}

func (h *handler) dataOptions(db uint32, xml, skipInvalid bool) dataOptions {
	o := dataOptions{xmlNames: xml, skipInvalidSubscriptions: skipInvalid}
	if skipInvalid {
		o.check = func(s relgraph.Subscription) error { return h.store.CheckSubscription(db, s) }
	}
	return o
}

// skipped is a subscription dropped by skip_invalid_subscriptions.
type skipped struct {
	index int
	err   error
}

func profileData(obj map[string]any, db *relgraph.Database, opts dataOptions) (relgraph.ProfileData, []skipped, error) {
	var d relgraph.ProfileData
	var drops []skipped
	p := newParams("data.", obj)
	p.xml = opts.xmlNames
	for k, v := range obj {
		switch k {
		case "email":
			if v == nil {
				d.Email = relgraph.Ptr("")
				continue
			}
			s, err := p.str("email")
			if err != nil {
				return d, nil, err
			}
			if s == "" {
				return d, nil, p.bad("email", "empty: send null to remove the email")
			}
			d.Email = &s
		case "phones":
			list, _, err := p.list("phones")
			if err != nil {
				return d, nil, err
			}
			phones := []string{}
			for _, item := range list {
				s, ok := item.(string)
				if !ok {
					return d, nil, p.bad("phones", "expected strings, got %s", kindOf(item))
				}
				phones = append(phones, s)
			}
			d.Phones = &phones
		case "subscriptions":
			list, _, err := p.list("subscriptions")
			if err != nil {
				return d, nil, err
			}
			for i, item := range list {
				s, err := subscription(i, item, p.xml)
				if err == nil && opts.check != nil {
					err = opts.check(s)
				}
				if err != nil {
					if opts.skipInvalidSubscriptions {
						drops = append(drops, skipped{i, err})
						continue
					}
					return d, nil, err
				}
				d.Subscriptions = append(d.Subscriptions, s)
			}
		default:
			if opts.xmlNames && db != nil {
				if _, declared := db.Field(k); !declared {
					if _, system := db.Field("_" + k); system {
						if _, both := obj["_"+k]; both {
							return d, nil, p.bad(k, "and _%s both set the system field _%s: send one", k, k)
						}
						k = "_" + k
					}
				}
			}
			if d.Fields == nil {
				d.Fields = map[string]any{}
			}
			var err error
			if d.Fields[k], err = fieldValue(db, k, v); err != nil {
				return d, nil, err
			}
		}
	}
	return d, drops, nil
}

// subscription reads item i of a profile's subscriptions: the channel
// and its address (email, or email_data.email, as the platform's batch
// example sends it; phone; provider and subscription_id), resource_id,
// and the optional status (a word or its number), priority,
// custom_fields and cats. Status and priority not sent leave a stored
// subscription's as they are.
func subscription(i int, raw any, xml bool) (relgraph.Subscription, error) {
	var s relgraph.Subscription
	m, ok := raw.(map[string]any)
	if !ok {
		return s, invalidf("parameter data.subscriptions: item %d: expected an object, got %s", i, kindOf(raw))
	}
	p := newParams("data.subscriptions.", m)
	p.xml = xml
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
	emailData, err := p.object("email_data")
	if err != nil {
		return s, err
	}
	if emailData != nil {
		ep := p.child("data.subscriptions.email_data.", emailData)
		e, err := ep.str("email")
		if err != nil {
			return s, err
		}
		// domain and md5 are what answers compute from the email, read
		// back from an export: taken as text and computed again.
		for _, computed := range []string{"domain", "md5"} {
			if _, err := ep.str(computed); err != nil {
				return s, err
			}
		}
		if err := ep.unknown(); err != nil {
			return s, err
		}
		if s.Email != "" && e != s.Email {
			return s, p.bad("email_data", "email %q differs from email %q", truncate(e), truncate(s.Email))
		}
		s.Email = e
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
	// is_delete: answers say false (relgraph keeps no deleted
	// subscription), and an export carries it back.
	if deleted, err := p.boolean("is_delete"); err != nil {
		return s, err
	} else if deleted {
		return s, p.bad("is_delete", "true: relgraph keeps no deleted subscriptions; leave the subscription out, or give its status")
	}
	s.KeepStatus = true
	if status, ok := p.get("status"); ok && status != nil {
		if s.Status, err = subStatus(status); err != nil {
			return s, err
		}
		s.KeepStatus = false
	}
	// Priority: absent, null or -1 leaves it as it is (the platform's
	// batch update pages).
	s.KeepPriority = true
	if v, ok := p.get("priority"); ok && v != nil {
		n, err := p.integer("priority", -1, 1<<31-1, false)
		if err != nil {
			return s, err
		}
		if n >= 0 {
			s.Priority, s.KeepPriority = int(n), false
		}
	}
	fields, err := p.object("custom_fields")
	if err != nil {
		return s, err
	}
	if fields != nil {
		s.Fields = make(map[string]string, len(fields))
		for name, v := range fields {
			text, ok := v.(string)
			if !ok {
				if n, isNum := numberText(v); isNum {
					text = n
				} else if b, isBool := v.(bool); isBool {
					text = map[bool]string{true: "true", false: "false"}[b]
				} else {
					return s, p.bad("custom_fields."+name, "expected text, a number or a boolean, got %s", kindOf(v))
				}
			}
			s.Fields[name] = text
		}
	}
	if cats, present, err := p.list("cats"); err != nil {
		return s, err
	} else if present {
		s.Categories = []string{}
		for _, c := range cats {
			text, ok := c.(string)
			if !ok {
				return s, p.bad("cats", "expected strings, got %s", kindOf(c))
			}
			s.Categories = append(s.Categories, text)
		}
	}
	if err := p.unknown(); err != nil {
		return s, err
	}
	return s, nil
}

// importOptions reads the import parameters of the platform's pages
// that change nothing here but are checked: skip_triggers (relgraph
// runs no triggers), detect_geo (nor geolocation), add_to_segments and
// remove_from_segments (nor segments); and skip_invalid_subscriptions,
// which it honours.
func importOptions(p *params, segments bool) (skipInvalid bool, err error) {
	if _, err = p.boolean("skip_triggers"); err != nil {
		return
	}
	if _, err = p.boolean("detect_geo"); err != nil {
		return
	}
	if segments {
		if _, err = p.intList("add_to_segments"); err != nil {
			return
		}
		if _, err = p.intList("remove_from_segments"); err != nil {
			return
		}
	}
	return p.boolean("skip_invalid_subscriptions")
}

// profileRequest reads db_id, the top-level locator, the import options
// and data of profiles/import and profiles/update.
func (h *handler) profileRequest(p *params, xml bool) (db uint32, loc relgraph.Locator, data relgraph.ProfileData, drops []skipped, err error) {
	if db, err = p.uint32("db_id", true); err != nil {
		return
	}
	if loc, err = p.locator(nil); err != nil {
		return
	}
	skipInvalid, err := importOptions(p, true)
	if err != nil {
		return
	}
	obj, err := p.object("data")
	if err != nil {
		return
	}
	if err = p.unknown(); err != nil {
		return
	}
	if obj == nil {
		err = p.bad("data", "required: the profile data object")
		return
	}
	d := h.database(db)
	if err = locatorValue(d, &loc, ""); err != nil {
		return
	}
	if data, drops, err = profileData(obj, d, h.dataOptions(db, xml, skipInvalid)); err != nil {
		return
	}
	// No locator: the platform matches by email by default, and the
	// profile's own email is the key, so importing it again updates it.
	if loc.IsEmpty() && data.Email != nil && *data.Email != "" {
		loc.Email = *data.Email
	}
	keyFromData(&loc, data)
	return
}

// keyFromData fills a locator whose matching mode needs a key it was
// not given from the profile's data, as the platform's "Matching" page
// says the key is read from the source: the email from data's email,
// the phone from the first of data's phones (the way import_batch and
// the command-line import read them). email_phone and email_phone_sub
// need an email, a phone or both: given either, they take nothing more
// from data (the data's other key would widen the search to another
// profile); given neither, they take both.
func keyFromData(loc *relgraph.Locator, data relgraph.ProfileData) {
	email := func() {
		if data.Email != nil {
			loc.Email = *data.Email
		}
	}
	phone := func() {
		if data.Phones != nil && len(*data.Phones) > 0 {
			loc.Phone = (*data.Phones)[0]
		}
	}
	switch loc.Matching {
	case relgraph.ModeEmail, relgraph.ModeEmailProfile, relgraph.ModeEmailSub:
		if loc.Email == "" {
			email()
		}
	case relgraph.ModePhone, relgraph.ModePhoneSub:
		if loc.Phone == "" {
			phone()
		}
	case relgraph.ModeEmailPhone, relgraph.ModeEmailPhoneSub:
		if loc.Email == "" && loc.Phone == "" {
			email()
			phone()
		}
	}
}

// withSkipped adds the subscriptions skip_invalid_subscriptions dropped
// to an answer.
func withSkipped(out map[string]any, drops []skipped) map[string]any {
	if len(drops) > 0 {
		list := make([]any, len(drops))
		for i, d := range drops {
			list[i] = map[string]any{"index": d.index, "error_text": d.err.Error()}
		}
		out["skipped_subscriptions"] = list
	}
	return out
}

func (h *handler) profileImport(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, data, drops, err := h.profileRequest(p, p.xml)
	if err != nil {
		return nil, err
	}
	id, created, err := h.store.ImportProfile(ctx, db, loc, data)
	if err != nil {
		return nil, err
	}
	return withSkipped(map[string]any{"profile_id": id.String(), "created": created, "error_text": "Successful operation"}, drops), nil
}

func (h *handler) profileUpdate(ctx context.Context, p *params) (map[string]any, error) {
	db, loc, data, drops, err := h.profileRequest(p, p.xml)
	if err != nil {
		return nil, err
	}
	if loc.IsEmpty() {
		return nil, p.bad("matching", "update needs a locator (profile_id, email, phone, field_name or provider)")
	}
	id, err := h.store.UpdateProfile(ctx, db, loc, data)
	if err != nil {
		return nil, err
	}
	return withSkipped(map[string]any{"profile_id": id.String(), "error_text": "Successful operation"}, drops), nil
}

// profileImportBatch is profiles/import_batch in the shape of the
// platform's page: db_id, a request-level matching (with field_name and
// resource_id), the import options, and data: a list of profile data
// objects, each carrying its own locator key (its email, phone or
// phones, profile_id, custom field, provider and subscription_id, or
// field_value for custom_sub). Each profile gets its own result, in
// order, in "result".
func (h *handler) profileImportBatch(ctx context.Context, p *params) (map[string]any, error) {
	db, err := p.uint32("db_id", true)
	if err != nil {
		return nil, err
	}
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
	for _, k := range []string{"email", "phone", "profile_id", "field_value", "provider", "subscription_id", "items"} {
		if _, sent := p.get(k); sent {
			return nil, p.bad(k, "not a parameter of import_batch: each profile in data carries its own locator key")
		}
	}
	skipInvalid, err := importOptions(p, false)
	if err != nil {
		return nil, err
	}
	list, present, err := p.list("data")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, p.bad("data", "required: a list of profile data objects")
	}
	if len(list) > relgraph.MaxImportBatch {
		return nil, p.bad("data", "%d profiles, at most %d", len(list), relgraph.MaxImportBatch)
	}
	if err := p.unknown(); err != nil {
		return nil, err
	}
	d := h.database(db)
	if d == nil {
		return nil, notFoundf("database %d not found", db)
	}
	opts := h.dataOptions(db, p.xml, skipInvalid)
	// A profile that does not parse fails alone, as one the store refuses.
	results := make([]relgraph.ImportResult, len(list))
	drops := make([][]skipped, len(list))
	var items []relgraph.ImportItem
	var sent []int // the index of each item sent to the store
	for i, raw := range list {
		item, dropped, err := batchItem(i, raw, def, d, opts)
		if err != nil {
			results[i].Err = err
			continue
		}
		drops[i] = dropped
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
		item := map[string]any{"error": statusOf(r.Err), "error_text": "Successful operation"}
		if r.Err != nil {
			item["error_text"] = r.Err.Error()
		} else {
			item["profile_id"] = r.ID.String()
			item["created"] = r.Created
			withSkipped(item, drops[i])
		}
		out[i] = item
	}
	return map[string]any{"result": out, "error_text": "Successful operation"}, nil
}

// batchItem reads profile i of import_batch: its locator key by the
// request's matching (inferred from its keys when there is none) and
// the rest as its data.
func batchItem(i int, raw any, def relgraph.Locator, d *relgraph.Database, opts dataOptions) (relgraph.ImportItem, []skipped, error) {
	var item relgraph.ImportItem
	obj, ok := raw.(map[string]any)
	if !ok {
		return item, nil, invalidf("parameter data: item %d: expected a profile data object, got %s", i, kindOf(raw))
	}
	obj = maps.Clone(obj)
	loc := relgraph.Locator{Matching: def.Matching, FieldName: def.FieldName, ResourceID: def.ResourceID}
	// A key is the profile's locator, not its data, when its mode uses
	// it, or when no mode is given and the database declares no field of
	// that name.
	uses := func(key string, modes ...relgraph.Mode) bool {
		if loc.Matching == "" {
			_, declared := d.Field(key)
			return !declared
		}
		return slices.Contains(modes, loc.Matching)
	}
	take := func(key string, modes ...relgraph.Mode) (string, error) {
		v, ok := obj[key]
		if !ok || v == nil || !uses(key, modes...) {
			return "", nil
		}
		delete(obj, key)
		if s, isText := v.(string); isText {
			return s, nil
		}
		if n, isNum := numberText(v); isNum {
			return n, nil
		}
		return "", invalidf("parameter data.%s: expected a string, got %s", key, kindOf(v))
	}
	var err error
	if loc.ProfileID, err = take("profile_id", relgraph.ModeProfileID); err != nil {
		return item, nil, err
	}
	if loc.Phone, err = take("phone", relgraph.ModePhone, relgraph.ModePhoneSub, relgraph.ModeEmailPhone, relgraph.ModeEmailPhoneSub); err != nil {
		return item, nil, err
	}
	if loc.Provider, err = take("provider", relgraph.ModePushSub); err != nil {
		return item, nil, err
	}
	if loc.SubscriptionID, err = take("subscription_id", relgraph.ModePushSub); err != nil {
		return item, nil, err
	}
	if v, ok := obj["field_value"]; ok && uses("field_value", relgraph.ModeCustomSub) {
		delete(obj, "field_value")
		loc.FieldValue = v
	}
	data, drops, err := profileData(obj, d, opts)
	if err != nil {
		return item, nil, err
	}
	if data.Email != nil && *data.Email != "" {
		loc.Email = *data.Email
	}
	if loc.Phone == "" && data.Phones != nil && len(*data.Phones) > 0 {
		switch loc.Matching {
		case relgraph.ModePhone, relgraph.ModePhoneSub, relgraph.ModeEmailPhone, relgraph.ModeEmailPhoneSub:
			loc.Phone = (*data.Phones)[0]
		}
	}
	if loc.Matching == relgraph.ModeCustom && loc.FieldValue == nil {
		loc.FieldValue = obj[loc.FieldName] // as sent: locatorValue types it
	}
	if loc.Matching == "" && loc.ProfileID == "" && loc.Email == "" && loc.Phone == "" && loc.Provider == "" && loc.SubscriptionID == "" {
		loc = relgraph.Locator{} // no key: a new profile
	}
	if err := locatorValue(d, &loc, ""); err != nil {
		return item, nil, err
	}
	item.Locator, item.Data = loc, data
	return item, drops, nil
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
	return map[string]any{"data": map[string]any{"profile_id": id.String()}, "error_text": "Successful operation"}, nil
}

// subscriptionJSON shapes a subscription as the platform's profile
// answers do: resource_id, channel, status (its word), priority, the
// address (email with email_data: the email, its domain and the md5 of
// the email; phone; provider and subscription_id), is_delete (always
// false: relgraph keeps no deleted subscriptions), and custom_fields and
// cats when it has them, or always with full (subscriptions/get).
func subscriptionJSON(s relgraph.Subscription, full bool) map[string]any {
	m := map[string]any{"resource_id": s.ResourceID, "channel": string(s.Channel), "status": s.Status.String(), "priority": s.Priority, "is_delete": false}
	switch s.Channel {
	case relgraph.ChannelEmail:
		m["email"] = s.Email
		sum := md5.Sum([]byte(s.Email))
		m["email_data"] = map[string]any{"email": s.Email, "domain": s.Email[strings.LastIndexByte(s.Email, '@')+1:], "md5": hex.EncodeToString(sum[:])}
	case relgraph.ChannelSMS:
		m["phone"] = s.Phone
	default:
		m["provider"], m["subscription_id"] = s.Provider, s.SubscriptionID
	}
	if len(s.Fields) > 0 || full {
		fields := make(map[string]any, len(s.Fields))
		for k, v := range s.Fields {
			fields[k] = v
		}
		m["custom_fields"] = fields
	}
	if len(s.Categories) > 0 || full {
		cats := make([]any, len(s.Categories))
		for i, c := range s.Categories {
			cats[i] = c
		}
		m["cats"] = cats
	}
	return m
}

// ProfileJSON shapes a profile as the platform's "Get profile data"
// does: id, db_id, email, phones, subscriptions, and each system and
// custom field by name at the top level; dates as RFC 3339 text, tags
// as lists. The computed fields relgraph keeps are there too:
// _createtime, _updatetime, _xxh (xxHash64 of the id, as relations/get
// answers it), and with an email _md5 (of the email) and _emaildomain.
func ProfileJSON(p *relgraph.Profile) map[string]any {
	id := p.ID.String()
	out := map[string]any{
		"id":          id,
		"db_id":       p.DatabaseID,
		"email":       nil,
		"phones":      []any{},
		"_createtime": p.Created.Format(time.RFC3339Nano),
		"_updatetime": p.Updated.Format(time.RFC3339Nano),
		"_xxh":        XXH(p.ID),
	}
	if p.Email != "" {
		out["email"] = p.Email
		sum := md5.Sum([]byte(p.Email))
		out["_md5"] = hex.EncodeToString(sum[:])
		out["_emaildomain"] = p.Email[strings.LastIndexByte(p.Email, '@')+1:]
	}
	phones := make([]any, len(p.Phones))
	for i, ph := range p.Phones {
		phones[i] = ph
	}
	out["phones"] = phones
	subs := make([]any, 0, len(p.Subscriptions))
	for _, sub := range p.Subscriptions {
		subs = append(subs, subscriptionJSON(sub, false))
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
