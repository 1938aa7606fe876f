package relgraph

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// ProfileData is what an import or update sets on a profile. Absent
// parts are kept as stored.
type ProfileData struct {
	// Email: nil keeps it; a pointer to "" removes it; otherwise it is
	// normalized (docs/spec.md §2) and must be unused by other profiles of the
	// database (409).
	Email *string
	// Phones: nil keeps them; otherwise they replace the list (empty
	// clears it). Each is normalized; duplicates are dropped.
	Phones *[]string
	// Fields sets system and custom fields by name; a nil value unsets
	// the field, a FieldUpdate changes it (incr, add, delete). Names
	// must be declared (400) and values of the declared type.
	Fields map[string]any
	// Subscriptions are upserted by (resource, channel, address).
	Subscriptions []Subscription
}

// Ptr returns a pointer to v, for ProfileData's optional parts.
func Ptr[T any](v T) *T { return &v }

// normalize checks data against database d and returns its canonical
// form. Every error names the offending field.
func (data ProfileData) normalize(d *Database, region string) (ProfileData, error) {
	var out ProfileData
	if data.Email != nil {
		e := ""
		if *data.Email != "" {
			var err error
			if e, err = NormalizeEmail(*data.Email); err != nil {
				return out, err
			}
		}
		out.Email = &e
	}
	if data.Phones != nil {
		phones := make([]string, 0, len(*data.Phones))
		for _, ph := range *data.Phones {
			n, err := NormalizePhone(ph, region)
			if err != nil {
				return out, err
			}
			if !slices.Contains(phones, n) {
				phones = append(phones, n)
			}
		}
		if len(phones) > MaxPhones {
			return out, invalidf("phones: %d numbers, at most %d", len(phones), MaxPhones)
		}
		out.Phones = &phones
	}
	if len(data.Fields) > 0 {
		out.Fields = make(map[string]any, len(data.Fields))
		for name, v := range data.Fields {
			f, ok := d.Field(name)
			if !ok {
				return out, undeclaredField(d, name)
			}
			if v == nil {
				out.Fields[name] = nil
				continue
			}
			var n any
			var err error
			if u, isUpdate := v.(FieldUpdate); isUpdate {
				n, err = normalizeUpdate(f, u)
			} else {
				n, err = normalizeFieldValue(f, v)
			}
			if err != nil {
				return out, err
			}
			out.Fields[name] = n
		}
	}
	for _, s := range data.Subscriptions {
		n, err := s.normalize(region)
		if err != nil {
			return out, err
		}
		out.Subscriptions = append(out.Subscriptions, n)
	}
	return out, nil
}

// apply sets normalized data on p.
func (data ProfileData) apply(p *Profile) {
	if data.Email != nil {
		p.Email = *data.Email
	}
	if data.Phones != nil {
		p.Phones = slices.Clone(*data.Phones)
	}
	for name, v := range data.Fields {
		if v == nil {
			delete(p.Fields, name)
			continue
		}
		if tags, ok := v.([]string); ok && len(tags) == 0 {
			delete(p.Fields, name) // an empty tag set is no value
			continue
		}
		if p.Fields == nil {
			p.Fields = map[string]any{}
		}
		p.Fields[name] = v
	}
	for _, s := range data.Subscriptions {
		i := slices.IndexFunc(p.Subscriptions, func(have Subscription) bool { return have.sameIdentity(&s) })
		if i >= 0 {
			p.Subscriptions[i] = s.mergeInto(p.Subscriptions[i])
		} else {
			p.Subscriptions = append(p.Subscriptions, s.stored())
		}
	}
	slices.SortFunc(p.Subscriptions, compareSubscriptions)
	if len(p.Fields) == 0 {
		p.Fields = nil
	}
	if len(p.Phones) == 0 {
		p.Phones = nil
	}
}

// subscriptionMode reports whether mode finds profiles by their
// subscriptions only.
func subscriptionMode(mode Mode) bool {
	switch mode {
	case ModeEmailSub, ModePhoneSub, ModeEmailPhoneSub, ModePushSub, ModeCustomSub:
		return true
	}
	return false
}

// canSubscribe reports whether a profile created by a subscription-only
// locator can carry the subscription the locator finds: it needs the
// resource, and custom_sub's field needs a subscription to belong to,
// which the locator does not describe.
func (l Locator) canSubscribe(mode Mode) bool {
	return l.ResourceID != 0 && mode != ModeCustomSub
}

// withLocatorKey fills the locator's key into data for a profile about
// to be created, unless data sets it itself, so that the same locator
// finds it again: the email for email and email_profile, the phone for
// phone, both for email_phone, the field for custom; for the
// subscription modes, a subscription on the locator's resource with its
// address (status subscribed).
func (data ProfileData) withLocatorKey(loc Locator, mode Mode) ProfileData {
	if subscriptionMode(mode) {
		var subs []Subscription
		if loc.Email != "" && (mode == ModeEmailSub || mode == ModeEmailPhoneSub) {
			subs = append(subs, Subscription{ResourceID: loc.ResourceID, Channel: ChannelEmail, Email: loc.Email, KeepStatus: true, KeepPriority: true})
		}
		if loc.Phone != "" && (mode == ModePhoneSub || mode == ModeEmailPhoneSub) {
			subs = append(subs, Subscription{ResourceID: loc.ResourceID, Channel: ChannelSMS, Phone: loc.Phone, KeepStatus: true, KeepPriority: true})
		}
		if mode == ModePushSub {
			subs = append(subs, Subscription{ResourceID: loc.ResourceID, Channel: ChannelPush, Provider: loc.Provider, SubscriptionID: loc.SubscriptionID, KeepStatus: true, KeepPriority: true})
		}
		data.Subscriptions = append(subs, data.Subscriptions...)
		return data
	}
	switch mode {
	case ModeEmail, ModeEmailProfile:
		if data.Email == nil {
			data.Email = Ptr(loc.Email)
		}
	case ModePhone:
		if data.Phones == nil {
			data.Phones = &[]string{loc.Phone}
		}
	case ModeEmailPhone:
		if data.Email == nil && loc.Email != "" {
			data.Email = Ptr(loc.Email)
		}
		if data.Phones == nil && loc.Phone != "" {
			data.Phones = &[]string{loc.Phone}
		}
	case ModeCustom:
		if _, set := data.Fields[loc.FieldName]; !set {
			fields := make(map[string]any, len(data.Fields)+1)
			for k, v := range data.Fields {
				fields[k] = v
			}
			fields[loc.FieldName] = loc.FieldValue
			data.Fields = fields
		}
	}
	return data
}

// ImportProfile updates the profile of database db that loc designates,
// or creates it when there is none (docs/spec.md §5). An empty locator
// always creates. A created profile gets a new id, and loc's key unless
// data sets it. A profile_id locator only updates, as the platform's
// (an unknown id is a 404): RestoreProfile creates with a given id.
// Returns the id and whether it was created. Errors: 404 unknown
// database or profile id; 400 bad data or locator; 409 ambiguous
// locator or an email used by another profile. An import that changes
// nothing writes nothing. Needs a writable Tx.
func (tx *Tx) ImportProfile(db uint32, loc Locator, data ProfileData) (ProfileID, bool, error) {
	return tx.putProfile(db, loc, data, createNew)
}

// RestoreProfile imports data into the profile of database db with id
// id, creating it with that id when there is none: how an export is
// imported again with its ids, or a profile with a fixed id set up.
// Errors as ImportProfile. Needs a writable Tx.
func (tx *Tx) RestoreProfile(db uint32, id ProfileID, data ProfileData) (bool, error) {
	_, created, err := tx.putProfile(db, Locator{Matching: ModeProfileID, ProfileID: id.String()}, data, createWithID)
	return created, err
}

// UpdateProfile is ImportProfile that refuses to create: no match is a
// 404.
func (tx *Tx) UpdateProfile(db uint32, loc Locator, data ProfileData) (ProfileID, error) {
	id, _, err := tx.putProfile(db, loc, data, updateOnly)
	return id, err
}

// creation is what putProfile does when the locator finds no profile.
type creation int

const (
	updateOnly   creation = iota // 404
	createNew                    // create with a new id (a profile_id locator: 404)
	createWithID                 // create with the locator's profile id
)

// op is the operation a putProfile of this kind is, for the feed.
func (c creation) op() ChangeOp {
	return [...]ChangeOp{updateOnly: OpUpdate, createNew: OpImport, createWithID: OpRestore}[c]
}

// buildProfile applies data to p in place: data normalized against
// database d, its field updates resolved against p, the subscription
// limit checked. An error names what is wrong; p is then not to be used.
func buildProfile(p *Profile, data ProfileData, d *Database, region string) error {
	norm, err := data.normalize(d, region)
	if err != nil {
		return err
	}
	if norm, err = norm.resolveUpdates(p); err != nil {
		return err
	}
	norm.apply(p)
	if len(p.Subscriptions) > MaxSubscriptions {
		return invalidf("subscriptions: %d, at most %d per profile", len(p.Subscriptions), MaxSubscriptions)
	}
	return nil
}

func (tx *Tx) putProfile(db uint32, loc Locator, data ProfileData, how creation) (ProfileID, bool, error) {
	d, err := tx.schema.db(db)
	if err != nil {
		return ProfileID{}, false, err
	}
	var old *Profile
	var oldBytes []byte
	var mode Mode
	// absentEmail is an email the match just found on no profile of d
	// (the email index has no entry for it), so the uniqueness check
	// below, with no write in between, need not read that entry again.
	var absentEmail string
	if !loc.IsEmpty() || how == updateOnly {
		if mode, err = loc.mode(); err != nil {
			return ProfileID{}, false, err
		}
		id, err := tx.match(d, loc, "")
		switch {
		case err == nil:
			if old, oldBytes, err = tx.loadProfile(d.ID, id); err != nil {
				return ProfileID{}, false, err
			}
		case how == updateOnly || !errors.Is(err, ErrNotFound):
			return ProfileID{}, false, err
		case mode == ModeProfileID && how != createWithID:
			return ProfileID{}, false, notFoundf("%v: profile_id matching finds and updates a profile, never creates one", err)
		case subscriptionMode(mode) && !loc.canSubscribe(mode):
			return ProfileID{}, false, notFoundf("%v: %s matching finds profiles by their subscriptions; to create one it finds again, give resource_id (its subscription's resource)", err, mode)
		}
		if err != nil && readsProfileEmail(mode) { // not found: no entry in the email index
			absentEmail, _ = NormalizeEmail(loc.Email)
		}
	}
	created := old == nil
	var p *Profile
	var val []byte           // the encoded record, when prepared ahead
	var idless []index.Entry // its index entries, when prepared ahead
	if pre := tx.prepared; created && pre.usable(d, d.phoneRegion(tx.region), tx.now) {
		if pre.err != nil {
			return ProfileID{}, false, pre.err
		}
		cp := *pre.profile // a copy: a retried batch uses pre again
		p, val, idless = &cp, pre.val, pre.entries
	} else {
		if created {
			data = data.withLocatorKey(loc, mode)
			p = &Profile{DatabaseID: d.ID, Created: tx.now, Updated: tx.now}
		} else {
			p = old.clone()
		}
		if err := buildProfile(p, data, d, d.phoneRegion(tx.region)); err != nil {
			return ProfileID{}, false, err
		}
	}
	if created {
		if mode == ModeProfileID {
			p.ID, _ = ParseProfileID(loc.ProfileID) // parsed by match already
		}
	} else {
		p.ID = old.ID
	}
	if p.Email != "" && (old == nil || p.Email != old.Email) && p.Email != absentEmail {
		owner, err := tx.kv.Get(index.Emails, index.EmailKey(d.ID, p.Email))
		if err != nil {
			return ProfileID{}, false, storageErr("read email index", err)
		}
		if owner != nil && (created || !bytes.Equal(owner, old.ID[:])) {
			return ProfileID{}, false, conflictf("email %q is already used by profile %x in database %d", p.Email, owner, d.ID)
		}
	}
	// Validation is done; from here on only writes.
	if created {
		var err error
		if p.ID.IsZero() {
			p.ID, err = tx.newProfileID()
		} else {
			err = tx.flushIDs() // its own id may be one of a reserved block's
		}
		if err != nil {
			return ProfileID{}, false, err
		}
	}
	if at := tx.restoreAt; at != nil {
		p.Created, p.Updated = at.created, at.updated // an export's times
	}
	if val == nil {
		if val, err = encodeProfile(p); err != nil {
			return ProfileID{}, false, err
		}
	}
	if !created {
		if bytes.Equal(val, oldBytes) {
			return p.ID, false, nil // nothing changed: write nothing
		}
		if tx.restoreAt == nil {
			p.Updated = tx.now
			if val, err = encodeProfile(p); err != nil {
				return ProfileID{}, false, err
			}
		}
	}
	var del, put []index.Entry
	switch {
	case idless != nil:
		put = withProfileID(idless, p.ID)
	case old != nil:
		del, put = index.Diff(indexEntries(d, old), indexEntries(d, p))
	default:
		put = index.SortSet(indexEntries(d, p))
	}
	if err := index.Apply(tx.kv, del, put); err != nil {
		return ProfileID{}, false, storageErr("write profile indexes", err)
	}
	if err := tx.kv.Put(index.Profiles, index.ProfileKey(d.ID, p.ID), val); err != nil {
		return ProfileID{}, false, storageErr("write profile", err)
	}
	if err := tx.profileChange(how.op(), d.ID, p.ID, oldBytes, val); err != nil {
		return ProfileID{}, false, err
	}
	return p.ID, created, nil
}

// loadProfile reads and decodes a stored profile, returning also its
// bytes (copied). A missing profile is a 404.
func (tx *Tx) loadProfile(db uint32, id ProfileID) (*Profile, []byte, error) {
	v, err := tx.kv.Get(index.Profiles, index.ProfileKey(db, id))
	if err != nil {
		return nil, nil, storageErr("read profile", err)
	}
	if v == nil {
		return nil, nil, notFoundf("profile %s not found in database %d", id, db)
	}
	v = bytes.Clone(v)
	p, err := decodeProfile(db, id, v)
	return p, v, err
}

// GetProfile returns the profile of database db that loc designates.
// Errors as Match, plus ErrCorrupt for a record that does not decode.
func (tx *Tx) GetProfile(db uint32, loc Locator) (*Profile, error) {
	d, err := tx.schema.db(db)
	if err != nil {
		return nil, err
	}
	id, err := tx.match(d, loc, "")
	if err != nil {
		return nil, err
	}
	p, _, err := tx.loadProfile(d.ID, id)
	return p, err
}

// DeleteProfile deletes the profile of database db that loc designates,
// its index entries and every relation it is on (as A and as B, of every
// relation type), fixing the counters of the profiles on the other side
// (docs/spec.md §4). It costs one write per index entry and per relation.
// Returns the deleted id. Needs a writable Tx.
func (tx *Tx) DeleteProfile(db uint32, loc Locator) (ProfileID, error) {
	d, err := tx.schema.db(db)
	if err != nil {
		return ProfileID{}, err
	}
	id, err := tx.match(d, loc, "")
	if err != nil {
		return ProfileID{}, err
	}
	p, before, err := tx.loadProfile(d.ID, id)
	if err != nil {
		return ProfileID{}, err
	}
	if err := tx.deleteRelationsOf(d.ID, id); err != nil {
		return ProfileID{}, err
	}
	if err := index.Apply(tx.kv, indexEntries(d, p), nil); err != nil {
		return ProfileID{}, storageErr("delete profile indexes", err)
	}
	if err := tx.kv.Delete(index.Profiles, index.ProfileKey(d.ID, id)); err != nil {
		return ProfileID{}, storageErr("delete profile", err)
	}
	if err := tx.profileChange(OpDelete, d.ID, id, before, nil); err != nil {
		return ProfileID{}, err
	}
	return id, nil
}

// scanProfiles calls fn with every profile of database db, in id order.
// It stops at fn's first error, and at a record that does not decode.
func (tx *Tx) scanProfiles(db uint32, fn func(p *Profile) error) error {
	return tx.scanProfilesAfter(db, ProfileID{}, fn)
}

// scanProfilesAfter is scanProfiles from the first profile whose id
// sorts after after (the zero id: the first of all).
func (tx *Tx) scanProfilesAfter(db uint32, after ProfileID, fn func(p *Profile) error) error {
	c, err := tx.kv.Cursor(index.Profiles)
	if err != nil {
		return storageErr("cursor", err)
	}
	prefix := index.DB(db)
	start := prefix
	if !after.IsZero() {
		// The smallest key after the profile's own: its key and a zero byte.
		start = append(append(slices.Clip(prefix), after[:]...), 0)
	}
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 4+index.IDLen {
			return corruptf("%s: malformed profile key", index.Describe(index.Profiles, k))
		}
		p, err := decodeProfile(db, ProfileID(k[4:]), v)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return cursorErr(c)
}

// ImportProfile runs Tx.ImportProfile in its own write.
func (s *Store) ImportProfile(ctx context.Context, db uint32, loc Locator, data ProfileData) (id ProfileID, created bool, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, created, err = tx.ImportProfile(db, loc, data)
		return err
	})
	return id, created, err
}

// RestoreProfile runs Tx.RestoreProfile in its own write.
func (s *Store) RestoreProfile(ctx context.Context, db uint32, id ProfileID, data ProfileData) (created bool, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		created, err = tx.RestoreProfile(db, id, data)
		return err
	})
	return created, err
}

// UpdateProfile runs Tx.UpdateProfile in its own write.
func (s *Store) UpdateProfile(ctx context.Context, db uint32, loc Locator, data ProfileData) (id ProfileID, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, err = tx.UpdateProfile(db, loc, data)
		return err
	})
	return id, err
}

// DeleteProfile runs Tx.DeleteProfile in its own write.
func (s *Store) DeleteProfile(ctx context.Context, db uint32, loc Locator) (id ProfileID, err error) {
	err = s.write(ctx, func(tx *Tx) error {
		id, err = tx.DeleteProfile(db, loc)
		return err
	})
	return id, err
}

// GetProfile runs Tx.GetProfile in a snapshot.
func (s *Store) GetProfile(ctx context.Context, db uint32, loc Locator) (p *Profile, err error) {
	err = s.View(ctx, func(tx *Tx) error {
		p, err = tx.GetProfile(db, loc)
		return err
	})
	return p, err
}

// EachProfile calls fn with every profile of database db in id order,
// in one read snapshot, stopping at fn's first error: ScanProfiles from
// the first profile. A record that does not decode stops it with
// ErrCorrupt.
func (s *Store) EachProfile(ctx context.Context, db uint32, fn func(p *Profile) error) error {
	return s.ScanProfiles(ctx, db, ProfileID{}, fn)
}

// ErrStopScan, returned by a ScanProfiles callback, ends the scan
// early without an error.
var ErrStopScan = errors.New("relgraph: scan stopped")

// ScanProfiles calls fn with the profiles of database db in id order,
// starting after the profile id after (the zero id starts at the
// first), in one
// read snapshot, until fn returns an error: ErrStopScan ends it with
// nil, any other error is returned. It costs one cursor seek, then one
// record decode per profile visited. An unknown database is a 404
// error; a record that does not decode stops it with ErrCorrupt.
func (s *Store) ScanProfiles(ctx context.Context, db uint32, after ProfileID, fn func(p *Profile) error) error {
	err := s.View(ctx, func(tx *Tx) error {
		if _, err := tx.schema.db(db); err != nil {
			return err
		}
		return tx.scanProfilesAfter(db, after, fn)
	})
	if errors.Is(err, ErrStopScan) {
		return nil
	}
	return err
}

// Profile is one profile as returned by reads. Fields hold string,
// int64, float64, bool, time.Time (UTC) or []string (tags, sorted).
type Profile struct {
	ID            ProfileID
	DatabaseID    uint32
	Email         string // "" when the profile has none
	Phones        []string
	Fields        map[string]any
	Subscriptions []Subscription // ordered by resource, channel, address
	Created       time.Time
	Updated       time.Time
}

// record is p as stored.
func (p *Profile) record() *record.Profile {
	r := &record.Profile{
		Email:   p.Email,
		Phones:  p.Phones,
		Created: record.Nanos(p.Created),
		Updated: record.Nanos(p.Updated),
	}
	if len(p.Subscriptions) > 0 {
		r.Subs = make([]record.Subscription, len(p.Subscriptions))
		for i := range p.Subscriptions {
			r.Subs[i] = p.Subscriptions[i].record()
		}
	}
	if len(p.Fields) > 0 {
		r.Fields = make([]record.Field, 0, len(p.Fields))
		for name, v := range p.Fields {
			r.Fields = append(r.Fields, record.Field{Name: name, Value: record.ValueOf(v)})
		}
		r.SortFields()
	}
	return r
}

// encodeProfile returns the stored bytes of p.
func encodeProfile(p *Profile) ([]byte, error) {
	b, err := record.EncodeProfile(p.record())
	if err != nil {
		return nil, storageErr("encode profile", err)
	}
	return b, nil
}

// decodeProfile decodes stored bytes. Bytes that do not decode, or decode
// to values no write produces, give ErrCorrupt naming the profile.
func decodeProfile(db uint32, id ProfileID, b []byte) (*Profile, error) {
	r, err := record.DecodeProfile(b)
	if err != nil {
		return nil, corruptf("profile %s in database %d: %v", id, db, err)
	}
	p := &Profile{
		ID:         id,
		DatabaseID: db,
		Email:      r.Email,
		Phones:     r.Phones,
		Created:    record.UnixNanos(r.Created),
		Updated:    record.UnixNanos(r.Updated),
	}
	if len(r.Subs) > 0 {
		p.Subscriptions = make([]Subscription, len(r.Subs))
		for i := range r.Subs {
			p.Subscriptions[i] = subscriptionOf(&r.Subs[i])
		}
	}
	if len(r.Fields) > 0 {
		p.Fields = make(map[string]any, len(r.Fields))
		for _, f := range r.Fields {
			v, err := f.Value.Go()
			if err != nil {
				return nil, corruptf("profile %s in database %d: field %q: %v", id, db, truncate(f.Name), err)
			}
			p.Fields[f.Name] = v
		}
	}
	if err := p.checkStored(); err != nil {
		return nil, corruptf("profile %s in database %d: %v", id, db, err)
	}
	return p, nil
}

// checkStored verifies what normalization guarantees of every stored
// profile, so corrupt bytes are caught at read time instead of breaking
// index maintenance later.
func (p *Profile) checkStored() error {
	if p.Email != "" {
		if e, err := NormalizeEmail(p.Email); err != nil || e != p.Email {
			return corruptf("stored email %q is not normalized", truncate(p.Email))
		}
	}
	for _, ph := range p.Phones {
		if !isE164(ph) {
			return corruptf("stored phone %q is not normalized", truncate(ph))
		}
	}
	for i := range p.Subscriptions {
		n, err := p.Subscriptions[i].normalizeWith(storedPhone)
		if n = n.stored(); err != nil || !n.equal(&p.Subscriptions[i]) {
			return corruptf("stored subscription %d is not valid", i)
		}
	}
	return nil
}

// storedPhone checks a stored phone by its form (isE164).
func storedPhone(p string) (string, error) {
	if !isE164(p) {
		return "", corruptf("stored phone %q is not in E.164 form", truncate(p))
	}
	return p, nil
}

// clone returns a deep copy, so a caller may change it freely.
func (p *Profile) clone() *Profile {
	c := *p
	c.Phones = slices.Clone(p.Phones)
	c.Subscriptions = slices.Clone(p.Subscriptions)
	for i := range c.Subscriptions {
		c.Subscriptions[i].Fields = maps.Clone(c.Subscriptions[i].Fields)
		c.Subscriptions[i].Categories = slices.Clone(c.Subscriptions[i].Categories)
	}
	c.Fields = maps.Clone(p.Fields)
	for k, v := range c.Fields {
		if tags, ok := v.([]string); ok {
			c.Fields[k] = slices.Clone(tags)
		}
	}
	return &c
}

// indexEntries lists every index fact of profile p in database d: its
// email, each phone, each subscription and each of its custom fields,
// each indexed custom field value and each tag. Fields the schema does
// not declare, or declares unindexed, have no entries. Every key is a
// new slice; the email's value is a copy of the id.
func indexEntries(d *Database, p *Profile) []index.Entry {
	id := [index.IDLen]byte(p.ID)
	es := make([]index.Entry, 0, 2+len(p.Phones)+len(p.Fields))
	add := func(ks kv.Keyspace, key, val []byte) {
		es = append(es, index.Entry{Keyspace: ks, Key: key, Value: val})
	}
	if p.Email != "" {
		add(index.Emails, index.EmailKey(d.ID, p.Email), id[:])
	}
	for _, ph := range p.Phones {
		add(index.Phones, index.PhoneKey(d.ID, ph, id), nil)
	}
	for i := range p.Subscriptions {
		s := &p.Subscriptions[i]
		ch, _ := s.Channel.channelByte()
		add(index.Subs, index.SubKey(d.ID, ch, s.address(), s.ResourceID, id), nil)
		for name, v := range s.Fields {
			add(index.Subs, index.SubKey(d.ID, subFieldChannel, subFieldAddress(name, v), s.ResourceID, id), nil)
		}
	}
	for name, v := range p.Fields {
		f, ok := d.Field(name)
		if !ok || f.Unindexed {
			continue
		}
		if tags, isTags := v.([]string); isTags {
			for _, t := range tags {
				add(index.Tags, index.TagKey(d.ID, name, t, id), nil)
			}
			continue
		}
		add(index.Fields, index.FieldKey(d.ID, name, v, id), nil)
	}
	return es
}

// withProfileID returns the entries of a profile built without its id
// (with the zero id) as they are with id: every index key ends in the
// profile id, but the email index's, whose value the id is. es is not
// modified: a batch that is retried completes its entries again. The
// new keys share one allocation.
func withProfileID(es []index.Entry, id ProfileID) []index.Entry {
	size := 0
	for _, e := range es {
		if e.Keyspace == index.Emails {
			size += index.IDLen
		} else {
			size += len(e.Key)
		}
	}
	buf := make([]byte, 0, size)
	take := func(parts ...[]byte) []byte {
		start := len(buf)
		for _, p := range parts {
			buf = append(buf, p...)
		}
		return buf[start:len(buf):len(buf)]
	}
	out := make([]index.Entry, len(es))
	for i, e := range es {
		if e.Keyspace == index.Emails {
			e.Value = take(id[:])
		} else {
			e.Key = take(e.Key[:len(e.Key)-index.IDLen], id[:])
		}
		out[i] = e
	}
	return out
}
