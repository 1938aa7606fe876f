package wal

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

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
// file in one durable bbolt transaction, with the last record it holds,
// then prunes from the overlay every entry the store file now holds.
func (e *Engine) checkpoint() error {
	e.ckptMu.Lock()
	e.readMu.RLock()
	v, upTo := e.durable, e.durableSeq
	e.readMu.RUnlock()
	e.mu.Lock()
	applied := e.applied
	e.mu.Unlock()
	if upTo <= applied {
		e.ckptMu.Unlock()
		return nil
	}
	started := time.Now()
	w, err := e.store.Begin(context.Background(), true)
	if err == nil {
		defer w.Rollback()
		if err = apply(w, v, applied); err == nil {
			err = commitApplied(w, upTo)
		}
	}
	e.mu.Lock()
	if err != nil {
		e.ckptErr = err
	} else {
		e.ckpts.ObserveSince(started)
		e.ckptErr = nil
		e.applied = max(e.applied, upTo)
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	e.ckptMu.Unlock()
	if err != nil {
		return err
	}
	e.prune(upTo)
	return nil
}

// commitApplied records upTo as the last record the store file holds,
// and commits (durably: bbolt syncs).
func commitApplied(w kv.Txn, upTo uint64) error {
	if err := w.Put(walKeyspace, appliedKey, binary.BigEndian.AppendUint64(nil, upTo)); err != nil {
		return err
	}
	return w.Commit()
}

// apply writes v's entries newer than applied into w.
func apply(w kv.Txn, v *overlay, applied uint64) error {
	var err error
	v.t.Scan(func(en entry) bool {
		if en.seq <= applied {
			return true
		}
		ks, key, _ := cutKey(en.key)
		if en.deleted {
			err = w.Delete(kv.Keyspace(ks), []byte(key))
		} else {
			err = w.Put(kv.Keyspace(ks), []byte(key), en.val)
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
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	e.mu.Lock()
	synced, hi := e.synced, e.logged
	e.mu.Unlock()
	if synced < hi {
		if err := e.log.sync(); err != nil {
			e.failWrite(err)
			return // the readers keep the durable version they have
		}
		e.publish(hi)
	}
	next := newOverlay()
	var kept int64
	e.cur.t.Scan(func(en entry) bool {
		if en.seq > upTo {
			next.t.Load(en)
			kept += entrySize(en)
		}
		return true
	})
	durable := next.copy()
	e.readMu.Lock()
	e.cur, e.durable = next, durable
	e.readMu.Unlock()
	e.mu.Lock()
	e.memBytes = kept
	e.cond.Broadcast()
	e.mu.Unlock()
}
