package wal

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

var minCuts = flag.Int("wal.mincuts", 0, "TestLogAgainstModel fails unless the run cut the power at least this often (for long runs)")

// TestLogAgainstModel drives the engine through write transactions
// (logged, pipelined two and three deep, and bulk), checkpoints, clean
// reopens and kills, against a map model, while its log's file
// (faultFile) cuts the power at any call, before or after it takes
// effect, and then writes back what was not synced in any subset and
// order, torn or not; fails any call with ENOSPC or EIO; fails reads at
// Open; and has bytes it synced flipped (region headers and records
// included). What the engine must do, for each:
//
//   - Every commit that returned nil is there with its value after any
//     reopen. One whose outcome was unknown (its record written, then a
//     write or sync failed, or the power went) is wholly there or wholly
//     absent, and never so unless the ones before it are. One that
//     failed without breaking the engine (a full disk while the log
//     grew) is absent.
//   - After a failed write or sync, writes are refused until a reopen.
//   - A read error at Open fails the Open and changes nothing.
//   - A power cut alone (a crash) never makes Open refuse the store.
//   - After a flipped byte, Open either reads exactly the model (the
//     byte mattered to nothing it needs), or refuses with a Damage (then
//     AcceptLoss opens it with exactly the records up to Damage.Kept), or
//     reads the model as of a commit before a record among the last
//     `window` it holds — a flip there looks like the tail a crash tears,
//     the one loss a flipped byte can cause unseen.
//
// -rapid.checks sets the runs; -wal.mincuts fails a long run that cut
// too rarely.
func TestLogAgainstModel(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		m := newLogMachine(rt, t.TempDir())
		defer m.close()
		rt.Repeat(m.actions())
		mu.Lock()
		for k, v := range m.counts {
			counts[k] += v
		}
		mu.Unlock()
	})
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-52s %d", k, counts[k])
	}
	t.Logf("outcomes:%s", b.String())
	for _, c := range []string{"txn", "bulk txn", "pipelined", "checkpoint", "reopen", "kill", "cut",
		"cut: reopened", "cut at open", "fault: ENOSPC, commit failed, engine usable", "fault: EIO, engine refused writes",
		"read fault: open failed", "flip: read exactly", "flip: refused, AcceptLoss kept Damage.Kept"} {
		if counts[c] == 0 {
			t.Errorf("%q never happened", c)
		}
	}
	if counts["cut"] < *minCuts {
		t.Errorf("%d cuts, want at least %d", counts["cut"], *minCuts)
	}
}

// logMachine is one run of TestLogAgainstModel.
type logMachine struct {
	t      *rapid.T
	path   string
	cfg    Config
	file   *faultFile // the log; nil when it was removed
	moved  *faultFile // the last log moved aside
	e      *Engine
	seed   uint64
	model  map[string]string // keyspace ‖ 0 ‖ key → value: every acknowledged write
	base   map[string]string // the model as the store was last opened
	hist   []acked           // acknowledged commits since then, in order
	doubt  []map[string]*string
	counts map[string]int
}

// acked is a commit acknowledged with its record and the model after it.
type acked struct {
	seq   uint64
	after map[string]string
}

func newLogMachine(t *rapid.T, dir string) *logMachine {
	m := &logMachine{t: t, path: filepath.Join(dir, "m.db"), model: map[string]string{}, counts: map[string]int{}}
	m.seed = rapid.Uint64().Draw(t, "seed")
	// Small regions and steps, so regions switch and the file grows
	// often; a transaction's fourth key makes it bulk, and its second
	// may make it keep its writes apart until the commit (directKeys 1);
	// a session may end after its first or third region switch.
	m.cfg = Config{RegionSize: 48 << 10, CheckpointBytes: 32 << 10, CheckpointInterval: 1 << 40, BulkKeys: 3, allocStep: 2 * pageSize,
		directKeys: rapid.SampledFrom([]int{1, 2}).Draw(t, "directKeys"),
		lastPass:   rapid.SampledFrom([]uint64{maxPass, 1, 3}).Draw(t, "lastPass"),
		openLog: func(_ string, create bool) (File, error) {
			if m.file == nil {
				if !create {
					return nil, os.ErrNotExist
				}
				m.file = m.newFile(nil)
			}
			return m.file, nil
		},
		removeLog: func(string) error { m.file = nil; return nil },
		moveLog:   func(string, string) error { m.moved, m.file = m.file, nil; return nil },
	}
	m.mustOpen(nil, "first open")
	return m
}

func (m *logMachine) newFile(img []byte) *faultFile {
	m.seed++
	return newFaultFile(img, m.seed)
}

func (m *logMachine) close() {
	if m.e != nil {
		m.e.abandon()
	}
}

// open opens the store with the log img (nil: no log file).
func (m *logMachine) open(img []byte, cfg Config) (*Engine, error) {
	m.file = nil
	if img != nil {
		m.file = m.newFile(img)
	}
	return Open(m.path, kvtest.Keyspaces, kv.Options{}, cfg)
}

// mustOpen opens the store with the log img, which must succeed and
// read the model (with a prefix of the commits in doubt).
func (m *logMachine) mustOpen(img []byte, why string) {
	e, err := m.open(img, m.cfg)
	if err != nil {
		m.t.Fatalf("%s: open: %v", why, err)
	}
	m.e = e
	if e.Recovery().Unrecognized {
		// A new session's start torn: moved aside, the store opens.
		m.counts["open: unrecognized log moved aside"]++
	}
	m.settle(why)
}

// settle checks the store against the model and the commits in doubt:
// it must hold the model with some prefix of them, which it then
// becomes.
func (m *logMachine) settle(why string) {
	got := m.read()
	want := maps.Clone(m.model)
	for i := 0; ; i++ {
		if maps.Equal(got, want) {
			if i > 0 {
				m.counts["doubt: kept"] += i
			}
			m.counts["doubt: dropped"] += len(m.doubt) - i
			m.model, m.base, m.doubt, m.hist = want, maps.Clone(want), nil, nil
			return
		}
		if i == len(m.doubt) {
			break
		}
		applyOps(want, m.doubt[i])
	}
	var ds []string
	for _, d := range m.doubt {
		ds = append(ds, fmt.Sprint(len(d)))
	}
	m.t.Fatalf("%s: the store is not the model with a prefix of the %d commits in doubt (%v):\n got %s\nwant %s", why, len(m.doubt), ds, show(got), show(m.model))
}

func show(s map[string]string) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := s[k]
		if len(v) > 12 {
			v = v[:12] + "…"
		}
		fmt.Fprintf(&b, "%q=%q ", k, v)
	}
	return b.String()
}

// read reads every key of every keyspace, by cursor and by Get.
func (m *logMachine) read() map[string]string {
	r, err := m.e.Begin(ctx, false)
	if err != nil {
		m.t.Fatal(err)
	}
	defer r.Rollback()
	out := map[string]string{}
	for _, ks := range kvtest.Keyspaces {
		c, err := r.Cursor(ks)
		if err != nil {
			m.t.Fatal(err)
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			out[string(ks)+"\x00"+string(k)] = string(v)
			if got, err := r.Get(ks, k); err != nil || string(got) != string(v) {
				m.t.Fatalf("Get %s/%s = %q (%v), the cursor read %q", ks, k, got, err, v)
			}
		}
		if err := c.Err(); err != nil {
			m.t.Fatal(err)
		}
	}
	return out
}

func applyOps(s map[string]string, ops map[string]*string) {
	for k, v := range ops {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = *v
		}
	}
}

var machineKeys = []string{"a", "b", "c", "d", "e", "f"}

// genOps draws a transaction's writes: up to n keys (four make it bulk).
func genOps(t *rapid.T, n int) map[string]*string {
	ops := map[string]*string{}
	for range rapid.IntRange(1, n).Draw(t, "writes") {
		k := string(rapid.SampledFrom(kvtest.Keyspaces).Draw(t, "ks")) + "\x00" + rapid.SampledFrom(machineKeys).Draw(t, "key")
		if rapid.IntRange(0, 3).Draw(t, "delete?") == 0 {
			ops[k] = nil
		} else {
			// Values up to two pages, so records span pages and tears
			// fall inside them.
			v := fmt.Sprintf("v%d-%s", rapid.IntRange(0, 99).Draw(t, "v"), strings.Repeat("x", rapid.IntRange(0, 2*pageSize).Draw(t, "pad")))
			ops[k] = &v
		}
	}
	return ops
}

// begin starts a write transaction with ops written.
func (m *logMachine) begin(ops map[string]*string) (*writeTxn, error) {
	w, err := m.e.Begin(ctx, true)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ks, key, _ := cutKey(k)
		if v := ops[k]; v == nil {
			err = w.Delete(kv.Keyspace(ks), []byte(key))
		} else {
			err = w.Put(kv.Keyspace(ks), []byte(key), []byte(*v))
		}
		if err != nil {
			w.Rollback()
			return nil, err
		}
	}
	return w.(*writeTxn), nil
}

func (m *logMachine) broken() bool {
	m.e.mu.Lock()
	defer m.e.mu.Unlock()
	return m.e.broken != nil
}

// commitSeq commits txns pipelined (each CommitAsync before the waits)
// and accounts for each outcome: acknowledged, in doubt, or absent.
func (m *logMachine) commitSeq(txns []map[string]*string) {
	type started struct {
		ops  map[string]*string
		seq  uint64
		wait func() error
	}
	var run []started
	var failedOps map[string]*string // the commit that failed, after those running
	var failedErr error
	var wasBroken bool
	for _, ops := range txns {
		wasBroken = m.broken()
		bulkBefore := m.e.Stats().BulkCommits
		w, err := m.begin(ops)
		if err == nil {
			seq := w.seq
			var wait func() error
			if wait, err = w.CommitAsync(); err == nil {
				if m.e.Stats().BulkCommits > bulkBefore {
					m.counts["bulk txn"]++
				}
				run = append(run, started{ops, seq, wait})
				continue
			}
		}
		failedOps, failedErr = ops, err
		break
	}
	for i, s := range run {
		if err := s.wait(); err != nil {
			// Unknown: its record may have reached the disk; so may those
			// after it, which also fail.
			for _, later := range run[i:] {
				m.doubt = append(m.doubt, later.ops)
			}
			m.counts["commit in doubt"] += len(run) - i
			if failedOps != nil {
				m.doubt = append(m.doubt, failedOps)
			}
			return
		}
		if len(m.doubt) > 0 {
			m.t.Fatalf("a commit succeeded after one in doubt")
		}
		applyOps(m.model, s.ops)
		m.hist = append(m.hist, acked{s.seq, maps.Clone(m.model)})
		m.counts["txn"]++
	}
	if failedOps != nil {
		m.failed(failedOps, failedErr, wasBroken)
	}
}

// failed accounts for a commit that returned err.
func (m *logMachine) failed(ops map[string]*string, err error, wasBroken bool) {
	switch {
	case errors.Is(err, errPowerCut) || (!wasBroken && m.broken()):
		// Its record may be on the disk.
		m.doubt = append(m.doubt, ops)
		m.counts["commit in doubt"]++
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO) || wasBroken || len(m.doubt) > 0:
		m.counts["commit refused"]++ // it wrote nothing the log's reader reads
	default:
		m.t.Fatalf("commit failed without a fault: %v", err)
	}
}

// reopenAfter abandons the engine and opens the store from img, as a
// crash leaves it.
func (m *logMachine) reopenAfter(img []byte, why string) {
	m.e.abandon()
	m.e = nil
	m.mustOpen(img, why)
}

func (m *logMachine) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"txn": func(t *rapid.T) { m.commitSeq([]map[string]*string{genOps(t, 4)}) },
		"pipelined": func(t *rapid.T) {
			n := rapid.IntRange(2, 3).Draw(t, "depth")
			txns := make([]map[string]*string, n)
			for i := range txns {
				txns[i] = genOps(t, 3)
			}
			m.counts["pipelined"]++
			m.commitSeq(txns)
		},
		"checkpoint": func(t *rapid.T) {
			if err := m.e.Checkpoint(ctx); err != nil && !m.broken() {
				t.Fatalf("checkpoint: %v", err)
			}
			m.counts["checkpoint"]++
		},
		"reopen": func(t *rapid.T) {
			if err := m.e.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			var img []byte
			if m.file != nil {
				img = m.file.cached()
			}
			m.e = nil
			m.mustOpen(img, "clean reopen")
			m.counts["reopen"]++
		},
		"kill": func(t *rapid.T) {
			m.reopenAfter(m.file.cached(), "kill")
			m.counts["kill"]++
		},
		"cut": func(t *rapid.T) {
			m.cut(t)
		},
		"fault": func(t *rapid.T) {
			m.fault(t)
		},
		"read fault at open": func(t *rapid.T) {
			f, img, e, err := m.openFaulted(opRead, rapid.IntRange(1, 6).Draw(t, "read"), failIO)
			switch {
			case err == nil && len(f.fired) > 0:
				e.abandon()
				t.Fatalf("open succeeded through a read error (%v)", f.fired)
			case err == nil:
				m.e = e // the log was read before the fault's turn
				m.counts["read fault: not reached"]++
				m.settle("open past a read fault")
				return
			case !errors.Is(err, syscall.EIO) || errors.Is(err, kv.ErrCorrupt):
				t.Fatalf("open with a read error: %v", err)
			}
			if got := f.cached(); string(got) != string(img) {
				t.Fatal("a failed open changed the log")
			}
			m.counts["read fault: open failed"]++
			m.mustOpen(img, "open after a read error")
		},
		"flip": func(t *rapid.T) {
			m.flip(t)
		},
		"cut at open": func(t *rapid.T) {
			m.cutAtOpen(t)
		},
		"": func(t *rapid.T) {
			if m.broken() || len(m.doubt) > 0 {
				return
			}
			if got := m.read(); !maps.Equal(got, m.model) {
				t.Fatalf("store %s\nmodel %s", show(got), show(m.model))
			}
		},
	}
}

// cut schedules a power cut at a coming call of the log's file, commits
// until it comes, and opens the store from what the disk kept.
func (m *logMachine) cut(t *rapid.T) {
	kind := opKind(rapid.IntRange(0, int(opKinds)-1).Draw(t, "cut at"))
	action := rapid.SampledFrom([]faultAction{cutBefore, cutAfter}).Draw(t, "when")
	m.file.schedule(kind, rapid.IntRange(1, 8).Draw(t, "call"), action)
	for i := 0; i < 12 && !m.file.isDead(); i++ {
		if rapid.IntRange(0, 4).Draw(t, "pipelined?") == 0 {
			m.commitSeq([]map[string]*string{genOps(t, 3), genOps(t, 3)})
		} else {
			m.commitSeq([]map[string]*string{genOps(t, 4)})
		}
	}
	if !m.file.isDead() {
		if kind != opRead {
			m.file.clearFaults()
			return // the call did not come: no cut this time
		}
		m.file.clearFaults()
		m.file.cutNow() // reads come at Open: cut here instead
	}
	m.counts["cut"]++
	m.reopenAfter(m.file.image, "cut")
	m.counts["cut: reopened"]++
}

// openFaulted kills the engine and opens the store with its log as the
// kill left it, img, in a file f whose n-th next call of kind does
// action.
func (m *logMachine) openFaulted(kind opKind, n int, action faultAction) (f *faultFile, img []byte, e *Engine, err error) {
	m.e.abandon()
	m.e = nil
	img = m.file.cached()
	f = m.newFile(img)
	f.schedule(kind, n, action)
	m.file = f
	e, err = Open(m.path, kvtest.Keyspaces, kv.Options{}, m.cfg)
	return f, img, e, err
}

// cutAtOpen opens the store with a power cut at one of Open's own
// writes, syncs or truncations (a new log session's start), then opens
// it from what the disk kept.
func (m *logMachine) cutAtOpen(t *rapid.T) {
	kind := opKind(rapid.IntRange(int(opWrite), int(opTruncate)).Draw(t, "cut at"))
	f, _, e, err := m.openFaulted(kind, rapid.IntRange(1, 4).Draw(t, "call"), rapid.SampledFrom([]faultAction{cutBefore, cutAfter}).Draw(t, "when"))
	if err == nil && f.isDead() {
		// The cut came while the log's file grew: Open takes it for a
		// full disk and opens, its writes to retry the log's start.
		ready := e.log.ready
		e.abandon()
		if ready {
			t.Fatal("Open started the log through a power cut")
		}
		m.counts["cut at open: growing the log"]++
		m.mustOpen(f.image, "open after a cut as Open grew the log")
		return
	}
	if err == nil {
		f.clearFaults()
		m.e = e
		m.counts["cut at open: not reached"]++
		m.settle("open past a scheduled cut")
		return
	}
	if !f.isDead() || !errors.Is(err, errPowerCut) {
		t.Fatalf("open with a power cut scheduled at %v: %v", kind, err)
	}
	m.counts["cut at open"]++
	m.mustOpen(f.image, "open after a cut at open")
}

// fault schedules ENOSPC or EIO at a coming call of a write, sync or
// truncate, commits until it comes, and checks what the engine did.
func (m *logMachine) fault(t *rapid.T) {
	kind := opKind(rapid.IntRange(int(opWrite), int(opTruncate)).Draw(t, "fault at"))
	action := rapid.SampledFrom([]faultAction{failNoSpace, failIO}).Draw(t, "error")
	m.file.schedule(kind, rapid.IntRange(1, 6).Draw(t, "call"), action)
	for i := 0; i < 12 && len(m.file.fired) == 0; i++ {
		m.commitSeq([]map[string]*string{genOps(t, 4)})
	}
	m.file.clearFaults()
	if len(m.file.fired) == 0 {
		return
	}
	m.file.fired = nil
	if m.broken() {
		// Writes are refused until a reopen.
		if w, err := m.begin(genOps(t, 1)); err == nil {
			if err := w.Commit(); err == nil {
				t.Fatal("a write succeeded on a broken engine")
			}
		}
		m.counts["fault: "+action.String()+", engine refused writes"]++
		return
	}
	// The engine goes on: a write succeeds now.
	m.counts["fault: "+action.String()+", commit failed, engine usable"]++
	if len(m.doubt) == 0 {
		m.commitSeq([]map[string]*string{genOps(t, 2)})
		if len(m.doubt) > 0 || m.broken() {
			t.Fatal("a write failed after a fault that left the engine usable")
		}
	}
}

// flip kills the engine, flips one byte of what its log holds (in a
// region header, a record, or anywhere) and opens the store.
func (m *logMachine) flip(t *rapid.T) {
	if m.broken() || len(m.doubt) > 0 {
		m.reopenAfter(m.file.cached(), "kill before a flip") // settles what is in doubt
	}
	// Checkpoints leave few records the store file lacks further back
	// than the last window, the damage a reopen must refuse; half the
	// flips commit past the window first, so that case comes often.
	if rapid.Bool().Draw(t, "commit past the window first") {
		for range window + 1 {
			m.commitSeq([]map[string]*string{genOps(t, 1)})
		}
		if len(m.doubt) > 0 || m.broken() {
			t.Fatal("a commit failed with no fault scheduled")
		}
	}
	img := m.file.cached()
	st := m.e.state
	c := m.e.codec
	applied := m.e.Stats().Applied
	m.e.abandon()
	m.e = nil
	frames := recordsIn(img, c, st)
	var needed []located // the records the store file does not hold
	for _, fr := range frames {
		if fr.h.seq > applied {
			needed = append(needed, fr)
		}
	}
	var off int64
	switch where := rapid.IntRange(0, 3).Draw(t, "where"); {
	case where == 0 || len(frames) == 0:
		off = int64(rapid.SampledFrom([]int{0, int(st.regionSize)}).Draw(t, "header")) + int64(rapid.IntRange(0, regionHeaderLen-1).Draw(t, "byte"))
	case where == 1 || where == 2 && len(needed) == 0:
		fr := rapid.SampledFrom(frames).Draw(t, "record")
		off = fr.off + int64(rapid.IntRange(0, frameHeaderSize+fr.h.n-1).Draw(t, "byte"))
	case where == 2:
		fr := rapid.SampledFrom(needed).Draw(t, "needed record")
		off = fr.off + int64(rapid.IntRange(0, frameHeaderSize+fr.h.n-1).Draw(t, "byte"))
	default:
		off = int64(rapid.IntRange(0, max(len(img)-1, 0)).Draw(t, "offset"))
	}
	if off >= int64(len(img)) {
		m.mustOpen(img, "flip past the end")
		return
	}
	img[off] ^= byte(1 << rapid.IntRange(0, 7).Draw(t, "bit"))
	var hit *located
	var last uint64
	for i := range frames {
		last = max(last, frames[i].h.seq)
		if fr := frames[i]; off >= fr.off && off < fr.off+frameHeaderSize+int64(fr.h.n) {
			hit = &frames[i]
		}
	}
	e, err := m.open(img, m.cfg)
	var d *Damage
	switch {
	case err == nil:
		m.e = e
		got := m.read()
		if maps.Equal(got, m.model) {
			m.counts["flip: read exactly"]++
			m.settle("flip")
			return
		}
		// The one loss a flip can cause unseen: a record among the last
		// window, read as a torn tail.
		if hit != nil && hit.h.seq+window > last {
			if want := m.stateBefore(hit.h.seq); maps.Equal(got, want) {
				m.counts["flip: in the last window records, read as a torn tail"]++
				m.model, m.base, m.doubt, m.hist = want, maps.Clone(want), nil, nil
				return
			}
		}
		t.Fatalf("after a flip at %d (record %v, last %d) the store is neither the model nor allowed:\n got %s\nwant %s", off, hit, last, show(got), show(m.model))
	case errors.As(err, &d):
		m.counts["flip: refused"]++
	default:
		t.Fatalf("open after a flip at %d: %v", off, err)
	}
	// Refused: AcceptLoss opens it with the records up to Kept.
	cfg := m.cfg
	cfg.AcceptLoss = true
	e, err = m.open(img, cfg)
	if err != nil {
		t.Fatalf("AcceptLoss after %v: %v", d, err)
	}
	m.e = e
	rec := e.Recovery()
	if rec.Loss == nil || rec.Loss.Kept != d.Kept || rec.MovedLog == "" || m.moved == nil {
		t.Fatalf("AcceptLoss: recovery %+v after %v", rec, d)
	}
	want := m.stateBefore(d.Kept + 1)
	if got := m.read(); !maps.Equal(got, want) {
		t.Fatalf("AcceptLoss kept records to %d, yet the store is not the model as of then:\n got %s\nwant %s", d.Kept, show(got), show(want))
	}
	m.counts["flip: refused, AcceptLoss kept Damage.Kept"]++
	m.model, m.base, m.doubt, m.hist = want, maps.Clone(want), nil, nil
}

// stateBefore is the model as of the commits acknowledged before record
// seq, in this session (since the store was last opened).
func (m *logMachine) stateBefore(seq uint64) map[string]string {
	for i := len(m.hist) - 1; i >= 0; i-- {
		if m.hist[i].seq < seq {
			return maps.Clone(m.hist[i].after)
		}
	}
	return maps.Clone(m.base)
}

// recordsIn lists the records of session st.session in img.
func recordsIn(img []byte, c codec, st logState) []located {
	var out []located
	for off := int64(0); off+frameHeaderSize <= int64(len(img)); off += pageSize {
		if off%st.regionSize == 0 {
			continue
		}
		if h, ok := c.parseFrameHeader(img[off:]); ok && sessionOf(h.epoch) == st.session && off+frameHeaderSize+int64(h.n) <= int64(len(img)) {
			out = append(out, located{off, h})
		}
	}
	return out
}
