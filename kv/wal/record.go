package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/relgraph/relgraph/kv"
)

// The log's bytes. The log file (path-wal) is two regions of
// RegionSize bytes, used in turn. Every region begins with a header
// page; records follow it, each at a page boundary and padded with zeros
// to the next one, so that writing a record never rewrites a page that
// holds another (a torn write damages only the record being written).
//
// Region header, the first page of a region (52 bytes used, the rest
// zeros); integers little-endian:
//
//	0       4         8              24      32         40            48      52
//	+-------+---------+--------------+-------+----------+-------------+-------+
//	| magic | version | store id     | epoch | base seq | region size | CRC   |
//	| RGLH  | 2       | 16 bytes     |       |          |             |       |
//	+-------+---------+--------------+-------+----------+-------------+-------+
//
// Record, at a page boundary:
//
//	0       4       12      20       24     28      32
//	+-------+-------+-------+--------+------+-------+-----------------+-------+
//	| magic | epoch | seq   | length | CRC  | hCRC  | payload         | zeros |
//	| RGLF  |       |       | (n)    |      |       | (n bytes)       | to    |
//	+-------+-------+-------+--------+------+-------+-----------------+ page  |
//
// hCRC covers bytes 0–24 (so a reader can trust the length before it
// reads the payload); CRC covers bytes 0–24 and the payload; a region
// header's CRC covers its bytes 0–48. Every CRC is CRC-32C seeded with
// the store's id: bytes that another store wrote, or that a user put in
// a value at a page boundary, never check out as this store's.
//
// The epoch is the log session in its high 32 bits and the pass in the
// low 32: a session starts whenever the log starts afresh (every
// writable Open, after every bulk commit), numbered by the store file;
// a pass is one use of a region within a session. The sequence number
// counts records over the store's life; within a session each is
// written once. The store file records the session, its pass and the
// last record it holds (state.go), so a reader knows which records it
// needs and which are left from before.
//
// Payload: the record's writes, each an operation byte (1 put, 2
// delete), the keyspace (a byte of length, then the name), the key, and
// for a put the value (each a uvarint length, then the bytes).
//
// Version 1 (before sessions) had no hCRC (bytes 28–32 zero) and
// unseeded CRCs; legacy.go reads it.

const (
	pageSize        = 4096
	frameHeaderSize = 32
	frameMagic      = 0x52474c46 // "RGLF"
	regionMagic     = 0x52474c48 // "RGLH"
	logVersion      = 2
	regionHeaderLen = 52
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	le         = binary.LittleEndian
)

// epochOf is the epoch of pass pass of session session.
func epochOf(session, pass uint64) uint64 { return session<<32 | pass }

// sessionOf is the session an epoch belongs to.
func sessionOf(epoch uint64) uint64 { return epoch >> 32 }

// maxPass is the last pass a session can have; past it, the engine
// starts a new session.
const maxPass = 1<<32 - 1

// codec checks and seals the log's pages for one store: its CRCs are
// seeded with the store's id.
type codec struct {
	id   [16]byte
	seed uint32
}

func newCodec(id [16]byte) codec {
	return codec{id: id, seed: crc32.Update(0, castagnoli, id[:])}
}

func (c codec) sum(parts ...[]byte) uint32 {
	crc := c.seed
	for _, p := range parts {
		crc = crc32.Update(crc, castagnoli, p)
	}
	return crc
}

// regionHeader is a region's header, decoded.
type regionHeader struct {
	version    uint32
	id         [16]byte
	epoch      uint64
	baseSeq    uint64
	regionSize int64
}

func (c codec) encodeRegionHeader(epoch, baseSeq uint64, regionSize int64) []byte {
	b := make([]byte, pageSize)
	le.PutUint32(b[0:], regionMagic)
	le.PutUint32(b[4:], logVersion)
	copy(b[8:24], c.id[:])
	le.PutUint64(b[24:], epoch)
	le.PutUint64(b[32:], baseSeq)
	le.PutUint64(b[40:], uint64(regionSize))
	le.PutUint32(b[48:], c.sum(b[:48]))
	return b
}

// decodeRegionHeader reads a region header of either version; ok is
// false for one that was never written, was torn or was damaged. A
// version 2 header's CRC is seeded with the id it carries, so another
// store's header decodes too, and says whose it is.
func decodeRegionHeader(b []byte) (h regionHeader, ok bool) {
	if len(b) < regionHeaderLen || le.Uint32(b[0:]) != regionMagic {
		return h, false
	}
	h.version = le.Uint32(b[4:])
	copy(h.id[:], b[8:24])
	switch h.version {
	case 1:
		ok = le.Uint32(b[48:]) == crc32.Checksum(b[:48], castagnoli)
	case logVersion:
		ok = le.Uint32(b[48:]) == newCodec(h.id).sum(b[:48])
	}
	h.epoch, h.baseSeq, h.regionSize = le.Uint64(b[24:]), le.Uint64(b[32:]), int64(le.Uint64(b[40:]))
	return h, ok
}

// frameLen is the bytes a record with a payload of n bytes occupies.
func frameLen(n int) int64 {
	return (int64(frameHeaderSize+n) + pageSize - 1) / pageSize * pageSize
}

// newFrame starts a record whose payload will be n bytes: room for its
// header, then the payload appended after it (encodeWrites), and
// capacity to the page's end, so sealFrame pads it without copying.
func newFrame(n int) []byte {
	return make([]byte, frameHeaderSize, frameLen(n))
}

// sealFrame fills in the header of a record built on newFrame and pads
// it with zeros to the next page.
func (c codec) sealFrame(b []byte, epoch, seq uint64) []byte {
	n := len(b) - frameHeaderSize
	le.PutUint32(b[0:], frameMagic)
	le.PutUint64(b[4:], epoch)
	le.PutUint64(b[12:], seq)
	le.PutUint32(b[20:], uint32(n))
	le.PutUint32(b[24:], c.sum(b[:24], b[frameHeaderSize:]))
	le.PutUint32(b[28:], c.sum(b[:24]))
	full := frameLen(n)
	if int64(cap(b)) < full {
		b = append(b, make([]byte, full-int64(len(b)))...)
	}
	b = b[:full]
	clear(b[frameHeaderSize+n:])
	return b
}

// frameHeader is a record's header, decoded.
type frameHeader struct {
	epoch, seq uint64
	n          int // the payload's length
	crc        uint32
}

// parseFrameHeader decodes the header at the start of b if it checks
// out (its magic and hCRC): a record of this store was written there.
func (c codec) parseFrameHeader(b []byte) (frameHeader, bool) {
	if len(b) < frameHeaderSize || le.Uint32(b[0:]) != frameMagic || le.Uint32(b[28:]) != c.sum(b[:24]) {
		return frameHeader{}, false
	}
	return frameHeader{epoch: le.Uint64(b[4:]), seq: le.Uint64(b[12:]), n: int(le.Uint32(b[20:])), crc: le.Uint32(b[24:])}, true
}

// payloadOK reports whether a record's payload is the one its header
// was sealed with.
func (c codec) payloadOK(header, payload []byte) bool {
	return c.sum(header[:24], payload) == le.Uint32(header[24:])
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

// encodeWrites appends a batch of writes as a record's payload.
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
