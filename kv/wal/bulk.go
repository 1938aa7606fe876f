package wal

import (
	"context"
	"fmt"
)

// A write transaction becomes bulk once it holds Config.BulkKeys keys
// (an import batch): from then on it writes straight into a bbolt write
// transaction, which first receives the overlay and what the
// transaction wrote so far, and its commit records it as the last
// applied record. The store file then holds everything; the log starts
// afresh after it and the overlay is empty. For a large transaction
// that is as durable as logging it (one durable bbolt commit instead of
// one record's sync) and far cheaper: no record to write, no overlay to
// build and checkpoint later. While it runs, it holds the checkpoint
// lock (no checkpoint writes the store file under it) and the writer
// lock, as every write transaction does; readers go on, reading the
// version before it.

// goBulk turns the transaction bulk. Every record logged before it is
// synced first: the bbolt transaction writes their writes as applied.
func (t *writeTxn) goBulk() error {
	e := t.e
	// The snapshot goes first: a bbolt commit that grows the file (a
	// checkpoint's, or the bulk transaction's own) waits for every open
	// reader, and a reader opening its snapshot holds readMu, which
	// publish below takes: holding the snapshot here would close that
	// circle.
	t.closed = true
	t.base.Rollback()
	e.syncMu.Lock()
	e.mu.Lock()
	synced, hi, broken := e.synced, e.logged, e.broken
	e.mu.Unlock()
	if broken != nil {
		e.syncMu.Unlock()
		return broken
	}
	if synced < hi {
		if err := e.log.sync(); err != nil {
			e.syncMu.Unlock()
			return e.failWrite(err)
		}
		e.publish(hi)
	}
	e.syncMu.Unlock()
	e.ckptMu.Lock()
	e.mu.Lock()
	applied := e.applied
	e.mu.Unlock()
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		e.ckptMu.Unlock()
		return err
	}
	if err := apply(w, e.cur, applied); err == nil {
		err = apply(w, t.own, applied)
	}
	if err != nil {
		w.Rollback()
		e.ckptMu.Unlock()
		return err
	}
	t.bulk, t.own, t.ov = w, newOverlay(), t.cur
	return nil
}

// commitBulk commits a bulk transaction, with a new log session (the
// store file now holds every record, so the log holds nothing it
// needs). Readers wait for the bbolt commit: one that paired the overlay
// before it with the store file after it would read the overlay's older
// values over the transaction's. Once the bbolt commit is durable the
// transaction is: if the log then cannot start its session, the commit
// still succeeds, and later ones retry the start (a full disk) or are
// refused (a failed write: see failWrite).
func (t *writeTxn) commitBulk() error {
	e := t.e
	defer t.end()
	if e.state.session >= maxSession {
		return fmt.Errorf("the log has used all its %d sessions: reopen the store", uint64(maxSession))
	}
	next := logState{session: e.state.session + 1, regionSize: e.log.regionSize, allocStep: e.log.allocStep, window: window}
	e.readMu.Lock()
	err := putLogState(t.bulk, next)
	if err == nil {
		err = commitApplied(t.bulk, t.seq)
	}
	if err == nil {
		// The store file holds everything now: the overlay goes at once,
		// before anything else can fail, or a checkpoint would write its
		// older versions over the transaction's.
		e.cur, e.durable, e.durableSeq = newOverlay(), newOverlay(), t.seq
	}
	e.readMu.Unlock()
	if err != nil {
		return err
	}
	e.state = next
	e.nextSeq = t.seq + 1
	e.mu.Lock()
	e.applied, e.logged, e.synced, e.memBytes = t.seq, t.seq, t.seq, 0
	e.bulk++
	e.cond.Broadcast()
	e.mu.Unlock()
	e.lastIn = [2]uint64{}
	if err := e.log.start(next.session, t.seq+1, false); err != nil {
		e.failWrite(err)
	}
	return nil
}
