package relgraph

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/relgraph/relgraph/index"
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

// idgenKey holds the id generator's state: 4 bytes of the last seconds
// used, 8 bytes of the sequence.
var idgenKey = []byte("idgen")

// newProfileID returns the next store-generated id. The seconds never go
// back (a clock step back reuses the last second) and the sequence only
// grows, so ids are unique and increasing.
func (tx *Tx) newProfileID() (ProfileID, error) {
	var id ProfileID
	state, err := tx.kv.Get(index.Meta, idgenKey)
	if err != nil {
		return id, storageErr("read id generator", err)
	}
	var secs uint32
	var seq uint64
	if state != nil {
		if len(state) != 12 {
			return id, corruptf("meta idgen: %d bytes, want 12", len(state))
		}
		secs, seq = binary.BigEndian.Uint32(state), binary.BigEndian.Uint64(state[4:])
	}
	if now := uint32(tx.now.Unix()); now > secs && tx.now.Unix() <= int64(^uint32(0)) {
		secs = now
	}
	seq++
	binary.BigEndian.PutUint32(id[:4], secs)
	binary.BigEndian.PutUint64(id[4:], seq)
	if err := tx.kv.Put(index.Meta, idgenKey, id[:]); err != nil {
		return id, storageErr("write id generator", err)
	}
	return id, nil
}

// unixNanos converts times stored as Unix nanoseconds.
func unixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
