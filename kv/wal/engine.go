package wal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/relgraph/relgraph/histogram"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

func init() {
	kv.Register("file", func(location string, keyspaces []kv.Keyspace, opts kv.Options) (kv.Engine, error) {
		path := location
		if len(path) > len("file://") && path[:len("file://")] == "file://" {
			path = path[len("file://"):]
		}
		var cfg Config
		switch c := opts.Config.(type) {
		case nil:
		case Config:
			cfg = c
		case *Config:
			cfg = *c
		default:
			return nil, fmt.Errorf("%w: a store file takes a wal.Config, not %T", kv.ErrConfig, c)
		}
		return Open(path, keyspaces, opts, cfg)
	})
}

// Config is a store file's own configuration (kv.Options.Config of the
// "file" scheme): its log's, and File, the store file's. The zero value
// is the default.
type Config struct {
	// File is the store file's configuration (its memory map, its cap).
	File bolt.Config
	// RegionSize is the size of each of the log's two regions, in bytes
	// (a multiple of 4096, at least 16 KiB): the most the log holds
	// before a checkpoint must have freed the other region. Default 64
	// MiB. A store's log takes the new size at its next writable Open.
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
	// AcceptLoss opens a store whose log is damaged beyond what a crash
	// leaves (Damage): the records that check out, in order, are kept,
	// the rest dropped, and the damaged log is moved aside (Recovery
	// says what was dropped and where the log went). Never the default;
	// refused with a read-only open.
	AcceptLoss bool
	// Tests change the log's file system: openLog opens the log (with
	// create, making it if missing; without, failing with an error
	// wrapping os.ErrNotExist), removeLog removes it after a clean close,
	// moveLog moves a damaged one aside (never over an existing file).
	// Default: the operating system's files, synced with fdatasync.
	openLog   func(path string, create bool) (File, error)
	removeLog func(path string) error
	moveLog   func(from, to string) error
	// allocStep is how much the log's file grows at a time (tests make
	// it small). Default 4 MiB.
	allocStep int64
}

func (c Config) withDefaults() Config {
	if c.RegionSize <= 0 {
		c.RegionSize = 64 << 20
	}
	c.RegionSize = max((c.RegionSize+pageSize-1)/pageSize*pageSize, 4*pageSize)
	if c.CheckpointBytes <= 0 {
		c.CheckpointBytes = 16 << 20
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Second
	}
	if c.BulkKeys <= 0 {
		c.BulkKeys = 4096
	}
	if c.allocStep <= 0 {
		c.allocStep = 4 << 20
	}
	if c.openLog == nil {
		c.openLog = openOSFile
	}
	if c.removeLog == nil {
		c.removeLog = os.Remove
	}
	if c.moveLog == nil {
		c.moveLog = moveFile
	}
	return c
}

// window is the most records the writer leaves written and not yet
// synced: CommitAsync waits for a sync rather than write past it. It is
// what the reader takes for a torn tail (see reader.go); the group
// commit's pipeline (one batch written while the one before syncs)
// needs two.
const window = 2

// maxSession is the last session the log's epochs can carry.
const maxSession = 1<<32 - 1

// Engine is a bbolt store file with a log in front.
type Engine struct {
	store    *bolt.Engine
	spaces   []kv.Keyspace // the store file's, _wal included
	logPath  string
	cfg      Config
	readOnly bool
	noSync   bool
	recovery Recovery

	// Locks, in the order they are taken: a goroutine holding one takes
	// only locks after it (any may be skipped), never one before:
	//
	//	wmu → syncMu → ckptMu → readMu → mu
	//
	// (The store file's own writer lock, taken by its write
	// transactions, comes after ckptMu and before readMu.)

	// wmu is the writer's: held by a write transaction from Begin to its
	// end, by pruning after a checkpoint, and by Close and Snapshot
	// while they checkpoint everything. It guards the fields below.
	wmu     sync.Mutex
	cur     *overlay   // every logged write not yet in the store file
	log     *logWriter // nil for a read-only store
	logFile File       // the log read at Open (read-only: kept until Close)
	state   logState   // what the store file says of the log
	nextSeq uint64     // the record the next write transaction becomes
	lastIn  [2]uint64  // the last record written to each region in this session
	codec   codec      // the store's page sealing

	// syncMu is held by the one sync of the log at a time, and by the
	// publication of what it made durable.
	syncMu sync.Mutex

	// ckptMu is held while the store file is written with the overlay:
	// by a checkpoint, from its choice of version to its commit, and by
	// a bulk transaction.
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
	pending  []pendingVersion     // written records not yet synced, oldest first
	applied  uint64               // the last record the store file holds
	logged   uint64               // the last record written to the log
	synced   uint64               // the last record synced
	memBytes int64                // the overlay's size, roughly
	bulk     uint64               // bulk commits since Open
	ckpts    *histogram.Histogram // seconds each checkpoint took
	ckptErr  error                // the last checkpoint's failure, nil once one succeeds
	broken   error                // a failed write or sync of the log: no write can be trusted after it
	closing  bool

	kick     chan struct{}   // asks the checkpointer for a checkpoint
	done     chan struct{}   // closed when the checkpointer ends
	ckpt     chan chan error // asks for a checkpoint and waits for it
	stopOnce sync.Once       // stops the checkpointer
}

// Recovery is what Open found in the log and did with it.
type Recovery struct {
	Replayed    int    // records read back from the log (a crash left them)
	First, Last uint64 // their sequence numbers; 0 when none
	// Loss is the damage Open found under Config.AcceptLoss: the records
	// after Loss.Kept were dropped (Loss.Lost says which). Nil when
	// nothing was.
	Loss *Damage
	// MovedLog is where the damaged log was moved, under AcceptLoss.
	MovedLog string
}

// Open opens the store file at path with its log at path-wal. It reads
// the log by what the store file says of it, replays the records a
// crash left in it and, for a writable open, writes them into the store
// file and starts the log afresh (one store-file commit). A log damaged
// beyond what a crash leaves is refused with a *Damage (wrapping
// kv.ErrCorrupt) unless cfg.AcceptLoss; another store's log is refused
// always. See bolt.Open for opts (whose Config is cfg.File here); a
// read-only open replays into memory and writes nothing.
func Open(path string, keyspaces []kv.Keyspace, opts kv.Options, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if cfg.AcceptLoss && opts.ReadOnly {
		return nil, errors.New("AcceptLoss needs a writable open: it moves the damaged log aside and starts a new one")
	}
	spaces := append(append([]kv.Keyspace{}, keyspaces...), walKeyspace)
	opts.Config = cfg.File
	store, err := bolt.Open(path, spaces, opts)
	if err != nil {
		return nil, err
	}
	e := &Engine{store: store, spaces: spaces, ckpts: histogram.New(histogram.LatencyBounds()...), logPath: path + "-wal", cfg: cfg,
		readOnly: opts.ReadOnly, noSync: opts.NoSync, cur: newOverlay(),
		kick: make(chan struct{}, 1), done: make(chan struct{}), ckpt: make(chan chan error)}
	e.cond = sync.NewCond(&e.mu)
	if err := e.recover(); err != nil {
		if e.logFile != nil {
			e.logFile.Close()
		}
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

// recover reads the store file's state and its log, replays what the
// log holds past the store file and, for a writable open, moves it into
// the store file and starts a new log session.
func (e *Engine) recover() error {
	r, err := e.store.Begin(context.Background(), false)
	if err != nil {
		return err
	}
	st, err := readState(r)
	r.Rollback()
	if err != nil {
		return err
	}
	if st.fresh {
		// A store file without log state is new (or from before the log):
		// a log beside it is another store's, or this one's whose store
		// file was moved away. It may hold acknowledged writes: refuse it
		// rather than start a log over it.
		if err := e.refuseOrphanLog(); err != nil {
			return err
		}
		if e.readOnly {
			e.nextSeq = 1
			return nil
		}
		if _, err := rand.Read(st.id[:]); err != nil {
			return err
		}
	}
	e.codec, e.applied = newCodec(st.id), st.applied
	if !st.fresh {
		if e.logFile, err = e.openExistingLog(); err != nil {
			return err
		}
	}
	var read logRead
	switch {
	case st.fresh:
	case st.legacy:
		read, err = readLegacyLog(e.logFile, st, e.cfg.RegionSize)
	default:
		read, err = readLog(e.logFile, st)
	}
	if err != nil {
		return err
	}
	if read.damage != nil {
		if !e.cfg.AcceptLoss {
			return read.damage
		}
		e.recovery.Loss = read.damage
	}
	for _, fr := range read.frames {
		writes, err := decodeWrites(fr.payload, fr.seq)
		if err != nil {
			return err
		}
		for _, w := range writes {
			e.memBytes += entrySize(w)
			e.cur.set(w)
		}
	}
	last := read.last(st.applied)
	if n := len(read.frames); n > 0 {
		e.recovery.Replayed, e.recovery.First, e.recovery.Last = n, read.frames[0].seq, last
	}
	e.logged, e.synced, e.nextSeq = last, last, last+1
	if e.readOnly {
		return nil
	}
	if e.recovery.Loss != nil && e.logFile != nil {
		e.logFile.Close()
		e.logFile = nil
		if e.recovery.MovedLog, err = e.moveAside(); err != nil {
			return err
		}
	}
	return e.startLog(st, last)
}

// startLog writes what the log held into the store file, with a new log
// session, and starts the log: a writable Open's last step.
func (e *Engine) startLog(st storeState, last uint64) error {
	if st.log.session >= maxSession {
		return fmt.Errorf("the log has used all its %d sessions", uint64(maxSession))
	}
	f := e.logFile
	if f == nil {
		var err error
		if f, err = e.cfg.openLog(e.logPath, true); err != nil {
			return err
		}
		e.logFile = f
		if !e.noSync {
			// The log's name is durable before the store file can say the
			// log is live.
			if err := syncDir(filepath.Dir(e.logPath)); err != nil {
				return err
			}
		}
	}
	next := logState{session: st.log.session + 1, regionSize: e.cfg.RegionSize, allocStep: e.cfg.allocStep, window: window}
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if st.fresh {
		if err := w.Put(walKeyspace, idKey, st.id[:]); err != nil {
			return err
		}
	}
	if err := apply(w, e.cur, st.applied); err != nil {
		return err
	}
	if err := putApplied(w, last); err != nil {
		return err
	}
	if err := putLogState(w, next); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	e.cur, e.memBytes, e.applied, e.state = newOverlay(), 0, last, next
	e.log = &logWriter{f: f, codec: e.codec, regionSize: next.regionSize, allocStep: next.allocStep, noSync: e.noSync,
		syncs: histogram.New(histogram.LatencyBounds()...)}
	e.lastIn = [2]uint64{}
	err = e.log.start(next.session, last+1, true)
	var ae *allocError
	if errors.As(err, &ae) {
		// A full disk: the store opens, and writes retry the log's start
		// (CommitAsync) until there is room.
		return nil
	}
	return err
}

// openExistingLog opens the log file if there is one (nil if not).
func (e *Engine) openExistingLog() (File, error) {
	f, err := e.cfg.openLog(e.logPath, false)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

// refuseOrphanLog refuses a store file without log state (a new one)
// whose log file exists and holds bytes: whose records they are is not
// known, and they may be acknowledged writes.
func (e *Engine) refuseOrphanLog() error {
	f, err := e.openExistingLog()
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	if size, err := f.Size(); err != nil || size > 0 {
		return fmt.Errorf("%w: the store file is new (it has no log state), yet the log %s exists beside it: it belongs to another store file (put that file back), or move it away", kv.ErrCorrupt, e.logPath)
	}
	return nil
}

// moveAside moves a damaged log to a new name beside it, never over an
// existing file, and returns the name.
func (e *Engine) moveAside() (string, error) {
	base := e.logPath + ".damaged-" + time.Now().UTC().Format("20060102T150405")
	for i := 0; ; i++ {
		to := base
		if i > 0 {
			to = fmt.Sprintf("%s.%d", base, i)
		}
		err := e.cfg.moveLog(e.logPath, to)
		if err == nil {
			return to, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("move the damaged log aside: %w", err)
		}
	}
}

// Recovery says what Open found in the log and did with it.
func (e *Engine) Recovery() Recovery { return e.recovery }

// Close checkpoints every logged write into the store file, records
// that the log holds nothing more, removes the log and closes the file.
// If the checkpoint fails, the log stays (the next Open replays it) and
// Close returns the failure; the engine is closed either way. A store
// opened read-only is just closed.
func (e *Engine) Close() error {
	e.stop()
	var err error
	if !e.readOnly {
		e.wmu.Lock()
		err = e.checkpointAll()
		e.wmu.Unlock()
	}
	if e.logFile != nil {
		if cerr := e.logFile.Close(); err == nil {
			err = cerr
		}
		if err == nil && !e.readOnly {
			if rerr := e.cfg.removeLog(e.logPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
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
	if e.logFile != nil {
		e.logFile.Close()
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

// writeFailure is why writes cannot go on, under e.mu: a failed write
// or sync of the log, or a checkpoint that failed while the overlay is
// full.
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

// Snapshot writes the store file (kv.Snapshotter): a consistent copy
// that needs no log. Writers wait while everything logged is
// checkpointed and the copy's read snapshot is taken (its store file
// then says the log holds nothing), and go on while it is written.
func (e *Engine) Snapshot(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if e.readOnly {
		if e.logged > e.applied {
			return 0, fmt.Errorf("a store opened read-only with writes in its log cannot be copied as a file: open it writable to checkpoint them")
		}
		return e.store.Snapshot(ctx, w)
	}
	e.wmu.Lock()
	err := e.checkpointAll()
	var r kv.Txn
	if err == nil {
		r, err = e.store.Begin(ctx, false)
	}
	e.wmu.Unlock()
	if err != nil {
		return 0, err
	}
	defer r.Rollback()
	return r.(io.WriterTo).WriteTo(w)
}

// Compact checkpoints, then writes a compacted copy of the store file
// (kv.Compacter) whose state says it needs no log: a copy as of its
// last checkpointed record.
func (e *Engine) Compact(ctx context.Context, dst string) error {
	if !e.readOnly {
		if err := e.Checkpoint(ctx); err != nil {
			return err
		}
	} else if e.logged > e.applied {
		return fmt.Errorf("a store opened read-only with writes in its log cannot be compacted: open it writable to checkpoint them")
	}
	if err := e.store.Compact(ctx, dst); err != nil {
		return err
	}
	if err := markComplete(dst, e.spaces); err != nil {
		os.Remove(dst) // made by the compaction above
		return err
	}
	return nil
}

// markComplete records in a copy of the store file that its log holds
// nothing: the copy has no log.
func markComplete(path string, spaces []kv.Keyspace) error {
	c, err := bolt.Open(path, spaces, kv.Options{})
	if err != nil {
		return err
	}
	err = func() error {
		w, err := c.Begin(context.Background(), true)
		if err != nil {
			return err
		}
		defer w.Rollback()
		st, err := readState(w)
		if err != nil || st.fresh || st.legacy || !st.log.live {
			return err
		}
		st.log.live = false
		if err := putLogState(w, st.log); err != nil {
			return err
		}
		return w.Commit()
	}()
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckFile checks the store file's pages (kv.FileChecker); the log was
// checked when it was read at Open.
func (e *Engine) CheckFile(ctx context.Context) []error { return e.store.CheckFile(ctx) }

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
	e.readMu.RLock()
	n := e.durable.len()
	e.readMu.RUnlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Logged: e.logged, Applied: e.applied, OverlayBytes: e.memBytes, OverlayKeys: n, BulkCommits: e.bulk}
}
