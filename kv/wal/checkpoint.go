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
	e.readMu.RLock()
	v, upTo := e.durable, e.durableSeq
	e.readMu.RUnlock()
	e.mu.Lock()
	applied := e.applied
	e.mu.Unlock()
	if upTo <= applied {
		return nil
	}
	err := e.apply(v, applied, upTo)
	e.mu.Lock()
	if err != nil {
		e.ckptErr = err
	} else {
		e.ckptErr = nil
		e.applied = upTo
	}
	e.cond.Broadcast()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.prune(v, upTo)
	return nil
}

// apply writes v's entries newer than applied, and the new last record,
// in one bbolt transaction.
func (e *Engine) apply(v *overlay, applied, upTo uint64) error {
	w, err := e.store.Begin(context.Background(), true)
	if err != nil {
		return err
	}
	defer w.Rollback()
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
	if err != nil {
		return err
	}
	if err := w.Put(walKeyspace, appliedKey, binary.BigEndian.AppendUint64(nil, upTo)); err != nil {
		return err
	}
	return w.Commit()
}

// prune drops from the overlay the entries of v that the store file now
// holds and that no later write replaced, between write transactions,
// and republishes it to readers. Records written and not yet synced are
// synced first, so that the version readers get holds nothing that is
// not durable.
func (e *Engine) prune(v *overlay, upTo uint64) {
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
	next := e.cur.copy()
	var freed int64
	v.t.Scan(func(en entry) bool {
		if cur, ok := next.t.Get(entry{key: en.key}); ok && cur.seq <= upTo {
			next.t.Delete(entry{key: en.key})
			freed += entrySize(cur)
		}
		return true
	})
	durable := next.copy()
	e.readMu.Lock()
	e.cur, e.durable = next, durable
	e.readMu.Unlock()
	e.mu.Lock()
	e.memBytes -= freed
	e.cond.Broadcast()
	e.mu.Unlock()
}
