package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
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
		cfg, err := kv.ConfigAs[Config](opts.Config, "a store file takes a wal.Config")
		if err != nil {
			return nil, err
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
	// directKeys is how many keys a transaction sets into the next
	// version as it writes them (see writeTxn): the largest group
	// commits of relation writes, far fewer than a bulk transaction's
	// (an import batch's first writes are set twice, which this
	// bounds). Default 512; tests lower it to take the other path.
	directKeys int
	// Tests change the log's file system: openLog opens the log (with
	// create, making it if missing; without, failing with an error
	// wrapping os.ErrNotExist), removeLog removes it after a clean close,
	// moveLog moves it aside (never over an existing file): a damaged log
	// under AcceptLoss, or a file not recognizably the log.
	// Default: the operating system's files, synced with fdatasync.
	openLog   func(path string, create bool) (File, error)
	removeLog func(path string) error
	moveLog   func(from, to string) error
	// allocStep is how much the log's file grows at a time (tests make
	// it small). Default 4 MiB.
	allocStep int64
	// lastPass is the last pass a session takes before the log starts a
	// new one (tests make it small). Default maxPass.
	lastPass uint64
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
	if c.directKeys <= 0 {
		c.directKeys = 512
	}
	if c.allocStep <= 0 {
		c.allocStep = 4 << 20
	}
	if c.lastPass == 0 || c.lastPass > maxPass {
		c.lastPass = maxPass
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
	// transactions, comes after ckptMu and before readMu.) A bbolt read
	// snapshot counts as held after readMu: a reader opens one under
	// readMu, and a bbolt commit that grows the file waits for every
	// open one, so nothing that holds a snapshot waits for readMu.

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
	// frame and writes are the last commit's record and entry list,
	// reused by the next (commit.go): written and done with before the
	// writer lets go of wmu.
	frame  []byte
	writes []entry

	// syncMu is held by the one sync of the log at a time, by the
	// publication of what it made durable, and by checkpointAll, so that
	// no record is published while the readers' version is written.
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
	return &writeTxn{readTxn: readTxn{base: base, ov: e.cur}, e: e, seq: e.nextSeq, own: newOverlay(), cur: e.cur}, nil
}

// waitForRoom waits while the overlay is over its memory bound, or
// until ctx is done. Records written and not yet synced cannot be
// checkpointed, so it syncs them first: a writer that never waits for
// its commits (CommitAsync) must not leave the next one waiting for
// ever. It needs no lock.
func (e *Engine) waitForRoom(ctx context.Context) error {
	e.mu.Lock()
	if e.memBytes <= 4*e.cfg.CheckpointBytes { // room: the common case, without a wake-up to set up
		err := e.writeFailure()
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		e.mu.Lock()
		e.cond.Broadcast()
		e.mu.Unlock()
	})
	defer stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	for e.memBytes > 4*e.cfg.CheckpointBytes {
		if err := e.writeFailure(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.synced < e.logged {
			logged := e.logged
			e.mu.Unlock()
			err := e.waitDurable(logged)
			e.mu.Lock()
			if err != nil {
				return err
			}
			continue
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
