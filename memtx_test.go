package relgraph

import (
	"slices"

	"github.com/relgraph/relgraph/kv"
)

// memTx is a read-only kv.Tx over one map, for decoder fuzzing: every
// keyspace holds the same keys.
type memTx struct {
	data map[string][]byte
}

func (m *memTx) Get(_ kv.Keyspace, key []byte) ([]byte, error) { return m.data[string(key)], nil }
func (m *memTx) Put(kv.Keyspace, []byte, []byte) error         { return kv.ErrReadOnly }
func (m *memTx) Delete(kv.Keyspace, []byte) error              { return kv.ErrReadOnly }
func (m *memTx) Writable() bool                                { return false }
func (m *memTx) Cursor(kv.Keyspace) (kv.Cursor, error) {
	keys := make([]string, 0, len(m.data))
	for k := range m.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return &memCursor{m: m, keys: keys, i: -1}, nil
}

type memCursor struct {
	m    *memTx
	keys []string
	i    int
}

func (c *memCursor) at() ([]byte, []byte) {
	if c.i < 0 || c.i >= len(c.keys) {
		return nil, nil
	}
	return []byte(c.keys[c.i]), c.m.data[c.keys[c.i]]
}
func (c *memCursor) Err() error              { return nil }
func (c *memCursor) First() ([]byte, []byte) { c.i = 0; return c.at() }
func (c *memCursor) Last() ([]byte, []byte)  { c.i = len(c.keys) - 1; return c.at() }
func (c *memCursor) Next() ([]byte, []byte)  { c.i++; return c.at() }
func (c *memCursor) Prev() ([]byte, []byte)  { c.i--; return c.at() }
func (c *memCursor) Seek(k []byte) ([]byte, []byte) {
	c.i, _ = slices.BinarySearch(c.keys, string(k))
	return c.at()
}
