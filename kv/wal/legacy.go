package wal

import (
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/relgraph/relgraph/kv"
)

// A store file written before log sessions has an id and an applied
// record but no log key, and its log, if a crash left one, is version 1:
// region headers give the regions' order (their epochs grow by one at
// every switch), records carry unseeded CRCs and no hCRC. It is read by
// those rules, once: the next writable Open checkpoints what it holds
// and starts a session. Its writer left up to legacyWindow records
// unsynced (its group commit's pipeline), so a bad record followed by a
// good one within that many is a torn tail.
const legacyWindow = 3

// legacyRegion is one region of a version 1 log.
type legacyRegion struct {
	epoch, baseSeq, lastSeq uint64
	start                   int64
}

// readLegacyLog reads a version 1 log: the records after applied, in
// order. A foreign log, records missing between the store file and the
// log, and damage followed by good records are Damage.
func readLegacyLog(f File, st storeState, regionSize int64) (logRead, error) {
	if f == nil {
		return logRead{}, nil // before sessions, a clean close removed the log
	}
	size, err := f.Size()
	if err != nil {
		return logRead{}, fmt.Errorf("the log's size: %w", err)
	}
	// The region size is the log's own, if its first header says it.
	b := make([]byte, regionHeaderLen)
	if size >= regionHeaderLen {
		if err := readFull(f, b, 0); err != nil {
			return logRead{}, err
		}
		if h, ok := decodeRegionHeader(b); ok && h.version == 1 && h.regionSize >= 4*pageSize {
			regionSize = h.regionSize
		}
	}
	var regions []legacyRegion
	var headerless []int64 // regions whose header does not check out
	for _, start := range []int64{0, regionSize} {
		if start+regionHeaderLen > size {
			continue
		}
		if err := readFull(f, b, start); err != nil {
			return logRead{}, err
		}
		h, ok := decodeRegionHeader(b)
		if !ok || h.version != 1 || h.regionSize != regionSize {
			headerless = append(headerless, start)
			continue
		}
		if h.id != st.id {
			return logRead{}, fmt.Errorf("%w: %w (its id %x, the store's %x)", kv.ErrCorrupt, errForeignLog, h.id, st.id)
		}
		regions = append(regions, legacyRegion{epoch: h.epoch, baseSeq: h.baseSeq, lastSeq: h.baseSeq - 1, start: start})
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].epoch < regions[j].epoch })
	var r logRead
	damaged := func(problem string, through uint64) (logRead, error) {
		r.damage = &Damage{Problem: problem, Kept: r.last(st.applied), Through: through}
		return r, nil
	}
	next := uint64(0) // the record the next region must begin with
	for i := range regions {
		reg := &regions[i]
		if next != 0 && reg.baseSeq != next && reg.baseSeq > next && reg.baseSeq-1 > st.applied {
			return damaged(fmt.Sprintf("the log lacks records %d to %d (the store file holds records to %d)", next, reg.baseSeq-1, st.applied), 0)
		}
		off := int64(pageSize)
		for {
			fr, ok, err := readLegacyFrame(f, size, reg, off, reg.lastSeq+1, 0, regionSize)
			if err != nil {
				return logRead{}, err
			}
			if !ok {
				break
			}
			if fr.seq > st.applied {
				r.frames = append(r.frames, fr)
			}
			reg.lastSeq = fr.seq
			off += frameLen(len(fr.payload))
		}
		for later := off + pageSize; later < regionSize; later += pageSize {
			fr, ok, err := readLegacyFrame(f, size, reg, later, 0, reg.lastSeq, regionSize)
			if err != nil {
				return logRead{}, err
			}
			if ok && fr.seq > reg.lastSeq+legacyWindow {
				return damaged(fmt.Sprintf("the log's record at offset %d does not check out, yet record %d follows at offset %d", reg.start+off, fr.seq, reg.start+later), fr.seq)
			}
		}
		next = reg.lastSeq + 1
	}
	if len(r.frames) > 0 && r.frames[0].seq != st.applied+1 {
		first := r.frames[0].seq
		r.frames = nil
		return damaged(fmt.Sprintf("the log's records start at %d, the store file holds records to %d", first, st.applied), 0)
	}
	// A region without a valid header is one never started, or one whose
	// header was damaged: a record in it that the store file lacks says
	// which (without its header, its records cannot be read in order).
	for _, start := range headerless {
		off, seq, err := legacyRecordAfter(f, start, min(start+regionSize, size), st.applied)
		if err != nil {
			return logRead{}, err
		}
		if seq != 0 {
			return damaged(fmt.Sprintf("the header of the log's region at offset %d is damaged, yet the region holds record %d (offset %d)", start, seq, off), seq)
		}
	}
	return r, nil
}

// readLegacyFrame reads the version 1 record at off of region reg, if
// one checks out with the region's epoch and the sequence number want
// (0: any later than after).
func readLegacyFrame(f File, size int64, reg *legacyRegion, off int64, want, after uint64, regionSize int64) (frame, bool, error) {
	if off+frameHeaderSize > regionSize || reg.start+off+frameHeaderSize > size {
		return frame{}, false, nil
	}
	h := make([]byte, frameHeaderSize)
	if err := readFull(f, h, reg.start+off); err != nil {
		return frame{}, false, err
	}
	seq, n := le.Uint64(h[12:]), int64(le.Uint32(h[20:]))
	if le.Uint32(h[0:]) != frameMagic || le.Uint64(h[4:]) != reg.epoch || (want != 0 && seq != want) || (want == 0 && seq <= after) ||
		off+frameHeaderSize+n > regionSize || reg.start+off+frameHeaderSize+n > size {
		return frame{}, false, nil
	}
	payload := make([]byte, n)
	if err := readFull(f, payload, reg.start+off+frameHeaderSize); err != nil {
		return frame{}, false, err
	}
	if crc32.Update(crc32.Checksum(h[:24], castagnoli), castagnoli, payload) != le.Uint32(h[24:]) {
		return frame{}, false, nil
	}
	return frame{seq: seq, payload: payload}, true, nil
}

// legacyRecordAfter finds, in the log's bytes from start to end, a page
// that begins like a version 1 record numbered after applied, and
// returns its offset and number (0 if there is none).
func legacyRecordAfter(f File, start, end int64, applied uint64) (int64, uint64, error) {
	h := make([]byte, frameHeaderSize)
	for off := start + pageSize; off+frameHeaderSize <= end; off += pageSize {
		if err := readFull(f, h, off); err != nil {
			return 0, 0, err
		}
		if seq := le.Uint64(h[12:]); le.Uint32(h) == frameMagic && seq > applied {
			return off, seq, nil
		}
	}
	return 0, 0, nil
}
