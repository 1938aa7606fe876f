package relgraph

import (
	"errors"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// On an engine whose every read is a round trip (etcd), a batch of
// relation writes would read its keys one after another: two profiles,
// the relation and A's counter per write. What a write will read is
// known before it runs when its profiles are given by id, so the
// committer asks the engine for all of them at once (kv.Prefetcher): one
// round trip for the batch, or none when the engine's cache holds them.
// Writes by email, phone or field still read their index entries one by
// one; their profiles follow from those.

// prefetch reads ahead the keys the batch's relation writes will read,
// when the engine can (kv.Prefetcher; local engines cannot and need
// not).
func (s *Store) prefetch(txn kv.Txn, sc *schema, live []*writeRequest) error {
	p, ok := txn.(kv.Prefetcher)
	if !ok {
		return nil
	}
	var keys []kv.Key
	for _, r := range live {
		if r.call != nil {
			keys = r.call.readsAhead(sc, keys)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if sc.feed.On {
		keys = append(keys, kv.Key{Keyspace: index.Meta, Key: index.FeedStateKey})
	}
	if err := p.Prefetch(keys); err != nil {
		if errors.Is(err, kv.ErrConflict) {
			return err
		}
		return storageErr("read ahead", err)
	}
	return nil
}

// readsAhead appends to keys what the relation write will read that its
// request names: the profiles given by id, A's counter, and the
// relation when both sides are given by id.
func (c *relationCall) readsAhead(sc *schema, keys []kv.Key) []kv.Key {
	rt, err := sc.rel(c.req.RelationType)
	if err != nil {
		return keys
	}
	a, okA := locatedByID(c.req.A)
	b, okB := locatedByID(c.req.B)
	if okA {
		keys = append(keys, kv.Key{Keyspace: index.Profiles, Key: index.ProfileKey(rt.DatabaseA, a)},
			kv.Key{Keyspace: index.Adjacency, Key: index.CounterKey(rt.ID, a)})
	}
	if okB {
		keys = append(keys, kv.Key{Keyspace: index.Profiles, Key: index.ProfileKey(rt.DatabaseB, b)})
	}
	if okA && okB {
		keys = append(keys, kv.Key{Keyspace: index.Adjacency, Key: index.EdgeKey(rt.ID, a, b)})
	}
	return keys
}

// locatedByID is the profile id a locator gives, if it finds by id.
func locatedByID(l Locator) (ProfileID, bool) {
	if mode, err := l.mode(); err != nil || mode != ModeProfileID {
		return ProfileID{}, false
	}
	id, err := ParseProfileID(l.ProfileID)
	return id, err == nil
}
