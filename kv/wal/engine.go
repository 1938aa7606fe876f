package wal

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

func init() {
	kv.Register("file", func(location string, keyspaces []kv.Keyspace, opts kv.Options) (kv.Engine, error) {
		path := location
		if len(path) > len("file://") && path[:len("file://")] == "file://" {
			path = path[len("file://"):]
		}
		return Open(path, keyspaces, opts, Config{CheckpointBytes: int64(opts.CheckpointBytes)})
	})
}

// Config tunes the log. The zero value is the default.
type Config struct {
	// RegionSize is the size of each of the log's two regions, in bytes
	// (a multiple of 4096): the most the log holds before a checkpoint
	// must have freed the other region. Default 64 MiB.
	RegionSize int64
	// CheckpointBytes is the overlay size that starts a checkpoint;
	// writers wait past four times it. Default 16 MiB.
	CheckpointBytes int64
	// CheckpointInterval is the longest a write waits in the log before
	// a checkpoint takes it to the store file. Default 1s.
	CheckpointInterval time.Duration
	// BulkKeys is how many keys make a transaction bulk: it bypasses the
	// log (see bulk.go). Default 4096.
	BulkKeys int
	// OpenLog opens (creating) the log file, and RemoveLog removes it
	// once a clean close has checkpointed it. Default: the operating
	// system's file, synced with fdatasync. Tests pass a file that
	// simulates power cuts.
	OpenLog   func(path string) (File, error)
	RemoveLog func(path string) error
}

func (c Config) withDefaults() Config {
	if c.RegionSize <= 0 {
		c.RegionSize = 64 << 20
	}
	c.RegionSize = (c.RegionSize + pageSize - 1) / pageSize * pageSize
	if c.CheckpointBytes <= 0 {
		c.CheckpointBytes = 16 << 20
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Second
	}
	if c.BulkKeys <= 0 {
		c.BulkKeys = 4096
	}
	if c.OpenLog == nil {
		c.OpenLog = openOSFile
	}
	if c.RemoveLog == nil {
		c.RemoveLog = os.Remove
	}
	return c
}

// walKeyspace is the store file's keyspace of the log's own state: the
// store's id (which its log must carry) and the last record applied.
const walKeyspace kv.Keyspace = "_wal"

var (
	idKey      = []byte("id")
	appliedKey = []byte("applied")
)

// Engine is a bbolt store file with a log in front.
type Engine struct {
	store    *bolt.Engine
	logPath  string
	cfg      Config
	readOnly bool
	noSync   bool

	// wmu is held by the write transaction, from Begin to its end, and
	// by the pruning after a checkpoint: one writer at a time.
	wmu     sync.Mutex
	cur     *overlay // every logged write not yet in the store file
	log     *logFile // nil for a read-only store without a log
	nextSeq uint64

	// syncMu is held by the one sync of the log at a time, and by the
	// publication of what it made durable.
	syncMu sync.Mutex

	// ckptMu is held while the store file is written: by a checkpoint,
	// from its choice of version to its commit, and by a bulk commit.
	ckptMu sync.Mutex

	// readMu pairs a reader's overlay with its bbolt snapshot: pruning
	// the overlay (after a checkpoint) takes it exclusively. The
	// versions readers read are never copied or changed.
	readMu     sync.RWMutex
	durable    *overlay // the version readers read: every synced record
	durableSeq uint64   // the last record it holds

	// mu guards the fields below; cond signals their changes.
	mu       sync.Mutex
	cond     *sync.Cond
	pending  []pendingVersion // written records not yet synced, oldest first
	applied  uint64           // the last record the store file holds
	logged   uint64           // the last record written to the log
	synced   uint64           // the last record synced
	memBytes int64            // the overlay's size, roughly
	bulk     uint64           // bulk commits since Open
	ckpts    *kv.Histogram    // seconds each checkpoint took
	ckptErr  error            // the last checkpoint's failure, nil once one succeeds
	broken   error            // a failed sync: no write can be trusted after it
	closing  bool

	kick     chan struct{}   // asks the checkpointer for a checkpoint
	done     chan struct{}   // closed when the checkpointer ends
	ckpt     chan chan error // asks for a checkpoint and waits for it
	stopOnce sync.Once       // stops the checkpointer
}

// Open opens the store file at path with its log at path-wal, replaying
// the log's records after the last one the store file holds. See bolt.Open
// for opts; a read-only open replays into memory and writes nothing.
func Open(path string, keyspaces []kv.Keyspace, opts kv.Options, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	store, err := bolt.Open(path, append(append([]kv.Keyspace{}, keyspaces...), walKeyspace), opts)
	if err != nil {
		return nil, err
	}
	e := &Engine{store: store, ckpts: kv.NewHistogram(kv.LatencyBounds()...), logPath: path + "-wal", cfg: cfg, readOnly: opts.ReadOnly, noSync: opts.NoSync,
		cur: newOverlay(), kick: make(chan struct{}, 1), done: make(chan struct{}), ckpt: make(chan chan error)}
	e.cond = sync.NewCond(&e.mu)
	if err := e.recover(); err != nil {
		store.Close()
		return nil, fmt.Errorf("open %s: %w", e.logPath, err)
	}
	e.durable, e.durableSeq = e.cur.copy(), e.logged
	if e.readOnly {
		close(e.done)
	} else {
		go e.checkpointer()
	}
	return e, nil
}

// recover reads the store's id and last applied record, opens the log
// and replays its records into the overlay.
func (e *Engine) recover() error {
	var id [16]byte
	haveID := false
	r, err := e.store.Begin(context.Background(), false)
	if err != nil {
		return err
	}
	v, err := r.Get(walKeyspace, idKey)
	if err == nil && len(v) == 16 {
		copy(id[:], v)
		haveID = true
	}
	if a, aerr := r.Get(walKeyspace, appliedKey); err == nil && aerr == nil && len(a) == 8 {
		e.applied = binary.BigEndian.Uint64(a)
	} else if err == nil {
		err = aerr
	}
	r.Rollback()
	if err != nil {
		return err
	}
	if !haveID {
		// A store file without log state is new (or from before the log):
		// a log beside it is another store's, or this one's whose store
		// file was moved away. It may hold acknowledged writes: refuse it
		// rather than start a log over it.
		if err := e.refuseOrphanLog(); err != nil || e.readOnly {
			return err
		}
		if _, err := rand.Read(id[:]); err != nil {
			return err
		}
		if err := e.writeState(id, 0); err != nil {
			return err
		}
	}
	if e.readOnly {
		if _, err := os.Stat(e.logPath); errors.Is(err, os.ErrNotExist) {
			e.nextSeq, e.logged = e.applied+1, e.applied
			return nil
		}
	}
	created := false
	if _, err := os.Stat(e.logPath); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	f, err := e.cfg.OpenLog(e.logPath)
	if err != nil {
		return err
	}
	if created {
		if err := syncDir(filepath.Dir(e.logPath)); err != nil && !e.noSync {
			f.Close()
			return err
		}
	}
	l, frames, err := openLog(f, e.cfg.RegionSize, id, e.applied, e.noSync)
	if err != nil {
		f.Close()
		return err
	}
	e.log = l
	e.nextSeq = e.applied + 1
	for _, fr := range frames {
		writes, err := decodeWrites(fr.payload, fr.seq)
		if err != nil {
			f.Close()
			return err
		}
		for _, w := range writes {
			e.memBytes += entrySize(w)
			e.cur.set(w)
		}
		e.nextSeq = fr.seq + 1
	}
	e.logged = e.nextSeq - 1
	e.synced = e.logged
	if e.readOnly {
		return nil
	}
	if len(frames) == 0 {
		// Nothing to replay: start the log afresh after the store file's
		// last record.
		return l.restart(e.nextSeq)
	}
	return nil
}

// refuseOrphanLog refuses a store file without log state (a new one)
// whose log file exists and holds bytes: whose records they are is not
// known, and they may be acknowledged writes.
func (e *Engine) refuseOrphanLog() error {
	if info, err := os.Stat(e.logPath); err == nil && info.Size() > 0 {
		return fmt.Errorf("%w: the store file is new (it has no log state), yet the log %s exists beside it: it belongs to another store file (put that file back), or move it away", kv.ErrCorrupt, e.logPath)
	}
	return nil
}

// writeState records the store's id and last applied record.
func (e *Engine) writeState(id [16]byte, applied uint64) error {
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := w.Put(walKeyspace, idKey, id[:]); err != nil {
		return err
	}
	if err := w.Put(walKeyspace, appliedKey, binary.BigEndian.AppendUint64(nil, applied)); err != nil {
		return err
	}
	return w.Commit()
}

// Close checkpoints every logged write into the store file, removes the
// log and closes the file. If the checkpoint fails, the log stays (the
// next Open replays it) and Close returns the failure; the engine is
// closed either way. A store opened read-only is just closed.
func (e *Engine) Close() error {
	var err error
	if !e.readOnly {
		err = e.Checkpoint(context.Background())
	}
	e.stop()
	if e.log != nil {
		if cerr := e.log.f.Close(); err == nil {
			err = cerr
		}
		if err == nil && !e.readOnly {
			if rerr := e.cfg.RemoveLog(e.logPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = rerr
			}
		}
	}
	if cerr := e.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// stop ends the checkpointer, without a checkpoint of its own.
func (e *Engine) stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		e.closing = true
		e.mu.Unlock()
		if !e.readOnly {
			close(e.kick)
			<-e.done
		}
	})
}

// abandon closes the engine as a crash would leave it: no checkpoint,
// the log as it is. (A checkpoint already running completes: that is a
// crash's outcome too.) For tests.
func (e *Engine) abandon() error {
	e.stop()
	if e.log != nil {
		e.log.f.Close()
	}
	return e.store.Close()
}

// Begin starts a transaction. A read-only one reads the overlay as of
// now over a bbolt snapshot. A writable one waits, while the overlay is
// over its memory bound, for a checkpoint (or fails with the last
// checkpoint's error), then excludes other writers until it ends.
func (e *Engine) Begin(ctx context.Context, writable bool) (kv.Txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !writable {
		e.readMu.RLock()
		defer e.readMu.RUnlock()
		base, err := e.store.Begin(ctx, false)
		if err != nil {
			return nil, err
		}
		return &readTxn{base: base, ov: e.durable}, nil
	}
	if e.readOnly {
		return nil, kv.ErrReadOnly
	}
	if err := e.waitForRoom(ctx); err != nil {
		return nil, err
	}
	e.wmu.Lock()
	base, err := e.store.Begin(ctx, false)
	if err != nil {
		e.wmu.Unlock()
		return nil, err
	}
	return &writeTxn{readTxn: readTxn{base: base, ov: e.cur}, e: e, seq: e.nextSeq, own: newOverlay()}, nil
}

// waitForRoom waits while the overlay is over its memory bound.
func (e *Engine) waitForRoom(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.memBytes > 4*e.cfg.CheckpointBytes {
		if err := e.writeFailure(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e.requestCheckpoint()
		e.cond.Wait()
	}
	return e.writeFailure()
}

// writeFailure is why writes cannot go on, under e.mu: a failed sync,
// or a checkpoint that failed while the overlay is full.
func (e *Engine) writeFailure() error {
	switch {
	case e.broken != nil:
		return e.broken
	case e.ckptErr != nil && e.memBytes > 4*e.cfg.CheckpointBytes:
		return fmt.Errorf("the log is full and the checkpoint into the store file fails: %w", e.ckptErr)
	}
	return nil
}

func (e *Engine) requestCheckpoint() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Snapshot checkpoints, then writes the store file (kv.Snapshotter): a
// consistent copy that needs no log.
func (e *Engine) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	if !e.readOnly {
		if err := e.Checkpoint(ctx); err != nil {
			return 0, err
		}
	} else if e.logged > e.applied {
		return 0, fmt.Errorf("a store opened read-only with writes in its log cannot be copied as a file: open it writable to checkpoint them")
	}
	return e.store.Snapshot(ctx, w)
}

// Compact checkpoints, then writes a compacted copy of the store file
// (kv.Compacter).
func (e *Engine) Compact(dst string) error {
	if !e.readOnly {
		if err := e.Checkpoint(context.Background()); err != nil {
			return err
		}
	} else if e.logged > e.applied {
		return fmt.Errorf("a store opened read-only with writes in its log cannot be compacted: open it writable to checkpoint them")
	}
	return e.store.Compact(dst)
}

// CheckFile checks the store file's pages (kv.FileChecker); the log was
// checked when it was read at Open.
func (e *Engine) CheckFile() []error { return e.store.CheckFile() }

// PageWrites is the store file's page writes since Open (bolt.Engine).
func (e *Engine) PageWrites() int64 { return e.store.PageWrites() }

// Metrics (kv.Metered) are the store file's, and the log's: its
// records, what the overlay holds, its syncs and checkpoints.
func (e *Engine) Metrics() []kv.Metric {
	st := e.Stats()
	m := append(e.store.Metrics(),
		kv.Metric{Name: "log_records_total", Help: "Records (committed write transactions) written to the log.", Counter: true, Value: float64(st.Logged)},
		kv.Metric{Name: "log_checkpointed_records_total", Help: "Log records the store file holds.", Counter: true, Value: float64(st.Applied)},
		kv.Metric{Name: "log_overlay_bytes", Help: "Memory held by writes logged and not yet checkpointed (roughly).", Value: float64(st.OverlayBytes)},
		kv.Metric{Name: "log_overlay_keys", Help: "Keys written to the log and not yet checkpointed.", Value: float64(st.OverlayKeys)},
		kv.Metric{Name: "log_bulk_commits_total", Help: "Large transactions committed to the store file directly.", Counter: true, Value: float64(st.BulkCommits)},
	)
	if e.log != nil {
		size, _ := e.log.f.Size()
		syncs := e.log.syncs.Snapshot()
		m = append(m, kv.Metric{Name: "log_file_bytes", Help: "Size of the log file.", Value: float64(size)},
			kv.Metric{Name: "log_fsync_seconds", Help: "Time each fdatasync of the log took.", Histogram: &syncs})
	}
	ckpts := e.ckpts.Snapshot()
	return append(m, kv.Metric{Name: "log_checkpoint_seconds", Help: "Time each checkpoint of the log into the store file took.", Histogram: &ckpts})
}

// Stats are the log's counters.
type Stats struct {
	Logged, Applied uint64 // the last record logged, and in the store file
	OverlayBytes    int64  // what the overlay holds, roughly
	OverlayKeys     int
	BulkCommits     uint64 // transactions that bypassed the log
}

// Stats returns the log's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.readMu.RLock()
	n := e.durable.len()
	e.readMu.RUnlock()
	return Stats{Logged: e.logged, Applied: e.applied, OverlayBytes: e.memBytes, OverlayKeys: n, BulkCommits: e.bulk}
}

// readTxn reads a version of the overlay over a bbolt snapshot.
type readTxn struct {
	base   kv.Txn
	ov     *overlay
	closed bool
	buf    []byte // scratch for overlay lookups
}

func (t *readTxn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	if t.closed {
		return nil, kv.ErrTxClosed
	}
	if e, ok := t.ov.get(ks, key, &t.buf); ok {
		if e.deleted {
			return nil, nil
		}
		return e.val, nil
	}
	return t.base.Get(ks, key)
}

func (t *readTxn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	if t.closed {
		return nil, kv.ErrTxClosed
	}
	c, err := t.base.Cursor(ks)
	if err != nil {
		return nil, err
	}
	return newMergedCursor(t.ov, c, ks), nil
}

func (t *readTxn) Put(kv.Keyspace, []byte, []byte) error { return kv.ErrReadOnly }
func (t *readTxn) Delete(kv.Keyspace, []byte) error      { return kv.ErrReadOnly }
func (t *readTxn) Writable() bool                        { return false }

func (t *readTxn) Commit() error { return t.Rollback() }

func (t *readTxn) Rollback() error {
	if t.closed {
		return kv.ErrTxClosed
	}
	t.closed = true
	return t.base.Rollback()
}

// writeTxn keeps its writes in a tree of its own, read over the
// overlay's current version (which it does not change) over a bbolt
// snapshot; its commit logs them and merges them into a new version.
type writeTxn struct {
	readTxn
	e     *Engine
	seq   uint64   // the record this transaction becomes
	own   *overlay // its writes, newest per key
	bulk  kv.Txn   // once it is bulk: the store file's write transaction
	ended bool
}

func (t *writeTxn) Writable() bool { return true }

func (t *writeTxn) write(ks kv.Keyspace, key, value []byte, deleted bool) error {
	if t.ended {
		return kv.ErrTxClosed
	}
	if t.bulk != nil {
		if deleted {
			return t.bulk.Delete(ks, key)
		}
		return t.bulk.Put(ks, key, value)
	}
	if t.own.len() >= t.e.cfg.BulkKeys {
		if err := t.goBulk(); err != nil {
			return err
		}
		return t.write(ks, key, value, deleted)
	}
	var val []byte
	if !deleted {
		val = append(make([]byte, 0, len(value)), value...) // the caller may reuse value
	}
	t.own.set(entry{key: overlayKey(ks, key), val: val, deleted: deleted, seq: t.seq})
	return nil
}

func (t *writeTxn) Put(ks kv.Keyspace, key, value []byte) error {
	if err := t.e.store.CheckKeyspace(ks); err != nil {
		return err
	}
	return t.write(ks, key, value, false)
}

func (t *writeTxn) Delete(ks kv.Keyspace, key []byte) error {
	if err := t.e.store.CheckKeyspace(ks); err != nil {
		return err
	}
	return t.write(ks, key, nil, true)
}

func (t *writeTxn) Get(ks kv.Keyspace, key []byte) ([]byte, error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return t.bulk.Get(ks, key)
	}
	if e, ok := t.own.get(ks, key, &t.buf); ok {
		if e.deleted {
			return nil, nil
		}
		return e.val, nil
	}
	return t.readTxn.Get(ks, key)
}

func (t *writeTxn) Cursor(ks kv.Keyspace) (kv.Cursor, error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return t.bulk.Cursor(ks)
	}
	c, err := t.readTxn.Cursor(ks)
	if err != nil {
		return nil, err
	}
	return newMergedCursor(t.own, c, ks), nil
}

// merged returns the overlay's next version: the current one with the
// transaction's writes, and what they add to its size. A few writes are
// set into a copy (copy-on-write: the current version is untouched);
// many are merged with it into a new tree, in one ordered pass.
func (t *writeTxn) merged() (*overlay, int64) {
	var grown int64
	if t.own.len()*8 < t.ov.len() {
		next := t.ov.copy()
		t.own.t.Scan(func(e entry) bool {
			if prev, replaced := next.t.Set(e); replaced {
				grown -= entrySize(prev)
			}
			grown += entrySize(e)
			return true
		})
		return next, grown
	}
	next := newOverlay()
	a, b := t.ov.t.Iter(), t.own.t.Iter()
	aok, bok := a.First(), b.First()
	for aok || bok {
		switch {
		case !bok || (aok && a.Item().key < b.Item().key):
			next.t.Load(a.Item())
			aok = a.Next()
		case !aok || b.Item().key < a.Item().key:
			next.t.Load(b.Item())
			grown += entrySize(b.Item())
			bok = b.Next()
		default: // the transaction replaced the entry
			next.t.Load(b.Item())
			grown += entrySize(b.Item()) - entrySize(a.Item())
			aok, bok = a.Next(), b.Next()
		}
	}
	return next, grown
}

func (t *writeTxn) Rollback() error {
	if t.ended {
		return kv.ErrTxClosed
	}
	t.end()
	return nil
}

// end releases the snapshot (or the bulk transaction) and the writer
// lock.
func (t *writeTxn) end() {
	t.ended = true
	if t.bulk != nil {
		t.bulk.Rollback()
		t.bulk = nil
		t.e.ckptMu.Unlock()
	}
	if !t.closed {
		t.closed = true
		t.base.Rollback()
	}
	t.e.wmu.Unlock()
}

// pendingVersion is the overlay as of a record written to the log and
// not yet synced: readers get it once it is.
type pendingVersion struct {
	seq uint64
	ov  *overlay // a copy nobody changes
}

// Commit is CommitAsync, then its wait: it returns once the
// transaction's record is durable.
func (t *writeTxn) Commit() error {
	wait, err := t.CommitAsync()
	if err != nil {
		return err
	}
	return wait()
}

// CommitAsync (kv.AsyncCommitter) appends the transaction's writes to
// the log as one record and makes them the base of the next write
// transaction, then returns; the wait it returns syncs the log (one
// fdatasync covers every record written before it began) and publishes
// the writes to readers. So the next transaction runs while this one's
// record is synced. A record that does not fit in a region is
// kv.ErrTooLarge. When the active region is full, the commit waits for
// a checkpoint to free the other one. If a sync fails, its wait and
// every later one fail, and the engine refuses later writes: what
// reached the disk is unknown.
func (t *writeTxn) CommitAsync() (wait func() error, err error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return func() error { return nil }, t.commitBulk()
	}
	defer t.end()
	// The snapshot is no longer needed, and a checkpoint this commit may
	// wait for could itself wait for it (a bbolt commit that grows the
	// file waits for every open reader).
	t.closed = true
	t.base.Rollback()
	e := t.e
	if t.own.len() == 0 {
		return func() error { return nil }, nil
	}
	writes := make([]entry, 0, t.own.len())
	t.own.t.Scan(func(en entry) bool {
		writes = append(writes, en)
		return true
	})
	frame := encodeWrites(newFrame(writesSize(writes)), writes)
	n := len(frame) - frameHeaderSize
	if n > e.log.maxPayload() {
		return nil, fmt.Errorf("%w: a record of %d bytes, the log's regions hold %d", kv.ErrTooLarge, n, e.log.maxPayload())
	}
	e.mu.Lock()
	err = e.writeFailure()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !e.log.fits(n) {
		if err := e.waitForRegion(); err != nil {
			return nil, err
		}
		if err := e.log.switchRegion(t.seq); err != nil {
			return nil, e.failWrite(err)
		}
	}
	if err := e.log.write(t.seq, frame); err != nil {
		return nil, e.failWrite(err)
	}
	next, grown := t.merged()
	version := next.copy()
	e.cur = next
	e.nextSeq = t.seq + 1
	e.mu.Lock()
	e.pending = append(e.pending, pendingVersion{t.seq, version})
	e.logged = t.seq
	e.memBytes += grown
	over := e.memBytes >= e.cfg.CheckpointBytes
	e.mu.Unlock()
	if over {
		e.requestCheckpoint()
	}
	seq := t.seq
	return func() error { return e.waitDurable(seq) }, nil
}

// waitDurable returns once record seq is synced and its writes are
// published to readers: at once if a sync already covered it, else
// after a sync of every record written so far.
func (e *Engine) waitDurable(seq uint64) error {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	e.mu.Lock()
	broken, synced, hi := e.broken, e.synced, e.logged
	e.mu.Unlock()
	if broken != nil {
		return broken
	}
	if synced >= seq {
		return nil
	}
	if err := e.log.sync(); err != nil {
		return e.failWrite(err)
	}
	e.publish(hi)
	return nil
}

// publish makes the records up to hi, synced, visible to readers. It
// needs syncMu.
func (e *Engine) publish(hi uint64) {
	e.mu.Lock()
	var last *pendingVersion
	for len(e.pending) > 0 && e.pending[0].seq <= hi {
		last = &e.pending[0]
		e.pending = e.pending[1:]
	}
	e.synced = max(e.synced, hi)
	e.mu.Unlock()
	if last != nil {
		e.readMu.Lock()
		e.durable, e.durableSeq = last.ov, last.seq
		e.readMu.Unlock()
	}
}

// waitForRegion waits until a checkpoint has freed the log's other
// region.
func (e *Engine) waitForRegion() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for !e.log.otherFree(e.applied) {
		if e.broken != nil {
			return e.broken
		}
		if e.ckptErr != nil {
			return fmt.Errorf("the log is full and the checkpoint into the store file fails: %w", e.ckptErr)
		}
		e.requestCheckpoint()
		e.cond.Wait()
	}
	return nil
}

// failWrite handles a failed write or sync of the log. A failed write
// left the log's tail as it was, so later commits may succeed; a failed
// sync leaves unknown what reached the disk, so the engine refuses every
// later write and every wait not yet answered (reopen the store to
// recover from the log as it is).
func (e *Engine) failWrite(err error) error {
	var se *syncError
	if errors.As(err, &se) {
		e.mu.Lock()
		if e.broken == nil {
			e.broken = fmt.Errorf("the log's sync failed, no later write is accepted; reopen the store: %w", err)
		}
		e.cond.Broadcast()
		e.mu.Unlock()
	}
	return err
}
