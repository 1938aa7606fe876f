package wal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// MovedLog is where the log file was moved: a damaged log, under
	// AcceptLoss; or, when Unrecognized, a file at the log's path that
	// Open could not tell was this store's log.
	MovedLog string
	// Unrecognized says the file at the log's path was not recognizably
	// this store's log while the store file held every write (its log
	// not live): a user's file of that name, or a log a power cut tore
	// as a new session began. It was moved aside whole (writable) or not
	// read (read-only), and the store opened.
	Unrecognized bool
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
		if err := e.checkLogIsOurs(st); err != nil {
			if !errors.Is(err, errForeignLog) || st.legacy || st.log.live {
				return err // it may hold writes the store file lacks
			}
			if err := e.setUnrecognizedAside(); err != nil {
				return err
			}
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
		for i := range writes {
			e.memBytes += entrySize(&writes[i])
			e.cur.set(&writes[i])
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
		// What was read back goes into the store file first, with a
		// session the damaged log's records are not of: a crash from here
		// on loses nothing that was kept, and never reads that log again.
		next := logState{session: st.log.session + 1, regionSize: e.cfg.RegionSize, allocStep: e.cfg.allocStep, window: window}
		if err := e.commitRecovered(st, last, next); err != nil {
			return err
		}
		st.applied, st.legacy, st.log = last, false, next
		e.logFile.Close()
		e.logFile = nil
		if e.recovery.MovedLog, err = e.moveAside("damaged"); err != nil {
			return err
		}
	}
	return e.startLog(st, last)
}

// commitRecovered commits into the store file the writes read back from
// the log (the records after st.applied, to last), with the log's state
// next.
func (e *Engine) commitRecovered(st storeState, last uint64, next logState) error {
	if next.session > maxSession {
		return fmt.Errorf("the log has used all its %d sessions", uint64(maxSession))
	}
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := putID(w, st.id); err != nil { // sealed, if it was not
		return err
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
	return nil
}

// startLog writes what the log held into the store file, with a new log
// session, and starts the log: a writable Open's last step.
func (e *Engine) startLog(st storeState, last uint64) error {
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
	if err := e.commitRecovered(st, last, next); err != nil {
		return err
	}
	e.log = &logWriter{f: f, codec: e.codec, regionSize: next.regionSize, allocStep: next.allocStep, noSync: e.noSync,
		syncs: histogram.New(histogram.LatencyBounds()...)}
	e.lastIn = [2]uint64{}
	err := e.log.start(next.session, last+1, true)
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

// checkLogIsOurs returns an error wrapping errForeignLog for a file at
// the log's path that this store did not recognizably write: a writable
// Open truncates its log, and a user's file that happens to have the
// name must survive that (Engine.recover then refuses the store, or
// sets the file aside: see setUnrecognizedAside). The file is the log
// if it is empty, if its first page is zeros (a start torn before its
// header) or begins like a region header (its magic, or this store's
// id), or if it holds a record of this store within its first two
// regions.
func (e *Engine) checkLogIsOurs(st storeState) error {
	f := e.logFile
	if f == nil {
		return nil
	}
	size, err := f.Size()
	if err != nil || size == 0 {
		return err
	}
	first := make([]byte, min(size, pageSize))
	if err := readFull(f, first, 0); err != nil {
		return err
	}
	// A region header's magic, or this store's id where a header keeps
	// it: one flipped bit cannot take away both.
	header := le.Uint32(first) == regionMagic || len(first) >= 24 && bytes.Equal(first[8:24], st.id[:])
	if header || !slices.ContainsFunc(first, func(b byte) bool { return b != 0 }) {
		return nil
	}
	R := st.log.regionSize
	if st.legacy {
		R = e.cfg.RegionSize
	}
	found := false
	err = scanPages(f, min(size, 2*R), func(off int64, page []byte) {
		if st.legacy {
			found = found || len(page) >= 4 && le.Uint32(page) == frameMagic
			return
		}
		_, ok := e.codec.parseFrameHeader(page)
		found = found || ok
	})
	if err != nil || found {
		return err
	}
	return fmt.Errorf("%w: %w: %s is not empty, does not begin like a log and holds no record of this store; relgraph writes over no file it did not make: move it away", kv.ErrCorrupt, errForeignLog, e.logPath)
}

// setUnrecognizedAside deals with a file at the log's path that
// checkLogIsOurs could not tell was the log, when the store file says
// the log holds nothing it lacks (not live). Content alone cannot tell
// a user's file from a log whose new session's start a power cut tore:
// every session's start writes the file's first pages (zeros, then the
// header) while the store file says the log is not live (only a switch
// back to region 0 writes them while it is live, and then the other
// region's records make the file recognizable), and a torn page may be
// garbage whole. Neither may be refused (a power cut alone must not
// stop the store opening) nor truncated (it may be a user's): a
// writable Open moves the file aside whole, a read-only one reads
// without it.
func (e *Engine) setUnrecognizedAside() error {
	e.logFile.Close()
	e.logFile = nil
	e.recovery.Unrecognized = true
	if e.readOnly {
		return nil
	}
	var err error
	e.recovery.MovedLog, err = e.moveAside("unrecognized")
	return err
}

// moveAside moves the log file to a new name beside it (its path, then
// why and the time), never over an existing file, and returns the name.
func (e *Engine) moveAside(why string) (string, error) {
	base := e.logPath + "." + why + "-" + time.Now().UTC().Format("20060102T150405")
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
			return "", fmt.Errorf("move the log file aside: %w", err)
		}
	}
}

// Recovery says what Open found in the log and did with it.
func (e *Engine) Recovery() Recovery { return e.recovery }
