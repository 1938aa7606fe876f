package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// The faults an attacker's review of the log found after issue 21's
// first fixes, each pinned down as it was reported.

// rewriteState changes the store file's value of one _wal key with fn,
// as a flipped bit on its page would (or an older release wrote it).
func rewriteState(t *testing.T, path string, key []byte, fn func([]byte) []byte) {
	t.Helper()
	s, err := bolt.Open(path, append(append([]kv.Keyspace{}, kvtest.Keyspaces...), walKeyspace), kv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.Get(walKeyspace, key)
	if err != nil || v == nil {
		t.Fatalf("%s: %q %v", key, v, err)
	}
	if err := w.Put(walKeyspace, key, fn(append([]byte{}, v...))); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestFlippedStoreStateIsAnError: the store file's record of its log
// had no checksum, so a flipped bit could name another session or
// applied record and the log would be read by it. Each value is sealed:
// a flip is an error naming the value; a value from before the seals
// still opens.
func TestFlippedStoreStateIsAnError(t *testing.T) {
	for _, key := range [][]byte{idKey, appliedKey, logKey} {
		t.Run(string(key), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			logAcross(t, path, noCheckpoints, 3)
			rewriteState(t, path, key, func(v []byte) []byte { v[2] ^= 0x08; return v })
			_, err := Open(path, kvtest.Keyspaces, kv.Options{}, noCheckpoints)
			if !errors.Is(err, kv.ErrCorrupt) || !strings.Contains(err.Error(), "does not match its seal") || !strings.Contains(err.Error(), string(key)) {
				t.Fatalf("a flipped bit in %s: %v", key, err)
			}
		})
	}
	t.Run("unsealed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.db")
		logAcross(t, path, noCheckpoints, 3)
		for _, key := range [][]byte{idKey, appliedKey, logKey} {
			rewriteState(t, path, key, func(v []byte) []byte { return v[:len(v)-4] })
		}
		e := openWith(t, path, noCheckpoints)
		defer e.Close()
		if got := keysOf(t, e); fmt.Sprint(got) != "[k0 k1 k2]" {
			t.Fatalf("a store written before the seals: %v", got)
		}
	})
}

// TestAcceptLossKeepsWhatItReadAcrossACrash: AcceptLoss moved the
// damaged log aside before the store file held what it had read back
// from it; a crash between the two left a live store without its log,
// so the records kept were lost too. The store file now takes them
// first, with a session the old log's records are not of.
func TestAcceptLossKeepsWhatItReadAcrossACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	logged(t, path, 5)
	flip(t, path, 2*pageSize+frameHeaderSize+10) // record 2 of 5: records 1 is kept
	crash := Config{AcceptLoss: true}
	crash.moveLog = func(from, to string) error {
		if err := os.Rename(from, to); err != nil {
			return err
		}
		return errors.New("power cut right after the move")
	}
	if _, err := Open(path, kvtest.Keyspaces, kv.Options{}, crash); err == nil || !strings.Contains(err.Error(), "power cut") {
		t.Fatalf("AcceptLoss with a crash after the move: %v", err)
	}
	e := openWith(t, path, Config{}) // no AcceptLoss: nothing is damaged any more
	defer e.Close()
	if got := keysOf(t, e); fmt.Sprint(got) != "[k0]" {
		t.Fatalf("after the crash: %v", got)
	}
}

// TestBeginWaitsForRoomOnlyAsLongAsItsContext: a writer waiting for the
// overlay to have room ignored its context and could wait for ever.
func TestBeginWaitsForRoomOnlyAsLongAsItsContext(t *testing.T) {
	cfg := Config{CheckpointBytes: 4 << 10, CheckpointInterval: 1 << 40}
	e := openWith(t, filepath.Join(t.TempDir(), "s.db"), cfg)
	defer e.Close()
	e.ckptMu.Lock() // no checkpoint can make room
	locked := true
	defer func() { // before Close, which checkpoints
		if locked {
			e.ckptMu.Unlock()
		}
	}()
	for i := 0; ; i++ {
		e.mu.Lock()
		full := e.memBytes > 4*cfg.CheckpointBytes
		e.mu.Unlock()
		if full {
			break
		}
		if err := put(t, e, fmt.Sprintf("k%d", i), strings.Repeat("v", 1000)); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	begun := make(chan error, 1)
	go func() {
		w, err := e.Begin(wctx, true)
		if err == nil {
			w.Rollback()
		}
		begun <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it wait; the test holds either way
	cancel()
	select {
	case err := <-begun:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Begin after its context was canceled: %v", err)
		}
	case <-time.After(time.Minute): // a hang guard, not a timing
		t.Fatal("Begin went on waiting after its context was canceled")
	}
	e.ckptMu.Unlock()
	locked = false
	if err := put(t, e, "after", "1"); err != nil {
		t.Fatalf("a write once checkpoints run: %v", err)
	}
}

// TestWriterThatNeverWaitsDoesNotStallTheNext: commits whose waits are
// never called left records unsynced, which no checkpoint can take, so
// the next writer waited for room for ever. It syncs them itself.
func TestWriterThatNeverWaitsDoesNotStallTheNext(t *testing.T) {
	cfg := Config{CheckpointBytes: 4 << 10, CheckpointInterval: 1 << 40}
	e := openWith(t, filepath.Join(t.TempDir(), "s.db"), cfg)
	defer e.Close()
	done := make(chan error, 1)
	go func() {
		for i := range 100 {
			w, err := e.Begin(ctx, true)
			if err != nil {
				done <- err
				return
			}
			w.Put("a", []byte(fmt.Sprintf("k%d", i)), bytes.Repeat([]byte("v"), 1000))
			if _, err := w.(*writeTxn).CommitAsync(); err != nil { // its wait is dropped
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a hang guard, not a timing
		t.Fatal("a writer waits for room for ever behind commits nobody waited for")
	}
	if err := put(t, e, "last", "waited for"); err != nil { // its sync covers the records before it
		t.Fatal(err)
	}
	if got := len(valuesOf(t, e)); got != 101 {
		t.Fatalf("%d keys, want 101", got)
	}
}

// TestCheckpointAfterAFailedSyncLeavesALogThatOpens: after a failed
// sync, a backup's checkpoint recorded that the log held nothing past
// the last synced record while the log held one more (written, never
// synced): after a crash every Open refused the store. The checkpoint
// now starts a session, so the old record is of an older one.
func TestCheckpointAfterAFailedSyncLeavesALogThatOpens(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, noCheckpoints)
	e := openWith(t, path, cfg)
	putAcked(t, e, 3)
	f.schedule(opSync, 1, failIO)
	if err := put(t, e, "never", "acked"); err == nil {
		t.Fatal("a write whose sync failed was acknowledged")
	}
	var backup bytes.Buffer
	if _, err := e.Snapshot(ctx, &backup); err != nil {
		t.Fatalf("a backup after the failed sync: %v", err)
	}
	e = kill(t, e, &f, path, cfg)
	defer e.Close()
	if got := fmt.Sprint(valuesOf(t, e)); got != "map[k0:acked k1:acked k2:acked]" {
		t.Fatalf("after the crash: %s", got)
	}
}

// TestForeignFileAtTheLogPathIsLeftAlone: any file named like the log
// was adopted, and a writable Open truncated it. A file that is not
// empty, does not begin like a log and holds no record of the store is
// never truncated: beside a store file that says its log holds writes
// it lacks, Open refuses it; beside one that holds every write (a clean
// Close, or a new session's start that a power cut tore), a read-only
// Open reads without it and a writable one moves it aside whole. One of
// zeros (a log whose start was torn before any byte) is the store's.
func TestForeignFileAtTheLogPathIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	e := openWith(t, path, Config{})
	putAcked(t, e, 2)
	e.abandon() // a crash: the log holds the two writes
	logged, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	precious := bytes.Repeat([]byte("a user's own file, not a log\n"), 1000)
	if err := os.WriteFile(path+"-wal", precious, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []kv.Options{{}, {ReadOnly: true}} {
		_, err := Open(path, kvtest.Keyspaces, opts, Config{})
		if !errors.Is(err, errForeignLog) || !strings.Contains(err.Error(), "move it away") {
			t.Fatalf("open (read-only %v) of a crashed store beside a user's file: %v", opts.ReadOnly, err)
		}
		if got, err := os.ReadFile(path + "-wal"); err != nil || !bytes.Equal(got, precious) {
			t.Fatalf("the user's file changed: %v", err)
		}
	}

	// The crash's log back, then a clean Close: the store file holds
	// every write.
	if err := os.WriteFile(path+"-wal", logged, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openWith(t, path, Config{}).Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", precious, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, kvtest.Keyspaces, kv.Options{ReadOnly: true}, Config{})
	if err != nil {
		t.Fatalf("read-only open beside a user's file: %v", err)
	}
	if got := keysOf(t, r); fmt.Sprint(got) != "[k0 k1]" || !r.Recovery().Unrecognized || r.Recovery().MovedLog != "" {
		t.Fatalf("read-only beside a user's file: keys %v, recovery %+v", got, r.Recovery())
	}
	r.Close()
	if got, err := os.ReadFile(path + "-wal"); err != nil || !bytes.Equal(got, precious) {
		t.Fatalf("a read-only open changed the user's file: %v", err)
	}
	e = openWith(t, path, Config{})
	rec := e.Recovery()
	if got := keysOf(t, e); fmt.Sprint(got) != "[k0 k1]" || !rec.Unrecognized || !strings.HasPrefix(rec.MovedLog, path+"-wal.unrecognized-") {
		t.Fatalf("beside a user's file: keys %v, recovery %+v", got, rec)
	}
	if got, err := os.ReadFile(rec.MovedLog); err != nil || !bytes.Equal(got, precious) {
		t.Fatalf("the user's file, moved aside, changed: %v", err)
	}
	putAcked(t, e, 3) // the new log takes writes
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path+"-wal", make([]byte, 2*pageSize), 0o600); err != nil {
		t.Fatal(err)
	}
	e = openWith(t, path, Config{})
	defer e.Close()
	if got := keysOf(t, e); fmt.Sprint(got) != "[k0 k1 k2]" || e.Recovery().Unrecognized {
		t.Fatalf("beside a log of zeros: %v, recovery %+v", got, e.Recovery())
	}
}

// TestCursorAcrossABulkTurnSaysTheTransactionMoved: a cursor opened
// before its transaction went bulk read a released snapshot and
// reported the store damaged. It ends with kv.ErrTxClosed.
func TestCursorAcrossABulkTurnSaysTheTransactionMoved(t *testing.T) {
	e := openWith(t, filepath.Join(t.TempDir(), "s.db"), Config{BulkKeys: 3})
	defer e.Close()
	putAcked(t, e, 2)
	w, err := e.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Cursor("a")
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := c.First(); string(k) != "k0" {
		t.Fatalf("First: %q", k)
	}
	for i := range 4 {
		if err := w.Put("a", []byte(fmt.Sprintf("b%d", i)), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if w.(*writeTxn).bulk == nil {
		t.Fatal("the transaction did not go bulk")
	}
	if k, _ := c.Next(); k != nil || !errors.Is(c.Err(), kv.ErrTxClosed) || errors.Is(c.Err(), kv.ErrCorrupt) {
		t.Fatalf("the old cursor after the bulk turn: %q, %v", k, c.Err())
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := len(valuesOf(t, e)); got != 6 {
		t.Fatalf("%d keys after the bulk commit, want 6", got)
	}
}

// TestUsedUpPassesKeepEveryRecord: when a session's passes were used up
// and the other region was already in the store file, the log started a
// new session over the active region's records, which the store file
// did not hold yet: a crash then lost them (Open refused: "records … would
// be lost"). A new session now starts once the store file holds them.
func TestUsedUpPassesKeepEveryRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := noCheckpoints
	cfg.RegionSize, cfg.allocStep, cfg.lastPass = 4*pageSize, pageSize, 3
	e := openWith(t, path, cfg)
	n := 0
	for e.state.pass < cfg.lastPass {
		putAcked(t, e, n+1) // k0 … kn again, and kn
		n++
	}
	if err := e.Checkpoint(ctx); err != nil { // the other region is in the store file
		t.Fatal(err)
	}
	session := e.state.session
	for e.state.session == session {
		putAcked(t, e, n+1)
		n++
	}
	e.abandon()
	e = openWith(t, path, cfg)
	defer e.Close()
	if got := len(valuesOf(t, e)); got != n {
		t.Fatalf("%d keys after the crash, want %d", got, n)
	}
}
