package etcd

import (
	"container/list"
	"sync"
)

// readCache keeps keys read from etcd with the mod revision they had, so
// a writable transaction can read a key without a round trip. A cached
// value may be stale (another process changed the key); it is never
// trusted: the transaction that used it puts the revision in its
// commit's compares like any read, so a stale entry fails the commit
// (kv.ErrConflict) instead of answering it, and the failed commit's
// answer (its Else branch: the keys it read, as they are now) replaces
// the entries before the transaction runs again. Read-only
// transactions, whose answers no commit validates, do not read it.
//
// Bounded by bytes (keys and values), least recently used out first.
type readCache struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	order *list.List // front: most recently used; of *cached
	byKey map[string]*list.Element
}

// cached is one key as etcd held it.
type cached struct {
	key string
	val []byte // nil: absent
	rev int64  // mod revision; 0: absent
	// at is a revision at which val was current: entries only ever move
	// to a later one, so a slow reader cannot put back what a commit
	// replaced.
	at int64
}

// cacheOverhead approximates an entry's bookkeeping bytes (list element,
// map slot, struct).
const cacheOverhead = 128

func newReadCache(max int64) *readCache {
	return &readCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *cached) size() int64 { return int64(len(c.key)+len(c.val)) + cacheOverhead }

// get returns the entry for key, if kept. Its value must not be changed.
func (c *readCache) get(key string) (cached, bool) {
	if c == nil {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return cached{}, false
	}
	c.order.MoveToFront(el)
	return *el.Value.(*cached), true
}

// put keeps what key held at revision at, unless a later state is kept.
// val is kept as given: the caller must not change it afterwards.
func (c *readCache) put(key string, val []byte, rev, at int64) {
	if c == nil {
		return
	}
	e := &cached{key: key, val: val, rev: rev, at: at}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.size() > c.max/16 {
		// One value must not push out a sixteenth of the cache; what
		// was kept of the key is older than it, and goes.
		if el, ok := c.byKey[key]; ok && el.Value.(*cached).at <= at {
			c.remove(el)
		}
		return
	}
	if el, ok := c.byKey[key]; ok {
		old := el.Value.(*cached)
		if old.at > at {
			return
		}
		c.bytes += e.size() - old.size()
		el.Value = e
		c.order.MoveToFront(el)
	} else {
		c.byKey[key] = c.order.PushFront(e)
		c.bytes += e.size()
	}
	for c.bytes > c.max {
		c.remove(c.order.Back())
	}
}

// remove forgets an entry; c.mu is held.
func (c *readCache) remove(el *list.Element) {
	e := el.Value.(*cached)
	c.order.Remove(el)
	delete(c.byKey, e.key)
	c.bytes -= e.size()
}

// drop forgets key.
func (c *readCache) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
}

// size is the bytes and entries kept.
func (c *readCache) size() (int64, int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, len(c.byKey)
}
