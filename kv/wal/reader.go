package wal

import (
	"errors"
	"fmt"

	"github.com/relgraph/relgraph/kv"
)

// Reading the log back, at Open. The store file says which records the
// log must hold (state.go): those after applied, of its session, while
// the log is live. The reader finds every record of that session by
// scanning the file's pages (a record's hCRC, seeded with the store's
// id, says it is one), then follows them in order from applied+1 while
// each checks out whole. Where the order stops, the log ends: a crash
// leaves at most the last window records unsynced, so the writes a
// crash can have torn, reordered or lost are those. Anything else is
// damage no crash makes, and is refused (Damage), never read as an end:
//
//   - a record of the session further on than the window allows: the
//     records before it were synced, so the gap is damage;
//   - a live log that is missing, whose length is not one its writer
//     gives it (0, a multiple of its step, or twice its region size), or
//     that ends before the region of its pass, inside a record, or less
//     than a page after its last record (the writer always has a page
//     allocated ahead): it was cut short;
//   - records of a later session than the store file's: the store file
//     is an older copy;
//   - records past applied in a log the store file says is not live;
//   - a record that claims bytes past its region's end, or two records
//     of the session with one sequence number (each is written once);
//   - a region header of another store: the log is another store's
//     (refused whatever the options: it may hold that store's writes).
//
// A read error is an error, never an end of the log. The region headers
// are not needed to read the records: a damaged header loses nothing.

// Damage is the error of a log that no crash leaves: the writes it
// held past Kept cannot all be read back. It wraps kv.ErrCorrupt. Open
// refuses such a log unless Config.AcceptLoss is set; then it keeps the
// records up to Kept and drops the rest (Recovery says so).
type Damage struct {
	Problem string // what was found
	Kept    uint64 // the last record that checks out, in order, from the store file's last one
	Through uint64 // the last record the log shows beyond it; 0 if unknown
}

// Error says what was found, what would be lost and how to recover.
func (d *Damage) Error() string {
	return fmt.Sprintf("the log is damaged beyond what a crash leaves: %s; %s would be lost (relgraph recover -accept-loss, or wal.Config.AcceptLoss, opens the store with the records up to %d and drops the rest)",
		d.Problem, d.Lost(), d.Kept)
}

// Lost says which records the damage costs.
func (d *Damage) Lost() string {
	if d.Through > d.Kept {
		return fmt.Sprintf("records %d to %d", d.Kept+1, d.Through)
	}
	return fmt.Sprintf("any record after %d (how many there were is unknown)", d.Kept)
}

// Unwrap makes a Damage an error wrapping kv.ErrCorrupt.
func (d *Damage) Unwrap() error { return kv.ErrCorrupt }

// errForeignLog says the log file is another store's.
var errForeignLog = errors.New("the log file belongs to another store")

// frame is one record read back: a batch of writes.
type frame struct {
	seq     uint64
	payload []byte
}

// logRead is what reading a log found.
type logRead struct {
	frames []frame // the records after applied that check out, in order
	damage *Damage // nil for a log a crash can leave
}

// last is the last record the read found in order.
func (r logRead) last(applied uint64) uint64 {
	if len(r.frames) == 0 {
		return applied
	}
	return r.frames[len(r.frames)-1].seq
}

// located is a record header found in the file.
type located struct {
	off int64
	h   frameHeader
}

// readLog reads the log in f (nil: there is no log file) by what the
// store file st says of it.
func readLog(f File, st storeState) (logRead, error) {
	ls := st.log
	if f == nil {
		if ls.live {
			return logRead{damage: &Damage{Problem: "the log file is missing, yet the store file says it holds records", Kept: st.applied}}, nil
		}
		return logRead{}, nil
	}
	size, err := f.Size()
	if err != nil {
		return logRead{}, fmt.Errorf("the log's size: %w", err)
	}
	c := newCodec(st.id)
	R := ls.regionSize
	for _, start := range []int64{0, R} {
		if start+regionHeaderLen > size {
			continue
		}
		b := make([]byte, regionHeaderLen)
		if err := readFull(f, b, start); err != nil {
			return logRead{}, err
		}
		if h, ok := decodeRegionHeader(b); ok && h.id != st.id {
			return logRead{}, fmt.Errorf("%w: %w (its id %x, the store's %x)", kv.ErrCorrupt, errForeignLog, h.id, st.id)
		}
	}

	// Every record header of this store in the file.
	found := map[uint64]located{}
	var maxSeq, newerSession, newerSeq uint64
	var damage *Damage
	note := func(d *Damage) {
		if damage == nil {
			damage = d
		}
	}
	err = scanPages(f, size, func(off int64, page []byte) {
		if off%R == 0 {
			return // a region header
		}
		h, ok := c.parseFrameHeader(page)
		if !ok {
			return
		}
		if s := sessionOf(h.epoch); s != ls.session {
			if s > ls.session {
				newerSession, newerSeq = max(newerSession, s), max(newerSeq, h.seq)
			}
			return
		}
		end := off + frameHeaderSize + int64(h.n)
		switch regionEnd := (off/R + 1) * R; {
		case end > regionEnd:
			note(&Damage{Problem: fmt.Sprintf("record %d at offset %d claims %d bytes, past its region's end", h.seq, off, h.n)})
		case end > size:
			note(&Damage{Problem: fmt.Sprintf("record %d at offset %d runs past the log's end (%d bytes): the log was cut short", h.seq, off, size)})
		}
		if prev, dup := found[h.seq]; dup {
			note(&Damage{Problem: fmt.Sprintf("two records are numbered %d (at offsets %d and %d)", h.seq, prev.off, off)})
		}
		found[h.seq] = located{off, h}
		maxSeq = max(maxSeq, h.seq)
	})
	if err != nil {
		return logRead{}, err
	}

	// The records after applied, in order, while each checks out whole.
	var r logRead
	for seq := st.applied + 1; ; seq++ {
		loc, ok := found[seq]
		if !ok || loc.off+frameHeaderSize+int64(loc.h.n) > size {
			break
		}
		b := make([]byte, frameHeaderSize+loc.h.n)
		if err := readFull(f, b, loc.off); err != nil {
			return logRead{}, err
		}
		if !c.payloadOK(b, b[frameHeaderSize:]) {
			break
		}
		r.frames = append(r.frames, frame{seq: seq, payload: b[frameHeaderSize:]})
	}
	last := r.last(st.applied)

	switch {
	case newerSession > 0:
		note(&Damage{Problem: fmt.Sprintf("the log holds records of session %d, later than the store file's session %d: the store file is an older copy of this store (a backup put back beside its log?)", newerSession, ls.session),
			Through: newerSeq})
	case !ls.live && maxSeq > st.applied:
		note(&Damage{Problem: fmt.Sprintf("the store file says its log holds nothing past record %d, yet the log holds record %d", st.applied, maxSeq)})
	}
	if ls.live {
		regionOfPass := int64(ls.pass%2) * R
		switch {
		case !(size == 2*R || size > 0 && size%ls.allocStep == 0):
			note(&Damage{Problem: fmt.Sprintf("the log is %d bytes long, and it only ever grows in steps of %d bytes (up to %d): it was cut short or changed by something else", size, ls.allocStep, 2*R)})
		case size < min(regionOfPass+2*pageSize, 2*R):
			note(&Damage{Problem: fmt.Sprintf("the log ends at byte %d, before the region of its pass %d (at byte %d): it was cut short", size, ls.pass, regionOfPass)})
		case maxSeq > last+ls.window:
			note(&Damage{Problem: fmt.Sprintf("record %d is missing or damaged, yet record %d follows (more than %d records on: the records before it were synced)", last+1, maxSeq, ls.window)})
		case last > st.applied:
			loc := found[last]
			if need := min(loc.off+frameLen(loc.h.n)+pageSize, 2*R); size < need {
				note(&Damage{Problem: fmt.Sprintf("the log ends %d bytes after record %d, where its writer always has a page to spare: it was cut short", size-(loc.off+frameLen(loc.h.n)), last)})
			}
		}
	}
	if damage != nil {
		damage.Kept = last
		damage.Through = max(damage.Through, maxSeq)
		r.damage = damage
	}
	return r, nil
}

// scanChunk is how much of the log a scan reads at a time.
const scanChunk = 1 << 20

// scanPages calls fn with each page of the file's first size bytes (the
// last one possibly short), in order.
func scanPages(f File, size int64, fn func(off int64, page []byte)) error {
	buf := make([]byte, scanChunk)
	for off := int64(0); off < size; off += scanChunk {
		b := buf[:min(scanChunk, size-off)]
		if err := readFull(f, b, off); err != nil {
			return err
		}
		for p := 0; p < len(b); p += pageSize {
			fn(off+int64(p), b[p:min(p+pageSize, len(b))])
		}
	}
	return nil
}

// readFull reads len(b) bytes at off: a short read (the file changed
// under the reader) and a failed one are errors, never an end.
func readFull(f File, b []byte, off int64) error {
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil {
		err = errors.New("short read")
	}
	return fmt.Errorf("read the log at offset %d: %w", off, err)
}
