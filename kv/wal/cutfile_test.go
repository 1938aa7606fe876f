package wal

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// cutFile is a log file in memory that keeps what was synced apart from
// what was only written, as a disk does, so a test can cut the power:
// after a cut every call fails, and the disk holds what was synced plus,
// by the cut's kind, nothing more, everything, or everything but the
// last page written, of which only a prefix got there: the rest of that
// page, including bytes the write did not change, is garbage, as on a
// disk whose torn writes do not keep a page's other bytes.
type cutFile struct {
	mu      sync.Mutex
	synced  []byte
	cur     []byte
	pending []pendingWrite
	dead    bool
	armed   bool    // the next Sync cuts the power instead
	mode    cutMode // how the armed cut leaves the disk
	tearAt  int     // for cutTear: the bytes of the last page that got there
	disk    []byte  // the disk after the cut
}

type pendingWrite struct {
	off  int64
	data []byte
}

type cutMode int

const (
	cutDrop cutMode = iota // unsynced writes are lost
	cutKeep                // unsynced writes all reached the disk (a kill)
	cutTear                // they did, but for a prefix of the last page
)

var errPowerCut = errors.New("power cut")

func newCutFile(disk []byte) *cutFile {
	return &cutFile{synced: append([]byte{}, disk...), cur: append([]byte{}, disk...)}
}

func (f *cutFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, errPowerCut
	}
	if off >= int64(len(f.cur)) {
		return 0, io.EOF
	}
	n := copy(p, f.cur[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *cutFile) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, errPowerCut
	}
	f.cur = writeAt(f.cur, p, off)
	f.pending = append(f.pending, pendingWrite{off, append([]byte{}, p...)})
	return len(p), nil
}

func writeAt(b, p []byte, off int64) []byte {
	if end := off + int64(len(p)); end > int64(len(b)) {
		b = append(b, make([]byte, end-int64(len(b)))...)
	}
	copy(b[off:], p)
	return b
}

func (f *cutFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errPowerCut
	}
	if f.armed {
		f.cutLocked()
		return errPowerCut
	}
	f.synced = append(f.synced[:0], f.cur...)
	f.pending = nil
	return nil
}

func (f *cutFile) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.cur)), nil
}

func (f *cutFile) Close() error { return nil }

// arm makes the next Sync cut the power, leaving the disk by mode (and,
// for cutTear, tearAt bytes of the last page, 1 to 4095).
func (f *cutFile) arm(mode cutMode, tearAt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.mode, f.tearAt = true, mode, tearAt
}

// cutLocked cuts the power now.
func (f *cutFile) cutLocked() {
	disk := append([]byte{}, f.synced...)
	switch f.mode {
	case cutKeep:
		disk = append(disk[:0], f.cur...)
	case cutTear:
		for i, w := range f.pending {
			if i < len(f.pending)-1 {
				disk = writeAt(disk, w.data, w.off)
				continue
			}
			end := w.off + int64(len(w.data))
			page := (end - 1) / pageSize * pageSize // the last page the write touches
			disk = writeAt(disk, w.data[:max(page-w.off, 0)], w.off)
			garbage := bytes.Repeat([]byte{0xa5}, pageSize)
			disk = writeAt(disk, garbage, page)
			from := max(page, w.off)
			kept := w.data[from-w.off : min(int64(len(w.data)), from-w.off+int64(f.tearAt))]
			disk = writeAt(disk, kept, from)
		}
	}
	f.dead, f.disk = true, disk
}
