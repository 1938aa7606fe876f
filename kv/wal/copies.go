package wal

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// Copies of the store: a snapshot to a writer, a compacted file, and the
// store file's own check.

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
