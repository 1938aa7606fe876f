package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/relgraph/relgraph/kv"
)

// What the store file records of its log, in its keyspace _wal:
//
//	id       16 bytes   the store's id; its log's pages are sealed with it
//	applied   8 bytes   the last record the store file holds (big-endian)
//	log      41 bytes   the log's session (see below)
//
// Each value is followed by its seal: 4 bytes, the CRC-32C of the key's
// name and the value (big-endian), so that a flipped bit in the store
// file's page is an error, never a different session or applied record.
// (Stores written before the seals hold the values alone; they are read
// as they are and sealed at the next writable Open.)
//
// The log key, big-endian:
//
//	0         8      16            24           32       40     41
//	+---------+------+-------------+------------+--------+------+
//	| session | pass | region size | alloc step | window | live |
//	+---------+------+-------------+------------+--------+------+
//
// Every change of the log's session, pass or liveness is committed to
// the store file before the log acts on it, so the store file always
// knows which records its log may hold: a session number or a pass is
// never used twice, whatever the log's own pages say, and a log that is
// missing, cut short or damaged where the writer's rules say records
// must be is refused, never read as empty.
//
//   - session: the log's current session. A new one starts, in a
//     truncated log, at every writable Open and after every bulk commit.
//   - pass: the region switches within the session; pass p is in region
//     p mod 2.
//   - region size, alloc step: the log's geometry: its size is always 0,
//     a multiple of the step, or twice the region size.
//   - window: the most records the writer leaves written and not yet
//     synced; damage within the last window records is a torn tail,
//     damage before them is corruption.
//   - live: 1 when the log may hold records past applied. It is set
//     before the session's first record, and cleared only when the store
//     file holds every record (a clean Close, a backup's copy).
//
// A store file from before sessions has no log key: its log is read as
// version 1 (legacy.go) and converted at the next writable Open.

// walKeyspace is the store file's keyspace of the log's own state.
const walKeyspace kv.Keyspace = "_wal"

var (
	idKey      = []byte("id")
	appliedKey = []byte("applied")
	logKey     = []byte("log")
)

const logStateLen = 41

// logState is the log key.
type logState struct {
	session    uint64
	pass       uint64
	regionSize int64
	allocStep  int64
	window     uint64
	live       bool
}

func (s logState) encode() []byte {
	b := make([]byte, logStateLen)
	binary.BigEndian.PutUint64(b[0:], s.session)
	binary.BigEndian.PutUint64(b[8:], s.pass)
	binary.BigEndian.PutUint64(b[16:], uint64(s.regionSize))
	binary.BigEndian.PutUint64(b[24:], uint64(s.allocStep))
	binary.BigEndian.PutUint64(b[32:], s.window)
	if s.live {
		b[40] = 1
	}
	return b
}

func decodeLogState(b []byte) (logState, error) {
	if len(b) != logStateLen || b[40] > 1 {
		return logState{}, fmt.Errorf("%w: the store file's log state is %d bytes (%x), not a state of this version", kv.ErrCorrupt, len(b), b)
	}
	s := logState{
		session: binary.BigEndian.Uint64(b[0:]), pass: binary.BigEndian.Uint64(b[8:]),
		regionSize: int64(binary.BigEndian.Uint64(b[16:])), allocStep: int64(binary.BigEndian.Uint64(b[24:])),
		window: binary.BigEndian.Uint64(b[32:]), live: b[40] == 1,
	}
	if s.regionSize < 4*pageSize || s.regionSize%pageSize != 0 || s.allocStep < pageSize || s.allocStep%pageSize != 0 || s.pass > maxPass {
		return logState{}, fmt.Errorf("%w: the store file's log state is impossible (%+v)", kv.ErrCorrupt, s)
	}
	return s, nil
}

// storeState is everything the store file records of its log.
type storeState struct {
	fresh   bool // no id: a new store file (or one from before the log)
	id      [16]byte
	applied uint64
	legacy  bool // an id and no log key: written before sessions
	log     logState
}

// readState reads the store file's state. A value of the wrong length,
// or whose seal does not check out, is damage, never taken for absence.
func readState(tx kv.Tx) (storeState, error) {
	var st storeState
	id, err := getSealed(tx, idKey, 16)
	if err != nil {
		return st, err
	}
	applied, err := getSealed(tx, appliedKey, 8)
	if err != nil {
		return st, err
	}
	log, err := getSealed(tx, logKey, logStateLen)
	if err != nil {
		return st, err
	}
	if id == nil {
		if applied != nil || log != nil {
			return st, fmt.Errorf("%w: the store file has log state but no store id", kv.ErrCorrupt)
		}
		st.fresh = true
		return st, nil
	}
	copy(st.id[:], id)
	if applied == nil {
		return st, fmt.Errorf("%w: the store file has a store id but no last applied record", kv.ErrCorrupt)
	}
	st.applied = binary.BigEndian.Uint64(applied)
	if log == nil {
		st.legacy = true
		return st, nil
	}
	st.log, err = decodeLogState(log)
	return st, err
}

func putApplied(w kv.Tx, seq uint64) error {
	return putSealed(w, appliedKey, binary.BigEndian.AppendUint64(nil, seq))
}

func putLogState(w kv.Tx, s logState) error { return putSealed(w, logKey, s.encode()) }

func putID(w kv.Tx, id [16]byte) error { return putSealed(w, idKey, id[:]) }

// stateSeal is the seal of key's value v.
func stateSeal(key, v []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, v)
}

// putSealed writes v, sealed, at key.
func putSealed(w kv.Tx, key, v []byte) error {
	return w.Put(walKeyspace, key, binary.BigEndian.AppendUint32(append([]byte{}, v...), stateSeal(key, v)))
}

// getSealed reads key's value: nil if there is none; n bytes and a seal
// that checks out; or, from a store written before the seals, n bytes
// alone. Any other length, and a seal that does not check out, are
// damage.
func getSealed(tx kv.Tx, key []byte, n int) ([]byte, error) {
	b, err := tx.Get(walKeyspace, key)
	switch {
	case err != nil || b == nil || len(b) == n:
		return b, err
	case len(b) != n+4:
		return nil, fmt.Errorf("%w: the store file's %s of its log is %d bytes, not %d", kv.ErrCorrupt, key, len(b), n+4)
	case binary.BigEndian.Uint32(b[n:]) != stateSeal(key, b[:n]):
		return nil, fmt.Errorf("%w: the store file's %s of its log (%x) does not match its seal", kv.ErrCorrupt, key, b)
	}
	return b[:n], nil
}
