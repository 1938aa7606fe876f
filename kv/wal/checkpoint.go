package wal

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/relgraph/relgraph/kv"
)

// checkpointer writes the overlay into the store file in the
// background: when the overlay outgrows CheckpointBytes, when a commit
// needs the log's other region, at least every CheckpointInterval while
// the log holds writes, and when asked (Checkpoint). A failed checkpoint
// is retried; while it fails, writes go on into the log until the
// overlay or the log is full, and then fail with its error.
func (e *Engine) checkpointer() {
	defer close(e.done)
	tick := time.NewTicker(e.cfg.CheckpointInterval)
	defer tick.Stop()
	var waiting []chan error
	for {
		select {
		case _, ok := <-e.kick:
			if !ok {
				for _, w := range waiting {
					w <- fmt.Errorf("the store is closing")
				}
				return
			}
		case w := <-e.ckpt:
			waiting = append(waiting, w)
		case <-tick.C:
		}
		err := e.checkpoint()
		for _, w := range waiting {
			w <- err
		}
		waiting = waiting[:0]
	}
}

// Checkpoint writes every write logged so far into the store file and
// waits for it: a backup or a compaction then needs no log.
func (e *Engine) Checkpoint(ctx context.Context) error {
	if e.readOnly {
		return nil
	}
	done := make(chan error, 1)
	select {
	case e.ckpt <- done:
	case <-e.done:
		return fmt.Errorf("the store is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkpoint writes the readers' version of the overlay into the store
// file, then prunes from the overlay every entry the store file now
// holds.
func (e *Engine) checkpoint() error {
	upTo, err := e.checkpointDurable()
	if err != nil || upTo == 0 {
		return err
	}
	e.prune(upTo)
	return nil
}

// checkpointDurable writes the readers' version of the overlay into the
// store file in one durable bbolt transaction, with the last record it
// holds, and returns that record (0 if there was nothing to write).
func (e *Engine) checkpointDurable() (uint64, error) {
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	v, upTo, applied := e.checkpointable()
	if upTo <= applied {
		return 0, nil
	}
	started := time.Now()
	err := e.writeStore(v, applied, upTo, nil)
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.cond.Broadcast()
	if err != nil {
		e.ckptErr = err
		return 0, err
	}
	e.ckpts.ObserveSince(started)
	e.ckptErr = nil
	e.applied = max(e.applied, upTo)
	return upTo, nil
}

// catchUp makes the store file hold every record up to seq now, on the
// writer's goroutine: it syncs and publishes what is written, then
// checkpoints and prunes. A writer that needs the log's other region,
// or its space, calls it rather than wait for the checkpointer, which
// needs wmu to prune. It needs wmu.
func (e *Engine) catchUp(seq uint64) error {
	if err := e.waitDurable(seq); err != nil {
		return err
	}
	e.mu.Lock()
	applied := e.applied
	e.mu.Unlock()
	if applied >= seq {
		return nil
	}
	upTo, err := e.checkpointDurable()
	if err != nil {
		return fmt.Errorf("the log is full and the checkpoint into the store file fails: %w", err)
	}
	if upTo > 0 {
		e.pruneLocked(upTo)
	}
	return nil
}

// checkpointAll writes every record logged into the store file and
// records there that the log holds nothing more (the log is not live),
// so that the store file is whole without its log: for Close and
// Snapshot. Records written and not synced are synced first; if the log
// is broken, those never synced are left out (they were never
// acknowledged). It needs wmu, so no record is written meanwhile.
func (e *Engine) checkpointAll() error {
	e.mu.Lock()
	synced, logged, broken := e.synced, e.logged, e.broken
	e.mu.Unlock()
	if broken == nil && synced < logged {
		e.waitDurable(logged) // a failure breaks the engine: what was synced is still checkpointed
		e.mu.Lock()
		broken = e.broken
		e.mu.Unlock()
	}
	// No record is published while this runs: the readers' version it
	// writes is the one it replaces.
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	e.ckptMu.Lock()
	defer e.ckptMu.Unlock()
	v, upTo, applied := e.checkpointable()
	upTo = max(upTo, applied)
	if upTo == applied && !e.state.live {
		return nil
	}
	next := e.state
	next.live = false
	if broken != nil && next.session < maxSession {
		// The log may hold records written and never synced past upTo:
		// a new session leaves them to an older one, which no reader
		// reads, rather than a log said to hold nothing past upTo.
		next.session++
	}
	started := time.Now()
	if err := e.writeStore(v, applied, upTo, &next); err != nil {
		return err
	}
	e.state = next
	// What the store file holds leaves the overlay; the readers' version
	// and the writer's are filtered apart (after a failed sync the
	// writer's holds writes never acknowledged).
	cur, kept := e.cur.after(upTo)
	durable, _ := v.after(upTo)
	e.readMu.Lock()
	e.cur, e.durable = cur, durable
	e.readMu.Unlock()
	e.mu.Lock()
	e.ckpts.ObserveSince(started)
	e.ckptErr, e.applied, e.memBytes = nil, upTo, kept
	e.cond.Broadcast()
	e.mu.Unlock()
	return nil
}

// checkpointable is what a checkpoint writes: the readers' version of
// the overlay and its last record, and the last record the store file
// holds already. It needs ckptMu.
func (e *Engine) checkpointable() (v *overlay, upTo, applied uint64) {
	e.readMu.RLock()
	v, upTo = e.durable, e.durableSeq
	e.readMu.RUnlock()
	e.mu.Lock()
	applied = e.applied
	e.mu.Unlock()
	return v, upTo, applied
}

// writeStore writes v's entries of records after applied into the store
// file in one durable transaction that records upTo as the last record
// it holds (and the log's state, if given).
func (e *Engine) writeStore(v *overlay, applied, upTo uint64, state *logState) error {
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
	if err := apply(w, v, applied); err != nil {
		return err
	}
	if state != nil {
		if err := putLogState(w, *state); err != nil {
			return err
		}
	}
	return commitApplied(w, upTo)
}

// commitApplied records upTo as the last record the store file holds,
// and commits (durably: bbolt syncs).
func commitApplied(w kv.Txn, upTo uint64) error {
	if err := putApplied(w, upTo); err != nil {
		return err
	}
	return w.Commit()
}

// apply writes v's entries newer than applied into w.
func apply(w kv.Txn, v *overlay, applied uint64) error {
	var err error
	v.t.Scan(func(en *entry) bool {
		if en.seq <= applied {
			return true
		}
		ks, key, _ := cutKey(en.key)
		// The key's bytes, not a copy: bbolt keeps a Put's key until
		// its commit and never writes to it, and an entry never changes.
		k := unsafe.Slice(unsafe.StringData(key), len(key))
		if en.deleted {
			err = w.Delete(kv.Keyspace(ks), k)
		} else {
			err = w.Put(kv.Keyspace(ks), k, en.val)
		}
		return err == nil
	})
	return err
}

// prune drops from the overlay the entries the store file now holds
// (those of records up to upTo that no later write replaced), between
// write transactions, and republishes it to readers. Records written and
// not yet synced are synced first, so that the version readers get holds
// nothing that is not durable. It rebuilds the overlay from the entries
// it keeps, in order: after a large checkpoint most entries go, and
// deleting them one by one from a copy-on-write tree costs far more.
func (e *Engine) prune(upTo uint64) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.pruneLocked(upTo)
}

// pruneLocked is prune, for a caller holding wmu.
func (e *Engine) pruneLocked(upTo uint64) {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	e.mu.Lock()
	synced, hi, broken := e.synced, e.logged, e.broken
	e.mu.Unlock()
	if broken != nil {
		// After a failed write or sync, a later sync may succeed without
		// what the failed one lost: nothing unsynced is published.
		return
	}
	if synced < hi {
		if err := e.log.sync(); err != nil {
			e.failWrite(err)
			return // the readers keep the durable version they have
		}
		e.publish(hi)
	}
	next, kept := e.cur.after(upTo)
	durable := next.copy()
	e.readMu.Lock()
	e.cur, e.durable = next, durable
	e.readMu.Unlock()
	e.mu.Lock()
	e.memBytes = kept
	e.cond.Broadcast()
	e.mu.Unlock()
}
