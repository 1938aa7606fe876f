package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// The faults of issue 21, each as it was reported, on the engine. The
// state machine (TestLogAgainstModel) covers them in general; these pin
// each down.

// memLog is a Config whose log is the fault file *f (nil: no log file).
func memLog(f **faultFile, cfg Config) Config {
	cfg.openLog = func(_ string, create bool) (File, error) {
		if *f == nil {
			if !create {
				return nil, os.ErrNotExist
			}
			*f = newFaultFile(nil, 1)
		}
		return *f, nil
	}
	cfg.removeLog = func(string) error { *f = nil; return nil }
	cfg.moveLog = func(string, string) error { *f = nil; return nil }
	return cfg
}

// kill abandons e as a crash would and opens the store again, its log
// *f as the operating system kept it.
func kill(t *testing.T, e *Engine, f **faultFile, path string, cfg Config) *Engine {
	t.Helper()
	e.abandon()
	*f = newFaultFile((*f).cached(), 2)
	return openWith(t, path, cfg)
}

// putAcked writes k0 … kn-1, each acknowledged.
func putAcked(t *testing.T, e *Engine, n int) {
	t.Helper()
	for i := range n {
		if err := put(t, e, fmt.Sprintf("k%d", i), "acked"); err != nil {
			t.Fatal(err)
		}
	}
}

// noCheckpoints keeps writes in the log until a test checkpoints.
var noCheckpoints = Config{CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40}

func put(t *testing.T, e *Engine, kvs ...string) error {
	t.Helper()
	w, err := e.Begin(ctx, true)
	if err != nil {
		return err
	}
	for i := 0; i < len(kvs); i += 2 {
		if err := w.Put("a", []byte(kvs[i]), []byte(kvs[i+1])); err != nil {
			w.Rollback()
			return err
		}
	}
	return w.Commit()
}

func valuesOf(t *testing.T, e *Engine) map[string]string {
	t.Helper()
	r, err := e.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Rollback()
	c, err := r.Cursor("a")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := c.First(); k != nil; k, v = c.Next() {
		out[string(k)] = string(v)
	}
	return out
}

func openWith(t *testing.T, path string, cfg Config) *Engine {
	t.Helper()
	e, err := Open(path, kvtest.Keyspaces, kv.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBulkCommitStandsWhenTheLogCannotRestart: a bulk commit is answered
// by its durable store-file commit. When the log then fails to start
// its new session (it reported HTTP 500 for a stored batch, then wrote
// later records after a gap), the commit succeeds, later writes are
// refused until a reopen, and the reopened store has everything.
func TestBulkCommitStandsWhenTheLogCannotRestart(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, Config{BulkKeys: 3, CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40})
	e := openWith(t, path, cfg)
	if err := put(t, e, "before", "1"); err != nil {
		t.Fatal(err)
	}
	f.schedule(opWrite, 1, failIO) // the new session's header, after the store file's commit
	if err := put(t, e, "b1", "x", "b2", "x", "b3", "x", "b4", "x"); err != nil {
		t.Fatalf("a bulk commit whose store-file commit succeeded: %v", err)
	}
	if e.Stats().BulkCommits != 1 || len(f.fired) != 1 {
		t.Fatalf("bulk commits %d, faults fired %v", e.Stats().BulkCommits, f.fired)
	}
	if err := put(t, e, "after", "1"); err == nil || !strings.Contains(err.Error(), "until the store is reopened") {
		t.Fatalf("a write after the log failed: %v", err)
	}
	e = kill(t, e, &f, path, cfg)
	defer e.Close()
	if got := fmt.Sprint(valuesOf(t, e)); got != "map[b1:x b2:x b3:x b4:x before:1]" {
		t.Fatalf("after a reopen: %s", got)
	}
	if err := put(t, e, "after", "1"); err != nil {
		t.Fatalf("a write after the reopen: %v", err)
	}
}

// TestFullDiskRecyclesTheLog: on a disk with room for a little of the
// log, single writes go on: when the log cannot grow, the store file
// takes every record and the log starts again from its beginning. A
// kill then loses nothing.
func TestFullDiskRecyclesTheLog(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, Config{RegionSize: 48 << 10, allocStep: 2 * pageSize, CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40})
	e := openWith(t, path, cfg)
	f.capacity = 6 * pageSize // not even the second region's header fits
	want := map[string]string{}
	for i := range 200 {
		k, v := fmt.Sprintf("k%03d", i%50), fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%3*pageSize))
		if err := put(t, e, k, v); err != nil {
			t.Fatalf("write %d on a disk with room for the store file: %v", i, err)
		}
		want[k] = v
	}
	if s := e.state.session; s < 10 {
		t.Fatalf("the log started %d sessions; it should have recycled often", s)
	}
	e = kill(t, e, &f, path, cfg)
	defer e.Close()
	if got := valuesOf(t, e); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a kill: %d keys, want %d", len(got), len(want))
	}
}

// TestFullDiskFailsACommitAndChangesNothing: when the log cannot grow
// and the store file cannot take its records either, the commit fails,
// the engine goes on, and the write is absent after a kill.
func TestFullDiskFailsACommitAndChangesNothing(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, Config{RegionSize: 48 << 10, allocStep: 2 * pageSize, CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40})
	e := openWith(t, path, cfg)
	if err := put(t, e, "k", "1"); err != nil {
		t.Fatal(err)
	}
	// Room for the log as it is, not for a record of four pages, even
	// in a log started again.
	f.capacity, _ = f.Size()
	err := put(t, e, "big", strings.Repeat("x", 3*pageSize))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a write with the disk full: %v", err)
	}
	if err := put(t, e, "k", "2"); err != nil {
		t.Fatalf("a write once there is room: %v", err)
	}
	e = kill(t, e, &f, path, cfg)
	defer e.Close()
	if got := fmt.Sprint(valuesOf(t, e)); got != "map[k:2]" {
		t.Fatalf("after a kill: %s", got)
	}
}

// logAcross writes n one-key transactions (k0 … kn-1, a page each) to a
// store on the operating system's files and leaves it as a crash would.
func logAcross(t *testing.T, path string, cfg Config, n int) {
	t.Helper()
	e := openWith(t, path, cfg)
	for i := range n {
		if err := put(t, e, fmt.Sprintf("k%d", i), strings.Repeat("v", 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.abandon(); err != nil {
		t.Fatal(err)
	}
}

// TestFlippedHeaderLosesNothingAndEpochsNeverRepeat: a flipped bit in
// the newer region's header dropped 770 acknowledged imports and, once
// an epoch was reused, put back an older value over a newer one. The
// reader needs no header, and sessions and passes come from the store
// file, so neither happens.
func TestFlippedHeaderLosesNothingAndEpochsNeverRepeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := noCheckpoints
	cfg.RegionSize = 16 * pageSize
	logAcross(t, path, cfg, 20) // 20 records: the second region is the newer
	for _, off := range []int64{16*pageSize + 30, 30} {
		flip(t, path, off)
	}
	e := openWith(t, path, cfg)
	if got := len(valuesOf(t, e)); got != 20 {
		t.Fatalf("after flipped headers: %d keys, want 20", got)
	}
	if err := put(t, e, "k0", "new"); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	e = openWith(t, path, cfg)
	defer e.Close()
	if got := valuesOf(t, e); got["k0"] != "new" || len(got) != 20 {
		t.Fatalf("after one more write and a crash: k0 %q, %d keys", got["k0"], len(got))
	}
}

// TestReorderedWritebackOpens: the pipeline leaves two records unsynced
// at once; a disk that wrote the second and not the first leaves a log
// that opens, with every acknowledged write and neither of the two.
func TestReorderedWritebackOpens(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, noCheckpoints)
	e := openWith(t, path, cfg)
	putAcked(t, e, 5)
	var seqs []uint64
	for _, k := range []string{"n", "n1"} {
		w, _ := e.Begin(ctx, true)
		w.Put("a", []byte(k), []byte("never acknowledged"))
		seqs = append(seqs, w.(*writeTxn).seq)
		if _, err := w.(*writeTxn).CommitAsync(); err != nil {
			t.Fatal(err)
		}
	}
	img := f.cached()
	st, c := e.state, e.codec
	e.abandon()
	erased := false
	for _, r := range recordsIn(img, c, st) {
		if r.h.seq == seqs[0] { // record N never reached the disk; N+1 did
			clear(img[r.off : r.off+frameLen(r.h.n)])
			erased = true
		}
	}
	if !erased {
		t.Fatal("record N is not in the log")
	}
	f = newFaultFile(img, 2)
	e, err := Open(path, kvtest.Keyspaces, kv.Options{}, cfg)
	if err != nil {
		t.Fatalf("a log whose last record reached the disk before the one before it: %v", err)
	}
	defer e.Close()
	if got := fmt.Sprint(valuesOf(t, e)); got != "map[k0:acked k1:acked k2:acked k3:acked k4:acked]" {
		t.Fatalf("after reordered writeback: %s", got)
	}
}

// TestReadErrorIsNeverAnEnd: a log read that fails fails the Open, at
// whichever read it happens, and changes nothing: five acknowledged
// writes that live only in the log were lost when a read error was
// taken for the end of the log and Close then removed it.
func TestReadErrorIsNeverAnEnd(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, noCheckpoints)
	e := openWith(t, path, cfg)
	putAcked(t, e, 5)
	e.abandon()
	img := f.cached()
	failed := 0
	for at := 1; ; at++ {
		f = newFaultFile(img, uint64(at))
		f.schedule(opRead, at, failIO)
		e, err := Open(path, kvtest.Keyspaces, kv.Options{}, cfg)
		if err == nil {
			if len(f.fired) > 0 {
				t.Fatalf("read %d failed, yet Open succeeded", at)
			}
			e.Close()
			break // past the last read
		}
		if !errors.Is(err, syscall.EIO) || errors.Is(err, kv.ErrCorrupt) {
			t.Fatalf("read %d failed: Open said %v", at, err)
		}
		if string(f.cached()) != string(img) {
			t.Fatalf("read %d failed: the Open changed the log", at)
		}
		failed++
	}
	if failed < 3 {
		t.Fatalf("only %d reads tried", failed)
	}
	f = newFaultFile(img, 99)
	e = openWith(t, path, cfg)
	defer e.Close()
	if got := len(valuesOf(t, e)); got != 5 {
		t.Fatalf("after read errors, a healthy open has %d keys, want 5", got)
	}
}

// TestCutShortOrMissingLogIsRefused: a log no crash can leave (deleted,
// cut to a few bytes, cut mid-region, cut at a step of its growth right
// after a record) held acknowledged writes that were silently dropped.
// Each is refused with a Damage naming it, and AcceptLoss then opens the
// store with the records up to Damage.Kept, moving the log aside.
func TestCutShortOrMissingLogIsRefused(t *testing.T) {
	cfg := noCheckpoints
	cfg.allocStep = 4 * pageSize
	cfg.RegionSize = 64 * pageSize
	for _, tc := range []struct {
		name    string
		damage  func(log string) error
		problem string
		kept    int // records kept by AcceptLoss
	}{
		{"deleted", os.Remove, "the log file is missing", 0},
		{"cut to a few bytes", func(log string) error { return os.Truncate(log, 10) }, "10 bytes long", 0},
		{"cut mid-region, inside a record", func(log string) error { return os.Truncate(log, 20*pageSize+100) }, "cut short", 19},
		{"cut at a step, right after a record", func(log string) error { return os.Truncate(log, 16*pageSize) }, "cut short", 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			logAcross(t, path, cfg, 30)
			if err := tc.damage(path + "-wal"); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, kvtest.Keyspaces, kv.Options{}, cfg)
			var d *Damage
			if !errors.As(err, &d) || !errors.Is(err, kv.ErrCorrupt) || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("open: %v", err)
			}
			t.Logf("%v", err)
			if _, err := Open(path, kvtest.Keyspaces, kv.Options{ReadOnly: true}, cfg); !errors.As(err, &d) {
				t.Fatalf("a read-only open: %v", err)
			}
			accept := cfg
			accept.AcceptLoss = true
			e := openWith(t, path, accept)
			defer e.Close()
			rec := e.Recovery()
			if rec.Loss == nil || rec.Loss.Kept != d.Kept || rec.Last != d.Kept && rec.Replayed > 0 {
				t.Fatalf("recovery %+v after %v", rec, d)
			}
			if got := len(valuesOf(t, e)); uint64(got) != d.Kept {
				t.Fatalf("AcceptLoss kept %d keys, Damage.Kept is %d", got, d.Kept)
			}
			if tc.kept > 0 && d.Kept != uint64(tc.kept) {
				t.Fatalf("Damage.Kept %d, want %d", d.Kept, tc.kept)
			}
			if rec.MovedLog != "" {
				if _, err := os.Stat(rec.MovedLog); err != nil {
					t.Fatalf("the damaged log is not where Recovery says: %v", err)
				}
			}
		})
	}
}

// TestRecoveryReportsWhatACrashLeft: Open says how many records it
// replayed.
func TestRecoveryReportsWhatACrashLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	logAcross(t, path, noCheckpoints, 7)
	e := openWith(t, path, noCheckpoints)
	defer e.Close()
	if rec := e.Recovery(); rec.Replayed != 7 || rec.First != 1 || rec.Last != 7 || rec.Loss != nil {
		t.Fatalf("recovery %+v", rec)
	}
}

// TestRestoredBackupBesideANewerLogIsRefused: a backup put back beside
// the log of the store it was taken from (a later session) is refused,
// not read as its own log.
func TestRestoredBackupBesideANewerLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	e := openWith(t, path, noCheckpoints)
	put(t, e, "k0", "v")
	out, err := os.Create(filepath.Join(dir, "backup.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Snapshot(ctx, out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	e.Close()
	logAcross(t, path, noCheckpoints, 3) // a later session, crashed
	if err := os.Rename(filepath.Join(dir, "backup.db"), path); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, kvtest.Keyspaces, kv.Options{}, noCheckpoints)
	if !strings.Contains(fmt.Sprint(err), "later than the store file's session") {
		t.Fatalf("a backup beside a newer log: %v", err)
	}
}

// TestCopiesNeedNoLog: a backup and a compacted copy open without a log
// (their store file says the log holds nothing), while the store they
// were taken from goes on writing.
func TestCopiesNeedNoLog(t *testing.T) {
	dir := t.TempDir()
	e := openWith(t, filepath.Join(dir, "s.db"), noCheckpoints)
	defer e.Close()
	for i := range 10 {
		put(t, e, fmt.Sprintf("k%d", i), "v")
	}
	backup := filepath.Join(dir, "backup.db")
	out, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Snapshot(ctx, out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	compacted := filepath.Join(dir, "compact.db")
	if err := e.Compact(ctx, compacted); err != nil {
		t.Fatal(err)
	}
	if err := put(t, e, "after", "v"); err != nil {
		t.Fatalf("a write after the copies: %v", err)
	}
	for _, p := range []string{backup, compacted} {
		c, err := Open(p, kvtest.Keyspaces, kv.Options{ReadOnly: true}, noCheckpoints)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if got := len(valuesOf(t, c)); got != 10 {
			t.Fatalf("%s holds %d keys, want 10", filepath.Base(p), got)
		}
		c.Close()
	}
}

// TestCompactLeavesAnExistingFileAlone: compact deleted a file it did
// not make when it refused it.
func TestCompactLeavesAnExistingFileAlone(t *testing.T) {
	dir := t.TempDir()
	e := openWith(t, filepath.Join(dir, "s.db"), Config{})
	defer e.Close()
	precious := filepath.Join(dir, "p.txt")
	if err := os.WriteFile(precious, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.Compact(ctx, precious); !errors.Is(err, os.ErrExist) {
		t.Fatalf("compact onto an existing file: %v", err)
	}
	if got, err := os.ReadFile(precious); err != nil || string(got) != "precious" {
		t.Fatalf("the existing file became %q (%v)", got, err)
	}
}

// TestUnparsableRecordIsDamage: a record whose CRCs check out but whose
// writes do not parse (only a bug or a forger makes one) is damage like
// any other: refused, and AcceptLoss keeps the records before it.
func TestUnparsableRecordIsDamage(t *testing.T) {
	var f *faultFile
	path := filepath.Join(t.TempDir(), "s.db")
	cfg := memLog(&f, noCheckpoints)
	e := openWith(t, path, cfg)
	putAcked(t, e, 3)
	img := f.cached()
	st, c := e.state, e.codec
	e.abandon()
	var second *located
	for _, r := range recordsIn(img, c, st) {
		if r.h.seq == 2 {
			second = &r
		}
	}
	if second == nil {
		t.Fatal("record 2 is not in the log")
	}
	bad := c.sealFrame(append(newFrame(second.h.n), make([]byte, second.h.n)...), second.h.epoch, 2) // zeros: no operation
	copy(img[second.off:], bad)
	f = newFaultFile(img, 2)
	_, err := Open(path, kvtest.Keyspaces, kv.Options{}, cfg)
	var d *Damage
	if !errors.As(err, &d) || d.Kept != 1 || !strings.Contains(err.Error(), "bad operation") {
		t.Fatalf("an unparsable record: %v", err)
	}
	accept := cfg
	accept.AcceptLoss = true
	f = newFaultFile(img, 3)
	e = openWith(t, path, accept)
	defer e.Close()
	if got := fmt.Sprint(valuesOf(t, e)); got != "map[k0:acked]" || e.Recovery().Loss.Kept != 1 {
		t.Fatalf("AcceptLoss after an unparsable record: %s, %+v", got, e.Recovery().Loss)
	}
}
