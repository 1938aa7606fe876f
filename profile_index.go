package relgraph

import (
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// indexEntries lists every index fact of profile p in database d: its
// email, each phone, each subscription and each of its custom fields,
// each indexed custom field value and each tag. Fields the schema does not declare, or declares
// unindexed, have no entries.
func indexEntries(d *Database, p *Profile) []index.Entry {
	id := [index.IDLen]byte(p.ID)
	var es []index.Entry
	add := func(ks kv.Keyspace, key, val []byte) {
		es = append(es, index.Entry{Keyspace: ks, Key: string(key), Value: string(val)})
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
