package relgraph

import (
	"maps"
	"slices"
	"time"

	"github.com/relgraph/relgraph/internal/record"
)

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
