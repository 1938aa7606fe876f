package relgraph

import (
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

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
