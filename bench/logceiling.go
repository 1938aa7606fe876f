package bench

import (
	"os"
	"sync"
	"syscall"
)

// LogCeiling is a bare group-commit log: writers append records to one
// buffer, and one flusher writes what has gathered and fdatasyncs it,
// then answers every writer whose record it held. No store, no index,
// no checkpoint: the rate it takes is the most any store durable
// through a log on this disk can reach, the row relgraph's overwrite
// rows are divided by. Its file is preallocated (zeros, synced), so a
// sync writes data, not file metadata, as relgraph's log does.
type LogCeiling struct {
	f       *os.File
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte // records not yet taken by the flusher
	gen     uint64 // the batch the next record joins
	flushed uint64 // the last batch synced
	off     int64
	size    int64
	err     error
	closed  bool
	done    chan struct{}
}

// OpenLogCeiling creates the log at path with size bytes preallocated.
func OpenLogCeiling(path string, size int64) (*LogCeiling, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros, off); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	l := &LogCeiling{f: f, size: size, gen: 1, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	go l.flusher()
	return l, nil
}

// Append writes rec and returns once it is synced.
func (l *LogCeiling) Append(rec []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, rec...)
	mine := l.gen
	l.cond.Broadcast() // the flusher may be waiting for a record
	for l.flushed < mine && l.err == nil {
		l.cond.Wait()
	}
	return l.err
}

func (l *LogCeiling) flusher() {
	defer close(l.done)
	var batch []byte
	for {
		l.mu.Lock()
		for len(l.buf) == 0 && !l.closed {
			l.cond.Wait()
		}
		if l.closed && len(l.buf) == 0 {
			l.mu.Unlock()
			return
		}
		batch, l.buf = l.buf, batch[:0]
		gen := l.gen
		l.gen++
		l.mu.Unlock()
		if l.off+int64(len(batch)) > l.size {
			l.off = 0 // wrap: the file is a ring
		}
		_, err := l.f.WriteAt(batch, l.off)
		if err == nil {
			err = syscall.Fdatasync(int(l.f.Fd()))
		}
		l.off += int64(len(batch))
		l.mu.Lock()
		l.flushed = gen
		if err != nil && l.err == nil {
			l.err = err
		}
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// Close stops the flusher and closes the file.
func (l *LogCeiling) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	return l.f.Close()
}
