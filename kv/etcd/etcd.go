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
// Round trips are what an operation costs on etcd, so a writable
// transaction reads its keys from a cache validated by the commit
// (readCache: a cached read is one more compare, and a stale one a
// conflict), from the member the client reaches (serializable reads,
// validated the same way), and many at once when relgraph knows them
// ahead (kv.Prefetcher); relgraph's group commit waits a little for
// more writers while many write (kv.BatchGatherer). Read-only
// transactions read confirmed snapshots and no cache. The engine counts
// its round trips, conflicts and cache hits (kv.Metered).
//
// Limits: one commit is one etcd Txn, bounded by the cluster's
// --max-txn-ops (default 128, counting compares and writes separately)
// and --max-request-bytes (1.5 MiB). A transaction over them fails with
// an error that says so; relgraph operations that touch many keys (a
// cascade delete of a profile with many relations) and large group
// commits need a cluster configured with room (thousands of ops), and
// Options.MaxTxnOps saying so: the engine asks relgraph for group
// commits that fit it (kv.BatchSizer: 16 at etcd's default).
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
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/relgraph/relgraph/kv"
)

// Timeout bounds every etcd request (and the caller's context may end
// it sooner).
const Timeout = 10 * time.Second

// DefaultMaxBatch is the group-commit batch the engine asks for
// (kv.BatchSizer) at etcd's default --max-txn-ops (128).
const DefaultMaxBatch = 16

// DefaultMaxTxnOps is etcd's default --max-txn-ops.
const DefaultMaxTxnOps = 128

// opsPerWrite bounds what one relgraph write adds to a commit's
// compares or its puts, each of which --max-txn-ops limits apart (an
// overwrite by id compares five keys and puts three; the schema
// generation's compare is shared by the batch).
const opsPerWrite = 8

// maxMaxBatch bounds the batch however high the cluster's limit: a
// conflict re-runs the whole batch.
const maxMaxBatch = 256

// DefaultCacheBytes bounds the read cache unless Options say otherwise.
const DefaultCacheBytes = 64 << 20

// Options tune an Engine; the zero value suits a cluster run with
// etcd's defaults.
type Options struct {
	// MaxTxnOps is the cluster's --max-txn-ops (0: etcd's default, 128).
	// etcd does not tell its clients, so it is said here; group commits
	// are sized to fit it (MaxBatch), and one refused as too large is
	// split.
	MaxTxnOps int
	// CacheBytes bounds the read cache of writable transactions (0:
	// DefaultCacheBytes; negative: no cache). See readCache.
	CacheBytes int64
	// BatchLinger is how long a group commit may wait for more writers
	// to join it while many write (kv.BatchGatherer; 0:
	// DefaultBatchLinger; negative: none).
	BatchLinger time.Duration
}

// pageSize is how many keys a cursor fetches at once.
const pageSize = 128

// Engine is a relgraph keyspace set under one prefix of an etcd cluster.
type Engine struct {
	cli       *clientv3.Client
	prefix    string
	keyspaces map[kv.Keyspace]bool
	own       bool
	maxTxnOps int
	maxBatch  int
	linger    time.Duration
	cache     *readCache // nil: off
	count     counters
}

// counters are the engine's own metrics (Metrics).
type counters struct {
	roundTrips, commits, conflicts, cacheHits, cacheMisses atomic.Uint64
}

// Open uses cli for the keyspaces under prefix, with default Options.
// Close does not close a client passed in; see Dial.
func Open(cli *clientv3.Client, prefix string, keyspaces []kv.Keyspace) *Engine {
	return OpenWith(cli, prefix, keyspaces, Options{})
}

// OpenWith is Open with opts.
func OpenWith(cli *clientv3.Client, prefix string, keyspaces []kv.Keyspace, opts Options) *Engine {
	e := &Engine{cli: cli, prefix: prefix, keyspaces: map[kv.Keyspace]bool{}}
	for _, ks := range keyspaces {
		e.keyspaces[ks] = true
	}
	ops := opts.MaxTxnOps
	if ops <= 0 {
		ops = DefaultMaxTxnOps
	}
	e.maxTxnOps = ops
	switch {
	case opts.BatchLinger == 0:
		e.linger = DefaultBatchLinger
	case opts.BatchLinger > 0:
		e.linger = opts.BatchLinger
	}
	e.maxBatch = min(max(DefaultMaxBatch, ops/opsPerWrite), maxMaxBatch)
	switch {
	case opts.CacheBytes == 0:
		e.cache = newReadCache(DefaultCacheBytes)
	case opts.CacheBytes > 0:
		e.cache = newReadCache(opts.CacheBytes)
	}
	return e
}

// Dial connects to the endpoints and opens the keyspaces under prefix,
// with default Options; Close closes the connection.
func Dial(endpoints []string, prefix string, keyspaces []kv.Keyspace) (*Engine, error) {
	return DialWith(endpoints, prefix, keyspaces, Options{})
}

// DialWith is Dial with opts.
func DialWith(endpoints []string, prefix string, keyspaces []kv.Keyspace, opts Options) (*Engine, error) {
	// The client's own log at errors only: it warns of every refused
	// request, and the engine answers some refusals itself (a member
	// behind the snapshot, see txn.get) and returns the others.
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	logger, err := logCfg.Build()
	if err != nil {
		return nil, fmt.Errorf("etcd client log: %w", err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	e := OpenWith(cli, prefix, keyspaces, opts)
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
// (kv.BatchSizer): what fits Options.MaxTxnOps, from DefaultMaxBatch to
// 256.
func (e *Engine) MaxBatch() int { return e.maxBatch }

// DefaultBatchLinger is how long a group commit may wait for more
// writers (kv.BatchGatherer) unless Options say otherwise: a fraction
// of a commit's few milliseconds (measured in BenchmarkOverwrite).
const DefaultBatchLinger = 2 * time.Millisecond

// BatchLinger is how long a group commit may wait for more writers
// (kv.BatchGatherer): Options.BatchLinger.
func (e *Engine) BatchLinger() time.Duration { return e.linger }

// Metrics are the engine's counters (kv.Metered): requests sent to
// etcd (round trips), commits and the conflicts among them, and the
// read cache's hits, misses and size.
func (e *Engine) Metrics() []kv.Metric {
	bytes, entries := e.cache.size()
	return []kv.Metric{
		{Name: "etcd_round_trips_total", Help: "Requests sent to etcd: reads, cursor pages, commits.", Counter: true, Value: float64(e.count.roundTrips.Load())},
		{Name: "etcd_commits_total", Help: "etcd transactions sent to commit writes or validate reads.", Counter: true, Value: float64(e.count.commits.Load())},
		{Name: "etcd_conflicts_total", Help: "Commits refused because a key read had changed (the batch runs again).", Counter: true, Value: float64(e.count.conflicts.Load())},
		{Name: "etcd_cache_hits_total", Help: "Reads of writable transactions answered by the read cache.", Counter: true, Value: float64(e.count.cacheHits.Load())},
		{Name: "etcd_cache_misses_total", Help: "Reads of writable transactions sent to etcd.", Counter: true, Value: float64(e.count.cacheMisses.Load())},
		{Name: "etcd_cache_bytes", Help: "Bytes the read cache holds.", Value: float64(bytes)},
		{Name: "etcd_cache_entries", Help: "Keys the read cache holds.", Value: float64(entries)},
	}
}

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
	return &txn{e: e, ctx: ctx, writable: writable, writes: map[string][]byte{}, deletes: map[string]bool{},
		reads: map[string]int64{}, values: map[string][]byte{}}, nil
}

type txn struct {
	e        *Engine
	ctx      context.Context
	writable bool
	closed   bool
	rev      int64 // the snapshot; 0 until the first read
	writes   map[string][]byte
	deletes  map[string]bool
	reads    map[string]int64  // key → mod revision seen (0: absent)
	values   map[string][]byte // key → value read by Get (nil: absent)
	ranges   [][2]string       // scanned [from, to)
	// cachedReads counts the reads the cache answered, localReads those
	// a member answered without asking the leader (a writable
	// transaction's, etcd's serializable reads): with any, what the
	// transaction saw may be behind, or mix revisions, until its
	// compares hold.
	cachedReads, localReads int
	// stale: a key was seen at two revisions (the cache's and a
	// cursor's); the transaction cannot commit.
	stale bool
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

// read sends one read request at the snapshot, fixing the snapshot
// from the answer on first use. A writable transaction reads from the
// member it reaches (etcd's serializable reads; its commit or Validate
// checks them), and again from the leader when that member is behind
// the snapshot. send makes the request with the options every read
// takes and returns the answer's header.
func (t *txn) read(send func(c context.Context, opts ...clientv3.OpOption) (*etcdserverpb.ResponseHeader, error)) error {
	local := t.writable
	for {
		var opts []clientv3.OpOption
		if t.rev != 0 {
			opts = append(opts, clientv3.WithRev(t.rev))
		}
		if local {
			opts = append(opts, clientv3.WithSerializable())
		}
		c, cancel := t.requestCtx()
		t.e.count.roundTrips.Add(1)
		header, err := send(c, opts...)
		cancel()
		if local && errors.Is(err, rpctypes.ErrFutureRev) {
			local = false // this member is behind the snapshot: ask the leader
			continue
		}
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return kv.ErrConflict // the snapshot is gone: run again
			}
			return fmt.Errorf("etcd get: %w", err)
		}
		if t.rev == 0 {
			t.rev = header.Revision
		}
		if local {
			t.localReads++
		}
		return nil
	}
}

// get reads key (a range, with opts) at the snapshot.
func (t *txn) get(key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	var resp *clientv3.GetResponse
	err := t.read(func(c context.Context, snapshot ...clientv3.OpOption) (*etcdserverpb.ResponseHeader, error) {
		var err error
		if resp, err = t.e.cli.Get(c, key, append(slices.Clip(opts), snapshot...)...); err != nil {
			return nil, err
		}
		return resp.Header, nil
	})
	return resp, err
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
	if v, ok := t.values[k]; ok {
		return v, nil
	}
	if v, ok := t.fromCache(k); ok {
		return v, nil
	}
	resp, err := t.get(k)
	if err != nil {
		return nil, err
	}
	return t.keep(k, resp.Kvs), nil
}

// fromCache answers a read of key k from the cache, for a writable
// transaction, and counts the hit or miss.
func (t *txn) fromCache(k string) ([]byte, bool) {
	if !t.writable || t.e.cache == nil {
		return nil, false
	}
	if _, scanned := t.reads[k]; scanned {
		// A key a cursor already read is read again at the snapshot,
		// so the transaction sees it at one revision.
		return nil, false
	}
	c, ok := t.e.cache.get(k)
	if !ok {
		t.e.count.cacheMisses.Add(1)
		return nil, false
	}
	t.e.count.cacheHits.Add(1)
	t.cachedReads++
	t.reads[k], t.values[k] = c.rev, c.val
	return c.val, true
}

// keep records what etcd answered for key k at the snapshot (kvs: none
// or the key) as read, and caches it; it returns the value (nil:
// absent).
func (t *txn) keep(k string, kvs []*mvccpb.KeyValue) []byte {
	v, rev := valueOf(kvs)
	t.reads[k], t.values[k] = rev, v
	t.e.cache.put(k, v, rev, t.rev)
	return v
}

// valueOf is the value and mod revision of a one-key answer (kvs: none
// or the key): nil and 0 when absent, never nil when present.
func valueOf(kvs []*mvccpb.KeyValue) ([]byte, int64) {
	if len(kvs) == 0 {
		return nil, 0
	}
	if kvs[0].Value == nil {
		return []byte{}, kvs[0].ModRevision
	}
	return kvs[0].Value, kvs[0].ModRevision
}

// Prefetch reads the keys the transaction has not read, and the cache
// does not hold, in one etcd request per --max-txn-ops of them
// (kv.Prefetcher), at the snapshot.
func (t *txn) Prefetch(keys []kv.Key) error {
	if t.closed {
		return kv.ErrTxClosed
	}
	var todo []string
	seen := make(map[string]bool, len(keys))
	for _, key := range keys {
		if err := t.check(key.Keyspace); err != nil {
			return err
		}
		k := t.e.key(key.Keyspace, key.Key)
		if _, ok := t.writes[k]; ok || t.deletes[k] {
			continue
		}
		if _, ok := t.values[k]; ok || seen[k] {
			continue
		}
		if _, ok := t.fromCache(k); ok {
			continue
		}
		seen[k] = true
		todo = append(todo, k)
	}
	for len(todo) > 0 {
		n := min(len(todo), t.e.maxTxnOps)
		if err := t.fetch(todo[:n]); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// fetch reads keys in one etcd transaction of gets (local ones for a
// writable transaction, as get).
func (t *txn) fetch(keys []string) error {
	var resp *clientv3.TxnResponse
	err := t.read(func(c context.Context, snapshot ...clientv3.OpOption) (*etcdserverpb.ResponseHeader, error) {
		ops := make([]clientv3.Op, len(keys))
		for i, k := range keys {
			ops[i] = clientv3.OpGet(k, snapshot...)
		}
		var err error
		if resp, err = t.e.cli.Txn(c).Then(ops...).Commit(); err != nil {
			return nil, err
		}
		return resp.Header, nil
	})
	if err != nil {
		return err
	}
	if len(resp.Responses) != len(keys) {
		return fmt.Errorf("etcd get: %d answers to %d reads", len(resp.Responses), len(keys))
	}
	for i, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil {
			return fmt.Errorf("etcd get: answer %d is not a read", i)
		}
		t.keep(keys[i], rr.Kvs)
	}
	return nil
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
// it was read; otherwise kv.ErrConflict and nothing is applied. A
// transaction without writes sends nothing, unless the cache answered
// some of its reads: then its reads are validated (see Validate).
func (t *txn) Commit() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	if len(t.writes) == 0 && len(t.deletes) == 0 {
		err := t.Validate()
		t.closed = true
		return err
	}
	t.closed = true
	return t.send(true)
}

// Validate reports kv.ErrConflict if the transaction's reads may not
// all have been current together: when the cache or a member that may
// be behind answered some of them and one has changed since (checked by
// a compare-only etcd transaction, which the leader answers), or a key
// was seen at two revisions. A transaction that read nothing but
// confirmed snapshots sends nothing. It is the
// check a writable transaction's failure needs before it is reported:
// a failure caused by a stale entry is a conflict, to run again.
func (t *txn) Validate() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	if !t.stale && t.cachedReads == 0 && t.localReads == 0 {
		return nil
	}
	return t.send(false) // which refuses a stale transaction first
}

// send commits the writes (with write) or only checks the reads under
// one etcd transaction of compares.
func (t *txn) send(write bool) error {
	if t.stale {
		t.conflicted()
		return kv.ErrConflict
	}
	cmps := make([]clientv3.Cmp, 0, len(t.reads)+len(t.ranges))
	// On a failed compare, etcd answers the Else branch: the keys read,
	// as they are now, so the cache is mended in the same round trip
	// and the batch run again reads no key anew (within the cluster's
	// --max-txn-ops; past it the keys read are forgotten instead).
	var refresh []string
	var elseOps []clientv3.Op
	if t.e.cache != nil && len(t.reads) <= t.e.maxTxnOps {
		refresh = make([]string, 0, len(t.reads))
		elseOps = make([]clientv3.Op, 0, len(t.reads))
	}
	for k, rev := range t.reads {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
		if refresh != nil {
			refresh = append(refresh, k)
			elseOps = append(elseOps, clientv3.OpGet(k))
		}
	}
	for _, r := range t.ranges {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r[0]).WithRange(r[1]), "<", t.rev+1))
	}
	if !write && len(cmps) > t.e.maxTxnOps {
		return t.validateInParts(cmps)
	}
	var ops []clientv3.Op
	if write {
		ops = make([]clientv3.Op, 0, len(t.writes)+len(t.deletes))
		for k, v := range t.writes {
			ops = append(ops, clientv3.OpPut(k, string(v)))
		}
		for k := range t.deletes {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	c, cancel := t.requestCtx()
	defer cancel()
	t.e.count.roundTrips.Add(1)
	t.e.count.commits.Add(1)
	resp, err := t.e.cli.Txn(c).If(cmps...).Then(ops...).Else(elseOps...).Commit()
	if err != nil {
		if write {
			t.forgetWrites() // whether they applied is unknown
		}
		if errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrRequestTooLarge) {
			return fmt.Errorf("%w: etcd commit of %d writes and %d compares (raise the cluster's --max-txn-ops / --max-request-bytes): %v", kv.ErrTooLarge, len(ops), len(cmps), err)
		}
		return fmt.Errorf("etcd commit: %w", err)
	}
	if !resp.Succeeded {
		if refresh == nil || !t.mend(refresh, resp) {
			t.conflicted()
		} else {
			t.e.count.conflicts.Add(1)
		}
		return kv.ErrConflict
	}
	if write {
		t.remember(resp.Header.Revision)
	}
	return nil
}

// validateInParts checks compares too many for one etcd transaction in
// several, one after another. That is as good as one: a key whose mod
// revision is unchanged when its part is checked was not written since
// it was read, so every key read still held what was read when the
// first part was checked, one moment at which all the reads held
// together.
func (t *txn) validateInParts(cmps []clientv3.Cmp) error {
	for len(cmps) > 0 {
		n := min(len(cmps), t.e.maxTxnOps)
		c, cancel := t.requestCtx()
		t.e.count.roundTrips.Add(1)
		t.e.count.commits.Add(1)
		resp, err := t.e.cli.Txn(c).If(cmps[:n]...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("etcd validate: %w", err)
		}
		if !resp.Succeeded {
			t.conflicted()
			return kv.ErrConflict
		}
		cmps = cmps[n:]
	}
	return nil
}

// conflicted counts a conflict and forgets every key the transaction
// read: one of them changed, and the cache does not know which.
func (t *txn) conflicted() {
	t.e.count.conflicts.Add(1)
	for k := range t.reads {
		t.e.cache.drop(k)
	}
}

// mend puts into the cache the keys a failed commit read, as its Else
// branch found them (current at the answer's revision); false if the
// answer is not that.
func (t *txn) mend(keys []string, resp *clientv3.TxnResponse) bool {
	if len(resp.Responses) != len(keys) {
		return false
	}
	for i, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil {
			return false
		}
		v, rev := valueOf(rr.Kvs)
		t.e.cache.put(keys[i], v, rev, resp.Header.Revision)
	}
	return true
}

// remember keeps in the cache what a committed transaction wrote at
// rev: the keys it also read (a relation, a counter, the feed's state:
// what the next write will read again); the others are forgotten, so no
// entry outlives the commit that changed its key.
func (t *txn) remember(rev int64) {
	for k, v := range t.writes {
		if _, read := t.reads[k]; read {
			t.e.cache.put(k, v, rev, rev)
		} else {
			t.e.cache.drop(k)
		}
	}
	for k := range t.deletes {
		if _, read := t.reads[k]; read {
			t.e.cache.put(k, nil, 0, rev)
		} else {
			t.e.cache.drop(k)
		}
	}
}

// forgetWrites drops the cache's entries for every key written: after
// a commit whose outcome is unknown.
func (t *txn) forgetWrites() {
	for k := range t.writes {
		t.e.cache.drop(k)
	}
	for k := range t.deletes {
		t.e.cache.drop(k)
	}
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
		if seen, ok := c.t.reads[k]; ok && seen != kvp.ModRevision {
			c.t.stale = true // the cache's entry was stale: run again
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
