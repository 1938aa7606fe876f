package relgraph

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
)

// ProfileID is a profile's 12-byte id, shown as 24 lowercase hex digits.
// Store-generated ids are 4 bytes of big-endian Unix seconds then 8 bytes
// of a per-store sequence, so new profiles append to the key space.
type ProfileID [index.IDLen]byte

// String returns the 24 lowercase hex digits.
func (id ProfileID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero id (never a stored profile's).
func (id ProfileID) IsZero() bool { return id == ProfileID{} }

// MarshalText encodes the id as 24 lowercase hex digits.
func (id ProfileID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses 24 hex digits, in either case.
func (id *ProfileID) UnmarshalText(b []byte) error {
	p, err := ParseProfileID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseProfileID parses 24 hex digits, in either case (400 otherwise).
// The zero id is refused.
func ParseProfileID(s string) (ProfileID, error) {
	var id ProfileID
	if len(s) != 2*index.IDLen {
		return id, invalidf("profile_id %q must be 24 hex digits", truncate(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, invalidf("profile_id %q must be 24 hex digits", truncate(s))
	}
	if id.IsZero() {
		return id, invalidf("profile_id %q: the zero id is reserved", s)
	}
	return id, nil
}

// newProfileID returns the next store-generated id. The seconds never go
// back (a clock step back, or a clock past 2106, reuses the last second)
// and the sequence only grows, so the ids it makes are increasing. An id
// some profile already has, in any database (a client restored it from
// an export, or the store came from a machine whose clock ran ahead), is
// skipped: a new profile never lands on a stored one. Cost: one point
// read per database per id tried, or nothing inside a block of ids
// reserveIDs checked free.
func (tx *Tx) newProfileID() (ProfileID, error) {
	if b := tx.ids; b != nil && b.next <= b.last {
		b.next++
		return makeID(b.secs, b.next-1), nil
	}
	var id ProfileID
	if err := tx.flushIDs(); err != nil {
		return id, err
	}
	secs, seq, err := tx.idState()
	if err != nil {
		return id, err
	}
	for {
		if seq == math.MaxUint64 {
			return id, corruptf("meta idgen: the sequence is exhausted")
		}
		seq++
		id = makeID(secs, seq)
		taken, err := tx.idTaken(id)
		if err != nil {
			return id, err
		}
		if !taken {
			break
		}
	}
	return id, tx.recordID(id)
}

// recordID writes id as the generator's last id handed out.
func (tx *Tx) recordID(id ProfileID) error {
	if err := tx.kv.Put(index.Meta, index.IDGenKey, record.EncodeIDGen(id)); err != nil {
		return storageErr("write id generator", err)
	}
	return nil
}

func makeID(secs uint32, seq uint64) ProfileID {
	var id ProfileID
	binary.BigEndian.PutUint32(id[:4], secs)
	binary.BigEndian.PutUint64(id[4:], seq)
	return id
}

// idState is the generator's last seconds and sequence, the seconds
// moved up to the transaction's time.
func (tx *Tx) idState() (secs uint32, seq uint64, err error) {
	state, err := tx.kv.Get(index.Meta, index.IDGenKey)
	if err != nil {
		return 0, 0, storageErr("read id generator", err)
	}
	if state != nil {
		if secs, seq, err = decodeIDGen(state); err != nil {
			return 0, 0, err
		}
	}
	if now := tx.now.Unix(); now > int64(secs) && now <= math.MaxUint32 {
		secs = uint32(now)
	}
	return secs, seq, nil
}

// idBlock is a run of generated ids checked free all at once, for a
// transaction about to create many profiles (ImportBatch):
// newProfileID hands them out in order without a read or a write per
// id, and flushIDs records the last one handed out, as newProfileID
// would have after each. A profile created with an id of its own ends
// the block (putProfile), since it may be one of the block's.
type idBlock struct {
	secs              uint32
	first, next, last uint64 // next is the next sequence to hand out
}

// reserveIDs checks the next n generated ids free in every database,
// with one seek per database, and if they are, lets newProfileID hand
// them out. If any of them is taken, nothing is reserved and ids are
// tried one by one as ever. The caller calls flushIDs before the
// transaction ends.
func (tx *Tx) reserveIDs(n int) error {
	if n < 2 || tx.ids != nil {
		return nil
	}
	secs, seq, err := tx.idState()
	if err != nil || seq > math.MaxUint64-uint64(n) {
		return err
	}
	first, last := makeID(secs, seq+1), makeID(secs, seq+uint64(n))
	for db := range tx.schema.dbs {
		c, err := tx.kv.Cursor(index.Profiles)
		if err != nil {
			return storageErr("cursor", err)
		}
		k, _ := c.Seek(index.ProfileKey(db, first))
		if err := cursorErr(c); err != nil {
			return err
		}
		if k != nil && bytes.Compare(k, index.ProfileKey(db, last)) <= 0 {
			return nil // one of them is taken
		}
	}
	tx.ids = &idBlock{secs: secs, first: seq + 1, next: seq + 1, last: seq + uint64(n)}
	return nil
}

// flushIDs ends the id block: the generator's state records the last id
// handed out of it, if any was.
func (tx *Tx) flushIDs() error {
	b := tx.ids
	if b == nil {
		return nil
	}
	tx.ids = nil
	if b.next == b.first {
		return nil
	}
	return tx.recordID(makeID(b.secs, b.next-1))
}

// decodeIDGen reads the id generator's stored state.
func decodeIDGen(v []byte) (secs uint32, seq uint64, err error) {
	if secs, seq, err = record.DecodeIDGen(v); err != nil {
		return 0, 0, corruptf("meta idgen: %v", err)
	}
	return secs, seq, nil
}

// idTaken reports whether a profile of any database has id.
func (tx *Tx) idTaken(id ProfileID) (bool, error) {
	for db := range tx.schema.dbs {
		v, err := tx.kv.Get(index.Profiles, index.ProfileKey(db, id))
		if err != nil {
			return false, storageErr("read profile", err)
		}
		if v != nil {
			return true, nil
		}
	}
	return false, nil
}
