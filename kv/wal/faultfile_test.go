package wal

import (
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"syscall"
)

// faultFile is a log file in memory that behaves as a disk under a page
// cache. Writes and length changes land in the cache, which reads
// return; Sync makes the cache durable. A power cut keeps, of every page
// written since the last sync, any version the page had since (or the
// one on disk), chosen page by page, so writeback in any subset and
// order, and sometimes torn (a prefix of its sectors written, the rest
// garbage); and any length the file had since the sync. Faults are
// scheduled by call: the n-th call of a kind fails with ENOSPC or EIO,
// or the power goes before or after it takes effect. After a cut every
// call fails.
type faultFile struct {
	mu       sync.Mutex
	disk     []byte             // what is durable; its length is the file's
	cache    []byte             // what reads see
	versions map[int64][][]byte // page → its contents after each write since the last sync
	sizes    []int64            // the lengths the file had since the last sync
	calls    [opKinds]int       // calls made, per kind
	faults   []scheduledFault
	dead     bool
	image    []byte // the disk as the cut left it
	rng      *rand.Rand
	fired    []string // what faults fired, for the test's counts
	capacity int64    // the most bytes the file can hold (a full disk); 0: no limit
}

// full reports whether growing the file to end is past its capacity.
func (f *faultFile) full(end int64) bool {
	return f.capacity > 0 && end > f.capacity && end > int64(len(f.cache))
}

type opKind int

const (
	opRead opKind = iota
	opWrite
	opSync
	opTruncate
	opKinds
)

func (k opKind) String() string { return [...]string{"read", "write", "sync", "truncate"}[k] }

type faultAction int

const (
	failNoSpace faultAction = iota // ENOSPC, no effect
	failIO                         // EIO: a write may have reached the cache in part; a sync left the disk in any state
	cutBefore                      // the power goes before the call takes effect
	cutAfter                       // it goes once the call took effect
)

func (a faultAction) String() string {
	return [...]string{"ENOSPC", "EIO", "cut before", "cut after"}[a]
}

// scheduledFault fires at the call of kind whose number (counting from
// 1) is at.
type scheduledFault struct {
	kind   opKind
	at     int
	action faultAction
}

var errPowerCut = errors.New("power cut")

func newFaultFile(disk []byte, seed uint64) *faultFile {
	return &faultFile{disk: append([]byte{}, disk...), cache: append([]byte{}, disk...), versions: map[int64][][]byte{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// schedule makes the n-th next call of kind (n ≥ 1) do action.
func (f *faultFile) schedule(kind opKind, n int, action faultAction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, scheduledFault{kind, f.calls[kind] + n, action})
}

// clearFaults drops faults not yet fired.
func (f *faultFile) clearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// call counts a call of kind and returns the fault it meets, if any.
func (f *faultFile) call(kind opKind) (faultAction, bool) {
	f.calls[kind]++
	for i, sf := range f.faults {
		if sf.kind == kind && sf.at == f.calls[kind] {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			f.fired = append(f.fired, kind.String()+": "+sf.action.String())
			return sf.action, true
		}
	}
	return 0, false
}

// cutNow cuts the power: the disk becomes what a cut can leave.
func (f *faultFile) cutNow() {
	f.image = f.writeback(true)
	f.dead = true
}

// writeback is the disk after the cache is written back in part: each
// page written since the last sync at any of its versions (or not at
// all), some torn when tear; the length any the file had since.
func (f *faultFile) writeback(tear bool) []byte {
	lengths := append([]int64{int64(len(f.disk))}, f.sizes...)
	size := lengths[f.rng.IntN(len(lengths))]
	img := make([]byte, size)
	copy(img, f.disk)
	pages := make([]int64, 0, len(f.versions))
	for p := range f.versions {
		pages = append(pages, p)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	for _, p := range pages {
		vs := f.versions[p]
		choice := f.rng.IntN(len(vs) + 1)
		if choice == 0 {
			continue // never written back
		}
		page := append([]byte{}, vs[choice-1]...)
		if tear && f.rng.IntN(4) == 0 {
			// Torn: a prefix of its sectors reached the disk, the rest is
			// garbage.
			at := f.rng.IntN(pageSize/512) * 512
			for i := at; i < len(page); i++ {
				page[i] = 0xa5
			}
		}
		off := p * pageSize
		if off < size {
			copy(img[off:], page[:min(int64(len(page)), size-off)])
		}
	}
	return img
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, errPowerCut
	}
	if action, ok := f.call(opRead); ok {
		switch action {
		case cutBefore, cutAfter:
			f.cutNow()
			return 0, errPowerCut
		case failIO:
			return 0, syscall.EIO
		}
	}
	if off >= int64(len(f.cache)) {
		return 0, io.EOF
	}
	n := copy(p, f.cache[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, errPowerCut
	}
	action, ok := f.call(opWrite)
	switch {
	case ok && action == cutBefore:
		f.cutNow()
		return 0, errPowerCut
	case ok && action == failNoSpace:
		return 0, syscall.ENOSPC
	case f.full(off + int64(len(p))):
		return 0, syscall.ENOSPC
	case ok && action == failIO:
		// Some of its pages may have reached the cache.
		n := f.rng.IntN(len(p)/pageSize+1) * pageSize
		f.write(p[:min(n, len(p))], off)
		return 0, syscall.EIO
	}
	f.write(p, off)
	if ok && action == cutAfter {
		f.cutNow()
		return 0, errPowerCut
	}
	return len(p), nil
}

// write puts p at off into the cache and notes each page's new version.
func (f *faultFile) write(p []byte, off int64) {
	if len(p) == 0 {
		return
	}
	if end := off + int64(len(p)); end > int64(len(f.cache)) {
		f.cache = append(f.cache, make([]byte, end-int64(len(f.cache)))...)
		f.sizes = append(f.sizes, end)
	}
	copy(f.cache[off:], p)
	for pg := off / pageSize; pg*pageSize < off+int64(len(p)); pg++ {
		end := min((pg+1)*pageSize, int64(len(f.cache)))
		f.versions[pg] = append(f.versions[pg], append([]byte{}, f.cache[pg*pageSize:end]...))
	}
}

func (f *faultFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errPowerCut
	}
	action, ok := f.call(opSync)
	switch {
	case ok && action == cutBefore:
		f.cutNow()
		return errPowerCut
	case ok && action == failIO:
		// What reached the disk is unknown; the cache calls its pages
		// clean, so a later sync does not write them again (as Linux
		// does after a failed writeback).
		f.disk = f.writeback(true)
		f.versions, f.sizes = map[int64][][]byte{}, nil
		return syscall.EIO
	case ok && action == failNoSpace:
		return syscall.ENOSPC
	}
	f.disk = append(f.disk[:0], f.cache...)
	f.versions, f.sizes = map[int64][][]byte{}, nil
	if ok && action == cutAfter {
		f.cutNow()
		return errPowerCut
	}
	return nil
}

func (f *faultFile) Truncate(size int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errPowerCut
	}
	action, ok := f.call(opTruncate)
	switch {
	case ok && action == cutBefore:
		f.cutNow()
		return errPowerCut
	case ok && action == failNoSpace:
		return syscall.ENOSPC
	case ok && action == failIO:
		return syscall.EIO
	case f.full(size):
		return syscall.ENOSPC
	}
	if size < int64(len(f.cache)) {
		f.cache = f.cache[:size]
	} else {
		f.cache = append(f.cache, make([]byte, size-int64(len(f.cache)))...)
	}
	f.sizes = append(f.sizes, size)
	if ok && action == cutAfter {
		f.cutNow()
		return errPowerCut
	}
	return nil
}

func (f *faultFile) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, errPowerCut
	}
	return int64(len(f.cache)), nil
}

func (f *faultFile) Close() error { return nil }

// cached is what a process that opens the file after a kill reads: the
// cache (the operating system outlived the process).
func (f *faultFile) cached() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte{}, f.cache...)
}

// isDead reports whether the power was cut.
func (f *faultFile) isDead() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dead
}
