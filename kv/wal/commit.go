package wal

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/relgraph/relgraph/kv"
)

// The commit pipeline of a logged write transaction: CommitAsync appends
// its writes to the log as one record (preparing the log first: its
// session's header, a region switch, room in the file, the store file's
// word that the log is live) and makes them the base of the next write
// transaction; the wait it returns syncs the log, then publishes the
// writes to readers. At most window records are ever written and not
// synced.

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

func noWait() error { return nil }

// CommitAsync (kv.AsyncCommitter) appends the transaction's writes to
// the log as one record and makes them the base of the next write
// transaction, then returns; the wait it returns syncs the log (one
// fdatasync covers every record written before it began) and publishes
// the writes to readers. So the next transaction runs while this one's
// record is synced; a commit that would leave more than window records
// unsynced syncs first. A record that does not fit in a region is
// kv.ErrTooLarge. When the active region is full, the commit waits for a
// checkpoint to free the other one; when the disk is full, for one that
// lets the log start again from its beginning.
//
// A commit that fails before its record is written changed nothing (a
// full disk, a store-file error while preparing the log): later ones
// may succeed. If a write or sync of the log fails, what reached the
// disk is unknown: that wait and every later one fail, and the engine
// refuses writes until it is reopened (Open then reads what the log
// holds).
func (t *writeTxn) CommitAsync() (wait func() error, err error) {
	if t.ended {
		return nil, kv.ErrTxClosed
	}
	if t.bulk != nil {
		return noWait, t.commitBulk()
	}
	defer t.end()
	// The snapshot is no longer needed, and a store-file commit this one
	// may make or wait for could itself wait for it (a bbolt commit that
	// grows the file waits for every open reader).
	t.closed = true
	t.base.Rollback()
	e := t.e
	if t.own.len() == 0 {
		return noWait, nil
	}
	writes := e.writes[:0]
	t.own.t.Scan(func(en *entry) bool {
		writes = append(writes, *en)
		return true
	})
	frame := encodeWrites(e.reuseFrame(writesSize(writes)), writes)
	clear(writes) // keep no key or value alive past this commit
	e.writes = writes[:0]
	n := len(frame) - frameHeaderSize
	if max := int(e.cfg.RegionSize - pageSize - frameHeaderSize); n > max {
		return nil, fmt.Errorf("%w: a record of %d bytes, the log's regions hold %d", kv.ErrTooLarge, n, max)
	}
	e.mu.Lock()
	err = e.writeFailure()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if t.seq > window {
		if err := e.waitDurable(t.seq - window); err != nil {
			return nil, err
		}
	}
	if err := e.prepareLog(t.seq, n); err != nil {
		return nil, e.failWrite(err)
	}
	err = e.log.write(t.seq, frame)
	if cap(frame) <= maxReusedFrame {
		e.frame = frame // written: the next commit may build on it
	}
	if err != nil {
		return nil, e.failWrite(err)
	}
	e.lastIn[e.log.active] = t.seq
	next, grown := t.next()
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

// maxReusedFrame bounds the record buffer a store keeps between
// commits: a bulk-sized record's buffer is let go.
const maxReusedFrame = 1 << 20

// reuseFrame is newFrame(n) on the last commit's buffer when it is big
// enough (sealFrame zeroes the padding, so what it held does not leak).
// It needs wmu.
func (e *Engine) reuseFrame(n int) []byte {
	if int64(cap(e.frame)) >= frameLen(n) {
		return e.frame[:frameHeaderSize]
	}
	return newFrame(n)
}

// prepareLog readies the log for record seq of n payload bytes: the
// session's header written, the active region with room for it, the
// file grown to hold it, and the store file saying the log is live. On
// a full disk, once the store file holds every record, the log starts
// again from its beginning, in the space it has. It needs wmu.
func (e *Engine) prepareLog(seq uint64, n int) error {
	if !e.log.ready {
		if err := e.log.start(e.state.session, seq, false); err != nil {
			return err
		}
		e.lastIn = [2]uint64{}
	}
	err := e.makeRoom(seq, n)
	if errors.Is(err, syscall.ENOSPC) {
		if err = e.recycle(seq); err == nil {
			err = e.makeRoom(seq, n)
		}
	}
	if err != nil {
		return err
	}
	if !e.state.live {
		next := e.state
		next.live = true
		return e.commitState(next)
	}
	return nil
}

// makeRoom makes room for record seq of n payload bytes at the log's
// tail: in the active region, or in the other once a checkpoint has
// freed it (the store file records the switch before the header says
// it); then the file grown to hold the record and a page after it.
func (e *Engine) makeRoom(seq uint64, n int) error {
	if !e.log.fits(n) {
		if e.state.pass >= e.cfg.lastPass {
			// The session's passes are used up: a new session, once the
			// store file holds every record (those of the active region
			// too, which a restart truncates).
			if err := e.recycle(seq); err != nil {
				return err
			}
		} else {
			if err := e.freeOtherRegion(); err != nil {
				return err
			}
			if err := e.log.prepareSwitch(); err != nil {
				return err
			}
			next := e.state
			next.pass++
			if err := e.commitState(next); err != nil {
				return err
			}
			if err := e.log.switchRegion(next.session, next.pass, seq); err != nil {
				return err
			}
			e.lastIn[e.log.active] = 0
		}
	}
	return e.log.reserveRecord(n)
}

// commitState records the log's new state in the store file. It needs
// wmu.
func (e *Engine) commitState(next logState) error {
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := putLogState(w, next); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	e.state = next
	return nil
}

// recycle makes the store file hold every record logged, then starts a
// new log session, its first record seq, from the file's beginning,
// giving back the disk the log took: on a full disk, and when a
// session's passes are used up. It needs wmu.
func (e *Engine) recycle(seq uint64) error {
	e.mu.Lock()
	logged := e.logged
	e.mu.Unlock()
	if err := e.catchUp(logged); err != nil {
		return err
	}
	if e.state.session >= maxSession {
		return fmt.Errorf("the log has used all its %d sessions: reopen the store", uint64(maxSession))
	}
	next := logState{session: e.state.session + 1, regionSize: e.cfg.RegionSize, allocStep: e.cfg.allocStep, window: window}
	if next.regionSize != e.log.regionSize || next.allocStep != e.log.allocStep {
		next.regionSize, next.allocStep = e.log.regionSize, e.log.allocStep // the geometry changes at Open only
	}
	if err := e.commitState(next); err != nil {
		return err
	}
	e.lastIn = [2]uint64{}
	return e.log.start(next.session, seq, false)
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

// publish makes the records up to hi, synced, visible to readers. The
// readers' version and synced change together (under readMu and mu):
// whoever sees a record synced sees it in the readers' version, which a
// checkpoint writes. It needs syncMu.
func (e *Engine) publish(hi uint64) {
	e.readMu.Lock()
	defer e.readMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	var last *pendingVersion
	for len(e.pending) > 0 && e.pending[0].seq <= hi {
		last = &e.pending[0]
		e.pending = e.pending[1:]
	}
	e.synced = max(e.synced, hi)
	if last != nil {
		e.durable, e.durableSeq = last.ov, last.seq
	}
	e.cond.Broadcast() // writers waiting for room: a checkpoint can now take these
}

// freeOtherRegion makes the store file hold every record in the log's
// other region, so that it can be written again. It needs wmu.
func (e *Engine) freeOtherRegion() error {
	return e.catchUp(e.lastIn[1-e.log.active])
}

// failWrite handles a failed step of a commit. A failed write or sync
// of the log leaves unknown what reached the disk, so the engine refuses
// every later write and every wait not yet answered (reopen the store
// to recover from the log as it is); a failure to grow the log's file
// or to write the store file changed nothing the log's reader reads, so
// later commits may succeed.
func (e *Engine) failWrite(err error) error {
	var se *syncError
	var we *writeError
	if errors.As(err, &se) || errors.As(err, &we) {
		e.mu.Lock()
		if e.broken == nil {
			e.broken = fmt.Errorf("the log could not be written, no later write is accepted until the store is reopened: %w", err)
		}
		e.cond.Broadcast()
		e.mu.Unlock()
	}
	return err
}
