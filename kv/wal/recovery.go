package wal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/relgraph/relgraph/histogram"
	"github.com/relgraph/relgraph/kv"
)

// Open's recovery: the store file's state read, the log read by it and
// replayed, and a new log session started.

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
	for i, fr := range read.frames {
		writes, err := decodeWrites(fr.payload, fr.seq)
		if err != nil {
			// Its CRC checked out, yet it does not parse: damage, kept
			// up to the record before it.
			d := &Damage{Problem: err.Error(), Kept: fr.seq - 1, Through: read.last(st.applied)}
			if !e.cfg.AcceptLoss {
				return d
			}
			if e.recovery.Loss == nil {
				e.recovery.Loss = d
			}
			e.recovery.Loss.Kept = d.Kept
			read.frames = read.frames[:i]
			break
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
