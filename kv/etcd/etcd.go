// Package etcd runs relgraph's kv seam on an etcd cluster, for stores
// that need high availability. It is its own Go module, so embedded
// users of relgraph never pull gRPC.
//
// Keyspaces are key prefixes: prefix ‖ keyspace ‖ 0x00 ‖ key. A
// transaction reads at one revision (a snapshot), buffers its writes,
// and commits with one etcd Txn whose compares check that nothing it
// read changed: each key read must still have the mod revision it had,
// and each key range scanned must hold no key modified after the
// snapshot. A failed compare is kv.ErrConflict, which relgraph's
// committer answers by running the batch again: transactions are
// serializable, as on bbolt.
//
// Limits: one commit is one etcd Txn, bounded by the cluster's
// --max-txn-ops (default 128, counting compares and writes separately)
// and --max-request-bytes (1.5 MiB). A transaction over them fails with
// an error that says so; relgraph operations that touch many keys (a
// cascade delete of a profile with many relations) and large group
// commits need a cluster configured with room (thousands of ops). The
// engine asks relgraph for small group commits (kv.BatchSizer: 16).
//
// Importing the package registers the etcd:// scheme with kv.Register,
// so relgraph.Open("etcd://host:2379[,host:2379…]/prefix", nil) opens a
// store on the cluster (see OpenURL). The package does not import
// relgraph itself.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/relgraph/relgraph/kv"
)

// Timeout bounds every etcd request (and the caller's context may end
// it sooner).
const Timeout = 10 * time.Second

// DefaultMaxBatch is the group-commit batch the engine asks for
// (kv.BatchSizer): small, to keep commits within etcd's limits.
const DefaultMaxBatch = 16

// pageSize is how many keys a cursor fetches at once.
const pageSize = 128

// Engine is a relgraph keyspace set under one prefix of an etcd cluster.
type Engine struct {
	cli       *clientv3.Client
	prefix    string
	keyspaces map[kv.Keyspace]bool
	own       bool
}

// Open uses cli for the keyspaces under prefix. Close does not close a
// client passed in; see Dial.
func Open(cli *clientv3.Client, prefix string, keyspaces []kv.Keyspace) *Engine {
	e := &Engine{cli: cli, prefix: prefix, keyspaces: map[kv.Keyspace]bool{}}
	for _, ks := range keyspaces {
		e.keyspaces[ks] = true
	}
	return e
}

// Dial connects to the endpoints and opens the keyspaces under prefix;
// Close closes the connection.
func Dial(endpoints []string, prefix string, keyspaces []kv.Keyspace) (*Engine, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	e := Open(cli, prefix, keyspaces)
	e.own = true
	return e, nil
}

// Close closes the client if Dial opened it.
func (e *Engine) Close() error {
	if e.own {
		return e.cli.Close()
	}
	return nil
}

func (e *Engine) key(ks kv.Keyspace, key []byte) string {
	return e.prefix + string(ks) + "\x00" + string(key)
}

// bounds is the key range [lo, hi) of a keyspace.
func (e *Engine) bounds(ks kv.Keyspace) (string, string) {
	return e.prefix + string(ks) + "\x00", e.prefix + string(ks) + "\x01"
}

// MaxBatch is the group-commit batch the engine asks for
// (kv.BatchSizer).
func (e *Engine) MaxBatch() int { return DefaultMaxBatch }

// SharedWriters reports true (kv.Shared): other processes may write the
// same prefix.
func (e *Engine) SharedWriters() bool { return true }

// Begin starts a transaction. Nothing is sent until the first read;
// ctx bounds every request the transaction sends (its reads and its
// commit), each also bounded by Timeout.
func (e *Engine) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &txn{e: e, ctx: ctx, writable: writable, writes: map[string][]byte{}, deletes: map[string]bool{}, reads: map[string]int64{}}, nil
}

type txn struct {
	e        *Engine
	ctx      context.Context
	writable bool
	closed   bool
	rev      int64 // the snapshot; 0 until the first read
	writes   map[string][]byte
	deletes  map[string]bool
	reads    map[string]int64 // key → mod revision seen (0: absent)
	ranges   [][2]string      // scanned [from, to)
}

// requestCtx bounds one request: the transaction's context, and Timeout.
func (t *txn) requestCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.ctx, Timeout)
}

func (t *txn) check(ks kv.Keyspace) error {
	if t.closed {
		return kv.ErrTxClosed
	}
	if !t.e.keyspaces[ks] {
		return fmt.Errorf("kv: unknown keyspace %q", ks)
	}
	return nil
}

// get reads from etcd at the snapshot revision, fixing it on first use.
func (t *txn) get(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if t.rev != 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	c, cancel := t.requestCtx()
	defer cancel()
	resp, err := t.e.cli.Get(c, key, opts...)
	if err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil, kv.ErrConflict // the snapshot is gone: run again
		}
		return nil, fmt.Errorf("etcd get: %w", err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp, nil
}

func (t *txn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	if err := t.check(ks); err != nil {
		return nil, err
	}
	k := t.e.key(ks, key)
	if v, ok := t.writes[k]; ok {
		return v, nil
	}
	if t.deletes[k] {
		return nil, nil
	}
	resp, err := t.get(k)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		t.reads[k] = 0
		return nil, nil
	}
	t.reads[k] = resp.Kvs[0].ModRevision
	v := resp.Kvs[0].Value
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (t *txn) Put(ks kv.Keyspace, key, value []byte) error {
	if err := t.check(ks); err != nil {
		return err
	}
	if !t.writable {
		return kv.ErrReadOnly
	}
	k := t.e.key(ks, key)
	t.writes[k] = append([]byte{}, value...)
	delete(t.deletes, k)
	return nil
}

func (t *txn) Delete(ks kv.Keyspace, key []byte) error {
	if err := t.check(ks); err != nil {
		return err
	}
	if !t.writable {
		return kv.ErrReadOnly
	}
	k := t.e.key(ks, key)
	delete(t.writes, k)
	t.deletes[k] = true
	return nil
}

func (t *txn) Writable() bool { return t.writable }

func (t *txn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	if err := t.check(ks); err != nil {
		return nil, err
	}
	lo, hi := t.e.bounds(ks)
	return &cursor{t: t, lo: lo, hi: hi}, nil
}

func (t *txn) Rollback() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	t.closed = true
	return nil
}

// Commit applies the buffered writes if nothing read has changed since
// the snapshot; otherwise kv.ErrConflict and nothing is applied.
func (t *txn) Commit() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	t.closed = true
	if len(t.writes) == 0 && len(t.deletes) == 0 {
		return nil
	}
	var cmps []clientv3.Cmp
	for k, rev := range t.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
	}
	for _, r := range t.ranges {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r[0]).WithRange(r[1]), "<", t.rev+1))
	}
	ops := make([]clientv3.Op, 0, len(t.writes)+len(t.deletes))
	for k, v := range t.writes {
		ops = append(ops, clientv3.OpPut(k, string(v)))
	}
	for k := range t.deletes {
		ops = append(ops, clientv3.OpDelete(k))
	}
	c, cancel := t.requestCtx()
	defer cancel()
	resp, err := t.e.cli.Txn(c).If(cmps...).Then(ops...).Commit()
	if err != nil {
		if errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrRequestTooLarge) {
			return fmt.Errorf("%w: etcd commit of %d writes and %d compares (raise the cluster's --max-txn-ops / --max-request-bytes): %v", kv.ErrTooLarge, len(ops), len(cmps), err)
		}
		return fmt.Errorf("etcd commit: %w", err)
	}
	if !resp.Succeeded {
		return kv.ErrConflict
	}
	return nil
}

// cursor walks one keyspace: etcd's keys at the snapshot, merged with
// the transaction's own writes. Forward steps are served from a page of
// keys fetched at once; every page fetched joins the read set.
type cursor struct {
	t      *txn
	lo, hi string
	cur    string // the current key (full), "" when off the end
	page   []entry
	pageLo string // the page covers [pageLo, pageHi) exactly
	pageHi string
	err    error
}

type entry struct {
	key string
	val []byte
}

func (c *cursor) out(e *entry) ([]byte, []byte) {
	if e == nil {
		c.cur = ""
		return nil, nil
	}
	c.cur = e.key
	v := e.val
	if v == nil {
		v = []byte{}
	}
	return []byte(strings.TrimPrefix(e.key, c.lo)), v
}

// fill loads the visible keys of [from, end-of-page) into the page.
func (c *cursor) fill(from string) error {
	resp, err := c.t.get(from, clientv3.WithRange(c.hi), clientv3.WithLimit(pageSize), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return err
	}
	hi := c.hi
	if resp.More && len(resp.Kvs) > 0 {
		hi = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	var page []entry
	for _, kvp := range resp.Kvs {
		k := string(kvp.Key)
		if string(kvp.Key) >= hi {
			break
		}
		c.t.reads[k] = kvp.ModRevision
		if c.t.deletes[k] {
			continue
		}
		if _, mine := c.t.writes[k]; mine {
			continue // merged below
		}
		page = append(page, entry{k, kvp.Value})
	}
	for k, v := range c.t.writes {
		if k >= from && k < hi {
			page = append(page, entry{k, v})
		}
	}
	sort.Slice(page, func(i, j int) bool { return page[i].key < page[j].key })
	c.t.ranges = append(c.t.ranges, [2]string{from, hi})
	c.page, c.pageLo, c.pageHi = page, from, hi
	return nil
}

// seek lands on the first visible key >= from. After the transaction
// ended it ends the walk with kv.ErrTxClosed.
func (c *cursor) seek(from string) ([]byte, []byte) {
	if c.t.closed {
		return c.fail(kv.ErrTxClosed)
	}
	for from < c.hi {
		if !(from >= c.pageLo && from < c.pageHi && c.page != nil) {
			if err := c.fill(from); err != nil {
				c.page = nil
				return c.fail(err)
			}
		}
		i, _ := slices.BinarySearchFunc(c.page, from, func(e entry, k string) int { return strings.Compare(e.key, k) })
		if i < len(c.page) {
			return c.out(&c.page[i])
		}
		from = c.pageHi
		c.page = nil
	}
	return c.out(nil)
}

// fail ends the walk with err, which Err reports.
func (c *cursor) fail(err error) ([]byte, []byte) {
	c.err = err
	return c.out(nil)
}

// Err is the error that ended the walk, if etcd failed.
func (c *cursor) Err() error { return c.err }

func (c *cursor) First() ([]byte, []byte) { return c.seek(c.lo) }

func (c *cursor) Seek(k []byte) ([]byte, []byte) { return c.seek(c.lo + string(k)) }

func (c *cursor) Next() ([]byte, []byte) {
	if c.t.closed {
		return c.fail(kv.ErrTxClosed)
	}
	if c.cur == "" {
		return nil, nil
	}
	return c.seek(c.cur + "\x00")
}
