package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"time"

	"github.com/relgraph/relgraph/kv"
)

// The log file (relgraph.db-wal) is two regions of equal size, used in
// turn. Each region begins with a header page (its epoch, which grows by
// one at every switch, and the sequence number of its first record);
// records follow, each at a page boundary, so that writing one never
// rewrites a page that holds an acknowledged record (a torn write then
// damages only the record being written). The log writes into the
// active region until a record no longer fits; it then switches to the
// other region, once a checkpoint has put every record of that region
// into the store file, by writing the other region's header with the
// next epoch. Records of a region's earlier passes stay behind its tail
// and are told apart by their epoch.
//
// Reading it back: the regions' valid headers give their order; each
// region's records are read from its first page while they check out
// (magic, epoch, the next sequence number, CRC-32C). The first that does
// not is the end of the log, a torn tail, unless a valid record of the
// same epoch and a later sequence number follows it at a later page:
// then the log is damaged in the middle, which is reported, never
// skipped.

const (
	pageSize        = 4096
	frameHeaderSize = 32
	frameMagic      = 0x52474c46 // "RGLF"
	regionMagic     = 0x52474c48 // "RGLH"
	logVersion      = 1
	regionHeaderLen = 52
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	le         = binary.LittleEndian
)

// File is what the log is written through: the operating system's file,
// or, in tests, one that simulates power cuts. WriteAt and ReadAt are
// io.WriterAt and io.ReaderAt; Sync makes every byte written so far
// durable (fdatasync); Size is the file's length.
type File interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Size() (int64, error)
	Close() error
}

// region is what the log knows of one region.
type region struct {
	valid   bool   // its header checks out
	epoch   uint64 // which pass over the file wrote it
	baseSeq uint64 // the sequence number of its first record
	lastSeq uint64 // of its last record; baseSeq-1 when it has none
	end     int64  // the offset after its last record, within the region
}

// frame is one record read back: a batch of writes.
type frame struct {
	seq     uint64
	payload []byte
}

// logFile is the log: its file and its regions. It is not safe for
// concurrent use: the engine's writer lock guards it.
type logFile struct {
	f          File
	regionSize int64
	storeID    [16]byte
	regions    [2]region
	active     int
	allocated  int64 // bytes of the file written at least once
	noSync     bool
	syncs      *kv.Histogram // seconds each sync took
}

func (l *logFile) regionStart(i int) int64 { return int64(i) * l.regionSize }

// frameLen is the bytes a record with a payload of n bytes occupies.
func frameLen(n int) int64 {
	return (int64(frameHeaderSize+n) + pageSize - 1) / pageSize * pageSize
}

// maxPayload is the largest payload a region holds.
func (l *logFile) maxPayload() int { return int(l.regionSize - pageSize - frameHeaderSize) }

func encodeRegionHeader(storeID [16]byte, epoch, baseSeq uint64, regionSize int64) []byte {
	b := make([]byte, pageSize)
	le.PutUint32(b[0:], regionMagic)
	le.PutUint32(b[4:], logVersion)
	copy(b[8:24], storeID[:])
	le.PutUint64(b[24:], epoch)
	le.PutUint64(b[32:], baseSeq)
	le.PutUint64(b[40:], uint64(regionSize))
	le.PutUint32(b[48:], crc32.Checksum(b[:48], castagnoli))
	return b
}

// decodeRegionHeader checks a header page; ok is false for a header that
// was never written, was torn, or belongs to a log of another size.
func decodeRegionHeader(b []byte, regionSize int64) (storeID [16]byte, epoch, baseSeq uint64, ok bool) {
	if len(b) < regionHeaderLen || le.Uint32(b[0:]) != regionMagic || le.Uint32(b[4:]) != logVersion ||
		le.Uint32(b[48:]) != crc32.Checksum(b[:48], castagnoli) || int64(le.Uint64(b[40:])) != regionSize {
		return storeID, 0, 0, false
	}
	copy(storeID[:], b[8:24])
	return storeID, le.Uint64(b[24:]), le.Uint64(b[32:]), true
}

// newFrame starts a record whose payload will be n bytes: room for its
// header, then the payload appended after it (encodeWrites), and
// capacity to the page's end, so sealFrame pads it without copying.
func newFrame(n int) []byte {
	return make([]byte, frameHeaderSize, frameLen(n))
}

// sealFrame fills in the header of a record built on newFrame (the
// epoch, the sequence number, the payload's length and the CRC-32C of
// all of it) and pads it with zeros to the next page.
func sealFrame(b []byte, epoch, seq uint64) []byte {
	n := len(b) - frameHeaderSize
	payload := b[frameHeaderSize:]
	le.PutUint32(b[0:], frameMagic)
	le.PutUint64(b[4:], epoch)
	le.PutUint64(b[12:], seq)
	le.PutUint32(b[20:], uint32(n))
	crc := crc32.Checksum(b[:24], castagnoli)
	le.PutUint32(b[24:], crc32.Update(crc, castagnoli, payload))
	full := frameLen(n)
	if int64(cap(b)) < full {
		b = append(b, make([]byte, full-int64(len(b)))...)
	}
	b = b[:full]
	clear(b[frameHeaderSize+n:])
	return b
}

// readFrame reads the record at off of region r, if one checks out with
// the region's epoch and the sequence number want (0: any later than
// after).
func (l *logFile) readFrame(r *region, i int, off int64, want, after uint64) (frame, bool) {
	if off+frameHeaderSize > l.regionSize {
		return frame{}, false
	}
	h := make([]byte, frameHeaderSize)
	if n, _ := l.f.ReadAt(h, l.regionStart(i)+off); n < frameHeaderSize {
		return frame{}, false
	}
	seq, n := le.Uint64(h[12:]), int64(le.Uint32(h[20:]))
	if le.Uint32(h[0:]) != frameMagic || le.Uint64(h[4:]) != r.epoch || (want != 0 && seq != want) || (want == 0 && seq <= after) ||
		off+frameHeaderSize+n > l.regionSize {
		return frame{}, false
	}
	payload := make([]byte, n)
	if got, _ := l.f.ReadAt(payload, l.regionStart(i)+off+frameHeaderSize); int64(got) < n {
		return frame{}, false
	}
	crc := crc32.Checksum(h[:24], castagnoli)
	if crc32.Update(crc, castagnoli, payload) != le.Uint32(h[24:]) {
		return frame{}, false
	}
	return frame{seq: seq, payload: payload}, true
}

// errForeignLog says the log file is another store's.
var errForeignLog = errors.New("the log file belongs to another store")

// openLog reads the log in f: every record after seq applied, in order,
// and where the writer goes on. A damaged log (a bad record followed by
// good ones, records missing between the store file and the log, or a
// log of another store) is an error wrapping kv.ErrCorrupt.
func openLog(f File, regionSize int64, storeID [16]byte, applied uint64, noSync bool) (*logFile, []frame, error) {
	l := &logFile{f: f, regionSize: regionSize, storeID: storeID, noSync: noSync, syncs: kv.NewHistogram(kv.LatencyBounds()...)}
	size, err := f.Size()
	if err != nil {
		return nil, nil, err
	}
	l.allocated = size
	for i := range l.regions {
		h := make([]byte, regionHeaderLen)
		if n, _ := f.ReadAt(h, l.regionStart(i)); n < regionHeaderLen {
			continue
		}
		id, epoch, base, ok := decodeRegionHeader(h, regionSize)
		if !ok {
			continue
		}
		if id != storeID {
			return nil, nil, fmt.Errorf("%w: %w (its id %x, the store's %x)", kv.ErrCorrupt, errForeignLog, id, storeID)
		}
		l.regions[i] = region{valid: true, epoch: epoch, baseSeq: base, lastSeq: base - 1, end: pageSize}
	}
	order := []int{0, 1}
	sort.Slice(order, func(a, b int) bool { return l.regions[order[a]].epoch < l.regions[order[b]].epoch })
	var frames []frame
	next := uint64(0) // the sequence number the next record must have
	for _, i := range order {
		r := &l.regions[i]
		if !r.valid {
			continue
		}
		if next != 0 && r.baseSeq != next {
			// The region read before ended early: what is between is lost,
			// unless the store file holds it already.
			if r.baseSeq > next && r.baseSeq-1 > applied {
				return nil, nil, fmt.Errorf("%w: the log lacks records %d to %d (the store file holds records to %d)", kv.ErrCorrupt, next, r.baseSeq-1, applied)
			}
		}
		if err := l.readRegion(r, i, applied, &frames); err != nil {
			return nil, nil, err
		}
		next = r.lastSeq + 1
	}
	if !l.regions[0].valid && !l.regions[1].valid {
		if err := l.refuseStrayRecords(); err != nil {
			return nil, nil, err
		}
	}
	if len(frames) > 0 && frames[0].seq != applied+1 {
		return nil, nil, fmt.Errorf("%w: the log's records start at %d, the store file holds records to %d", kv.ErrCorrupt, frames[0].seq, applied)
	}
	l.active = order[1]
	if !l.regions[l.active].valid {
		l.active = order[0]
	}
	return l, frames, nil
}

// readRegion appends region r's records after applied to frames and
// sets r's last sequence number and end.
func (l *logFile) readRegion(r *region, i int, applied uint64, frames *[]frame) error {
	off := int64(pageSize)
	for {
		fr, ok := l.readFrame(r, i, off, r.lastSeq+1, 0)
		if !ok {
			break
		}
		if fr.seq > applied {
			*frames = append(*frames, fr)
		}
		r.lastSeq = fr.seq
		off += frameLen(len(fr.payload))
	}
	r.end = off
	// A torn tail ends the log. A good record further on means the bad
	// one is damage in the middle.
	for later := off + pageSize; later < l.regionSize; later += pageSize {
		if fr, ok := l.readFrame(r, i, later, 0, r.lastSeq); ok {
			return fmt.Errorf("%w: the log's record at offset %d does not check out, yet record %d follows at offset %d", kv.ErrCorrupt, l.regionStart(i)+off, fr.seq, l.regionStart(i)+later)
		}
	}
	return nil
}

// refuseStrayRecords refuses a log without a valid header that holds
// what looks like a record: its headers were damaged.
func (l *logFile) refuseStrayRecords() error {
	h := make([]byte, 4)
	for off := int64(0); off < l.allocated; off += pageSize {
		if n, _ := l.f.ReadAt(h, off); n == 4 && le.Uint32(h) == frameMagic {
			return fmt.Errorf("%w: the log's headers are damaged, yet it holds records (offset %d)", kv.ErrCorrupt, off)
		}
	}
	return nil
}

// restart starts the log afresh, when every record it holds is in the
// store file: the region with the older epoch (or no header) gets the
// next epoch and becomes active, its first record seq next.
func (l *logFile) restart(next uint64) error {
	i := 0
	if l.regions[0].valid && (!l.regions[1].valid || l.regions[1].epoch < l.regions[0].epoch) {
		i = 1
	}
	epoch := max(l.regions[0].epoch, l.regions[1].epoch) + 1
	if err := l.writeHeader(i, epoch, next); err != nil {
		return err
	}
	l.active = i
	return nil
}

func (l *logFile) writeHeader(i int, epoch, baseSeq uint64) error {
	if err := l.ensureAllocated(l.regionStart(i) + pageSize); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(encodeRegionHeader(l.storeID, epoch, baseSeq, l.regionSize), l.regionStart(i)); err != nil {
		return err
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.regions[i] = region{valid: true, epoch: epoch, baseSeq: baseSeq, lastSeq: baseSeq - 1, end: pageSize}
	return nil
}

func (l *logFile) sync() error {
	if l.noSync {
		return nil
	}
	defer l.syncs.ObserveSince(time.Now())
	if err := l.f.Sync(); err != nil {
		return &syncError{err}
	}
	return nil
}

// syncError is a failed sync of the log: what reached the disk is then
// unknown.
type syncError struct{ err error }

func (e *syncError) Error() string { return "log sync: " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// allocChunk is how much the file grows at a time while the log makes
// its first pass: written as zeros and synced once, so that the records'
// own syncs write data only, never the file's size.
const allocChunk = 4 << 20

// ensureAllocated grows the file, in zeros, to at least n bytes.
func (l *logFile) ensureAllocated(n int64) error {
	if n <= l.allocated {
		return nil
	}
	end := min((n+allocChunk-1)/allocChunk*allocChunk, 2*l.regionSize)
	zeros := make([]byte, 1<<20)
	for off := l.allocated; off < end; off += int64(len(zeros)) {
		chunk := zeros[:min(int64(len(zeros)), end-off)]
		if _, err := l.f.WriteAt(chunk, off); err != nil {
			return err
		}
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.allocated = end
	return nil
}

// fits reports whether a record of n payload bytes fits in the active
// region.
func (l *logFile) fits(n int) bool {
	r := &l.regions[l.active]
	return r.end+frameLen(n) <= l.regionSize
}

// otherFree reports whether the other region can be reused: the store
// file holds every record it has.
func (l *logFile) otherFree(applied uint64) bool {
	o := &l.regions[1-l.active]
	return !o.valid || o.lastSeq <= applied
}

// switchRegion makes the other region active, its first record seq.
func (l *logFile) switchRegion(seq uint64) error {
	next := 1 - l.active
	if err := l.writeHeader(next, l.regions[l.active].epoch+1, seq); err != nil {
		return err
	}
	l.active = next
	return nil
}

// write writes a record to the active region, which it must fit; sync
// makes it durable. A failed write leaves the tail where it was: the
// next record overwrites what it may have left.
func (l *logFile) write(seq uint64, frame []byte) error {
	r := &l.regions[l.active]
	b := sealFrame(frame, r.epoch, seq)
	off := l.regionStart(l.active) + r.end
	if err := l.ensureAllocated(off + int64(len(b))); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(b, off); err != nil {
		return err
	}
	r.end += int64(len(b))
	r.lastSeq = seq
	return nil
}

// Operations in a record's payload.
const (
	opPut    = 1
	opDelete = 2
)

// writesSize is the bytes encodeWrites appends for writes.
func writesSize(writes []entry) int {
	n := 0
	for _, e := range writes {
		ks, key, _ := cutKey(e.key)
		n += 2 + len(ks) + uvarintLen(len(key)) + len(key)
		if !e.deleted {
			n += uvarintLen(len(e.val)) + len(e.val)
		}
	}
	return n
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// encodeWrites lays out a batch of writes: for each, the operation, the
// keyspace (a byte of length, then its name), the key and, for a put,
// the value (each a uvarint length, then the bytes).
func encodeWrites(b []byte, writes []entry) []byte {
	for _, e := range writes {
		ks, key, _ := cutKey(e.key)
		op := byte(opPut)
		if e.deleted {
			op = opDelete
		}
		b = append(b, op, byte(len(ks)))
		b = append(b, ks...)
		b = binary.AppendUvarint(b, uint64(len(key)))
		b = append(b, key...)
		if !e.deleted {
			b = binary.AppendUvarint(b, uint64(len(e.val)))
			b = append(b, e.val...)
		}
	}
	return b
}

// decodeWrites reads what encodeWrites wrote; a record whose CRC checked
// out but does not parse is damage.
func decodeWrites(p []byte, seq uint64) ([]entry, error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: log record %d: %s", kv.ErrCorrupt, seq, what)
	}
	var out []entry
	for len(p) > 0 {
		if len(p) < 2 {
			return nil, bad("truncated operation")
		}
		op, n := p[0], int(p[1])
		p = p[2:]
		if (op != opPut && op != opDelete) || n == 0 || len(p) < n || bytes.IndexByte(p[:n], 0) >= 0 {
			return nil, bad("bad operation")
		}
		ks := string(p[:n])
		p = p[n:]
		key, rest, ok := cutBytes(p)
		if !ok {
			return nil, bad("bad key")
		}
		p = rest
		e := entry{key: ks + "\x00" + string(key), seq: seq, deleted: op == opDelete}
		if op == opPut {
			val, rest, ok := cutBytes(p)
			if !ok {
				return nil, bad("bad value")
			}
			e.val, p = append([]byte{}, val...), rest
		}
		out = append(out, e)
	}
	return out, nil
}

func cutBytes(p []byte) (b, rest []byte, ok bool) {
	n, w := binary.Uvarint(p)
	if w <= 0 || uint64(len(p)-w) < n {
		return nil, nil, false
	}
	return p[w : w+int(n)], p[w+int(n):], true
}

// cutKey splits an overlay key into its keyspace and key.
func cutKey(k string) (ks, key string, ok bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:], true
		}
	}
	return "", "", false
}
