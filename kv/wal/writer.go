package wal

import (
	"time"

	"github.com/relgraph/relgraph/histogram"
)

// logWriter writes the log: records at the active region's tail, region
// headers, and the file's growth. It is not safe for concurrent use:
// the engine's writer lock guards it (and its sync lock, sync).
//
// The file grows ahead of the records, in steps: its length is set
// first (Truncate), then the new space is written with zeros and synced,
// so that a record's own sync writes data only, and so that the length
// a crash can leave is always one the reader expects (0, a multiple of
// the step, or twice the region size). It always has at least one page
// allocated past the last record (or past a region's header), which is
// how a reader tells a log cut short from one that ended.
//
// Errors say what the engine may do next: an allocError (the file could
// not grow: disk full) changed nothing the reader looks at, so the
// commit fails and later ones may succeed; a failed write or sync
// (writeError, syncError) leaves unknown what reached the disk, so the
// engine refuses writes until it is reopened.
type logWriter struct {
	f          File
	codec      codec
	regionSize int64
	allocStep  int64
	noSync     bool
	syncs      *histogram.Histogram // seconds each sync took

	allocated int64  // the file's length, as the writer made it
	ready     bool   // the session's header is written: records may follow
	active    int    // the region records go to
	epoch     uint64 // its epoch
	end       int64  // the offset after its last record, within it
}

// allocError is a failure to grow the log's file: nothing the reader
// reads changed.
type allocError struct{ err error }

func (e *allocError) Error() string { return "grow the log: " + e.err.Error() }
func (e *allocError) Unwrap() error { return e.err }

// writeError is a failed write of a record or a region header.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write the log: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// syncError is a failed sync of the log: what reached the disk is then
// unknown.
type syncError struct{ err error }

func (e *syncError) Error() string { return "log sync: " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

func (l *logWriter) regionStart(i int) int64 { return int64(i) * l.regionSize }

// maxPayload is the largest payload a region holds.
func (l *logWriter) maxPayload() int { return int(l.regionSize - pageSize - frameHeaderSize) }

func (l *logWriter) sync() error {
	if l.noSync {
		return nil
	}
	defer l.syncs.ObserveSince(time.Now())
	if err := l.f.Sync(); err != nil {
		return &syncError{err}
	}
	return nil
}

// reserve makes the file at least n bytes long (at most twice the
// region size), in zeros, synced. On failure it gives back what the
// attempt took.
func (l *logWriter) reserve(n int64) error {
	limit := 2 * l.regionSize
	n = min(n, limit)
	if n <= l.allocated {
		return nil
	}
	end := min((n+l.allocStep-1)/l.allocStep*l.allocStep, limit)
	err := l.f.Truncate(end)
	if err == nil {
		zeros := make([]byte, min(1<<20, end-l.allocated))
		for off := l.allocated; off < end && err == nil; off += int64(len(zeros)) {
			_, err = l.f.WriteAt(zeros[:min(int64(len(zeros)), end-off)], off)
		}
	}
	if err != nil {
		l.f.Truncate(l.allocated) // the length stays one the reader expects either way
		return &allocError{err}
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.allocated = end
	return nil
}

// start begins session session in region 0, its first record base.
// Every record the file holds must be in the store file: the file is
// cut back first (to nothing when fresh, for a new geometry; else to
// one step, giving back the disk a long session took).
func (l *logWriter) start(session, base uint64, fresh bool) error {
	l.ready = false
	keep := l.allocStep
	if fresh {
		keep = 0
	}
	if l.allocated > keep || fresh {
		if err := l.f.Truncate(keep); err != nil {
			if fresh {
				return &allocError{err}
			}
		} else {
			l.allocated = keep
		}
	}
	return l.writeHeader(0, epochOf(session, 0), base)
}

// prepareSwitch allocates the other region's header and a page after
// it, before the store file records the switch.
func (l *logWriter) prepareSwitch() error {
	return l.reserve(l.regionStart(1-l.active) + 2*pageSize)
}

// switchRegion makes the other region active in pass pass of session
// session, its first record base.
func (l *logWriter) switchRegion(session, pass, base uint64) error {
	return l.writeHeader(1-l.active, epochOf(session, pass), base)
}

func (l *logWriter) writeHeader(i int, epoch, base uint64) error {
	if err := l.reserve(l.regionStart(i) + 2*pageSize); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(l.codec.encodeRegionHeader(epoch, base, l.regionSize), l.regionStart(i)); err != nil {
		return &writeError{err}
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.active, l.epoch, l.end, l.ready = i, epoch, pageSize, true
	return nil
}

// fits reports whether a record of n payload bytes fits in the active
// region.
func (l *logWriter) fits(n int) bool {
	return l.end+frameLen(n) <= l.regionSize
}

// reserveRecord allocates room for a record of n payload bytes at the
// tail, and a page after it.
func (l *logWriter) reserveRecord(n int) error {
	return l.reserve(l.regionStart(l.active) + l.end + frameLen(n) + pageSize)
}

// write writes record seq (built on newFrame) at the tail, which
// reserveRecord made room for; sync makes it durable.
func (l *logWriter) write(seq uint64, frame []byte) error {
	b := l.codec.sealFrame(frame, l.epoch, seq)
	if _, err := l.f.WriteAt(b, l.regionStart(l.active)+l.end); err != nil {
		return &writeError{err}
	}
	l.end += int64(len(b))
	return nil
}
