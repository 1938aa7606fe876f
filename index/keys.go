package index

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/relgraph/relgraph/kv"
)

// The keyspaces of a relgraph store. Layouts are given as
// part ‖ part; "db" and "rel" are 4-byte big-endian ids, "pid", "A" and
// "B" 12-byte profile ids, "lenstr" a 2-byte length then the bytes.
const (
	// Meta holds the format version, the schema and sequences.
	Meta kv.Keyspace = "meta"
	// Profiles: db ‖ pid → msgpack profile record.
	Profiles kv.Keyspace = "profile"
	// Emails: db ‖ ordered(email) → pid. Unique per database.
	Emails kv.Keyspace = "email"
	// Phones: db ‖ lenstr(phone) ‖ pid → ∅.
	Phones kv.Keyspace = "phone"
	// Subs: db ‖ channel ‖ lenstr(address) ‖ resource ‖ pid → ∅.
	Subs kv.Keyspace = "sub"
	// Fields: db ‖ lenstr(field) ‖ kind ‖ ordered(value) ‖ pid → ∅.
	Fields kv.Keyspace = "field"
	// Tags: db ‖ lenstr(field) ‖ lenstr(tag) ‖ pid → ∅.
	Tags kv.Keyspace = "tag"
	// Adjacency holds everything of one A profile's relations of one
	// type next to each other, so a relation write dirties one region of
	// one tree (its relation's page and its counter's, often the same):
	//   rel ‖ A ‖ 0x00 → msgpack counter of A's relations, with the
	//                    leading entries of each top property's ranking
	//   rel ‖ A ‖ 0x01 ‖ B → msgpack relation
	Adjacency kv.Keyspace = "adj"
	// ReverseEdges: rel ‖ B ‖ A → ∅, the reverse edges: who relates to B.
	ReverseEdges kv.Keyspace = "edge_b"
	// Changes: seq (8 bytes, big-endian) → change record: the change
	// feed, in commit order (record.Change).
	Changes kv.Keyspace = "change"
)

// Keys of the Meta keyspace.
var (
	// FormatKey holds the store's format version (record.Version).
	FormatKey = []byte("format")
	// IDGenKey holds the profile id generator's state: the last id it
	// handed out (record.EncodeIDGen).
	IDGenKey = []byte("idgen")
	// FeedStateKey holds the change feed's bookkeeping: the first and
	// last sequence numbers kept and their bytes (record.FeedState).
	FeedStateKey = []byte("feed")
	// FeedConfigKey holds the change feed's configuration: on or off,
	// and its retention (record.FeedConfig).
	FeedConfigKey = []byte("feedcfg")
	// SchemaGenKey holds the schema's generation on engines other
	// processes share (kv.Shared): 8 bytes, big-endian, one more after
	// every transaction that changed the schema or the feed's
	// configuration. Absent is generation 0.
	SchemaGenKey = []byte("schemagen")
)

// ChangeKey is the key of change seq in Changes.
func ChangeKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// ParseChangeKey reads a Changes key; false if it is not 8 bytes.
func ParseChangeKey(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// Meta key prefixes of the schema's declarations.
var (
	databasePrefix     = []byte("db/")
	relationTypePrefix = []byte("rel/")
)

// DatabaseKey is "db/" ‖ db: a database's declaration
// (record.DatabaseDecl).
func DatabaseKey(db uint32) []byte { return AppendUint32(append([]byte{}, databasePrefix...), db) }

// RelationTypeKey is "rel/" ‖ rel: a relation type's declaration
// (record.RelationTypeDecl).
func RelationTypeKey(rel uint32) []byte {
	return AppendUint32(append([]byte{}, relationTypePrefix...), rel)
}

// IsDatabaseKey reports whether k has a database declaration's
// prefix (its id may still be malformed: compare with DatabaseKey).
func IsDatabaseKey(k []byte) bool { return bytes.HasPrefix(k, databasePrefix) }

// IsRelationTypeKey reports whether k has a relation type
// declaration's prefix.
func IsRelationTypeKey(k []byte) bool { return bytes.HasPrefix(k, relationTypePrefix) }

// The tags after rel ‖ A in the Adjacency keyspace.
const (
	TagCounter byte = 0x00
	TagEdge    byte = 0x01
)

// All lists every keyspace, in the order Check and dumps walk them.
var All = []kv.Keyspace{Meta, Profiles, Emails, Phones, Subs, Fields, Tags, Adjacency, ReverseEdges, Changes}

// IndexKeyspaces are the secondary indexes derived from profile records.
var IndexKeyspaces = []kv.Keyspace{Emails, Phones, Subs, Fields, Tags}

// Kind tags a typed value in a field key, so values of different types
// never compare equal.
type Kind byte

// The kinds of indexed field values.
const (
	KindString Kind = 1
	KindInt    Kind = 2
	KindFloat  Kind = 3
	KindBool   Kind = 4
	KindDate   Kind = 5
)

// DB returns the 4-byte prefix of a database's keys.
func DB(db uint32) []byte { return AppendUint32(make([]byte, 0, 64), db) }

// ProfileKey is db ‖ pid.
func ProfileKey(db uint32, pid [IDLen]byte) []byte {
	return AppendProfileKey(make([]byte, 0, 4+IDLen), db, pid)
}

// AppendProfileKey appends ProfileKey(db, pid) to dst.
func AppendProfileKey(dst []byte, db uint32, pid [IDLen]byte) []byte {
	return append(AppendUint32(dst, db), pid[:]...)
}

// EmailKey is db ‖ ordered(email).
func EmailKey(db uint32, email string) []byte {
	return AppendOrderedString(DB(db), email)
}

// PhonePrefix is db ‖ lenstr(phone): every profile with that phone.
func PhonePrefix(db uint32, phone string) []byte {
	return AppendLenString(DB(db), phone)
}

// PhoneKey is db ‖ lenstr(phone) ‖ pid.
func PhoneKey(db uint32, phone string, pid [IDLen]byte) []byte {
	return append(PhonePrefix(db, phone), pid[:]...)
}

// SubPrefix is db ‖ channel ‖ lenstr(address): the address's
// subscriptions on every resource.
func SubPrefix(db uint32, channel byte, address string) []byte {
	return AppendLenString(append(DB(db), channel), address)
}

// SubResourcePrefix narrows SubPrefix to one resource.
func SubResourcePrefix(db uint32, channel byte, address string, resource uint32) []byte {
	return AppendUint32(SubPrefix(db, channel, address), resource)
}

// SubKey is db ‖ channel ‖ lenstr(address) ‖ resource ‖ pid.
func SubKey(db uint32, channel byte, address string, resource uint32, pid [IDLen]byte) []byte {
	return append(SubResourcePrefix(db, channel, address, resource), pid[:]...)
}

// AppendValue appends kind ‖ ordered(value) for a field value: string,
// int64, float64, bool or time.Time. Any other type panics: callers pass
// values already checked against the schema.
func AppendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return AppendOrderedString(append(b, byte(KindString)), v)
	case int64:
		return AppendInt64(append(b, byte(KindInt)), v)
	case float64:
		return AppendFloat64(append(b, byte(KindFloat)), v)
	case bool:
		if v {
			return append(b, byte(KindBool), 1)
		}
		return append(b, byte(KindBool), 0)
	case time.Time:
		b = AppendInt64(append(b, byte(KindDate)), v.Unix())
		return AppendUint32(b, uint32(v.Nanosecond()))
	}
	panic(fmt.Sprintf("index: no encoding for %T", v))
}

// DecodeValue reverses AppendValue and returns the value and the rest.
func DecodeValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: value kind missing", ErrMalformed)
	}
	kind, b := Kind(b[0]), b[1:]
	switch kind {
	case KindString:
		return DecodeOrderedString(b)
	case KindInt:
		v, err := DecodeInt64(b)
		if err != nil {
			return nil, nil, err
		}
		return v, b[8:], nil
	case KindFloat:
		v, err := DecodeFloat64(b)
		if err != nil {
			return nil, nil, err
		}
		return v, b[8:], nil
	case KindBool:
		if len(b) < 1 || b[0] > 1 {
			return nil, nil, fmt.Errorf("%w: bad bool", ErrMalformed)
		}
		return b[0] == 1, b[1:], nil
	case KindDate:
		if len(b) < 12 {
			return nil, nil, fmt.Errorf("%w: date needs 12 bytes, have %d", ErrMalformed, len(b))
		}
		sec, _ := DecodeInt64(b)
		nsec := binary.BigEndian.Uint32(b[8:])
		if nsec >= 1e9 {
			return nil, nil, fmt.Errorf("%w: date nanoseconds %d out of range", ErrMalformed, nsec)
		}
		return time.Unix(sec, int64(nsec)).UTC(), b[12:], nil
	}
	return nil, nil, fmt.Errorf("%w: unknown value kind %d", ErrMalformed, kind)
}

// FieldPrefix is db ‖ lenstr(field) ‖ kind ‖ ordered(value): every
// profile whose field holds value.
func FieldPrefix(db uint32, field string, value any) []byte {
	return AppendValue(AppendLenString(DB(db), field), value)
}

// FieldKey is FieldPrefix ‖ pid.
func FieldKey(db uint32, field string, value any, pid [IDLen]byte) []byte {
	return append(FieldPrefix(db, field, value), pid[:]...)
}

// TagPrefix is db ‖ lenstr(field) ‖ lenstr(tag): every profile holding
// the tag in that field.
func TagPrefix(db uint32, field, tag string) []byte {
	return AppendLenString(AppendLenString(DB(db), field), tag)
}

// TagKey is TagPrefix ‖ pid.
func TagKey(db uint32, field, tag string, pid [IDLen]byte) []byte {
	return append(TagPrefix(db, field, tag), pid[:]...)
}

// Describe renders a key of the given keyspace for humans, decoding its
// parts; undecodable keys are shown in hex with the reason.
func Describe(ks kv.Keyspace, key []byte) string {
	s, err := describe(ks, key)
	if err != nil {
		return fmt.Sprintf("%s key %x (%v)", ks, key, err)
	}
	return s
}

func describe(ks kv.Keyspace, key []byte) (string, error) {
	if ks == Meta {
		return fmt.Sprintf("meta key %q", key), nil
	}
	if len(key) < 4 {
		return "", fmt.Errorf("%w: key shorter than its 4-byte id", ErrMalformed)
	}
	id, rest := binary.BigEndian.Uint32(key), key[4:]
	hexID := func(b []byte) string { return hex.EncodeToString(b) }
	switch ks {
	case Profiles:
		if len(rest) != IDLen {
			return "", fmt.Errorf("%w: profile key needs a 12-byte id", ErrMalformed)
		}
		return fmt.Sprintf("profile db=%d id=%s", id, hexID(rest)), nil
	case Emails:
		email, tail, err := DecodeOrderedString(rest)
		if err != nil || len(tail) != 0 {
			return "", fmt.Errorf("%w: bad email key", ErrMalformed)
		}
		return fmt.Sprintf("email db=%d email=%q", id, email), nil
	case Phones:
		phone, tail, err := DecodeLenString(rest)
		if err != nil || len(tail) != IDLen {
			return "", fmt.Errorf("%w: bad phone key", ErrMalformed)
		}
		return fmt.Sprintf("phone db=%d phone=%q id=%s", id, phone, hexID(tail)), nil
	case Subs:
		if len(rest) < 1 {
			return "", fmt.Errorf("%w: sub key without channel", ErrMalformed)
		}
		addr, tail, err := DecodeLenString(rest[1:])
		if err != nil || len(tail) != 4+IDLen {
			return "", fmt.Errorf("%w: bad subscription key", ErrMalformed)
		}
		return fmt.Sprintf("subscription db=%d channel=%d address=%q resource=%d id=%s",
			id, rest[0], addr, binary.BigEndian.Uint32(tail), hexID(tail[4:])), nil
	case Fields:
		field, tail, err := DecodeLenString(rest)
		if err != nil {
			return "", err
		}
		v, tail, err := DecodeValue(tail)
		if err != nil || len(tail) != IDLen {
			return "", fmt.Errorf("%w: bad field key", ErrMalformed)
		}
		return fmt.Sprintf("field db=%d field=%q value=%v id=%s", id, field, v, hexID(tail)), nil
	case Tags:
		field, tail, err := DecodeLenString(rest)
		if err != nil {
			return "", err
		}
		tag, tail, err := DecodeLenString(tail)
		if err != nil || len(tail) != IDLen {
			return "", fmt.Errorf("%w: bad tag key", ErrMalformed)
		}
		return fmt.Sprintf("tag db=%d field=%q tag=%q id=%s", id, field, tag, hexID(tail)), nil
	case ReverseEdges:
		if len(rest) != 2*IDLen {
			return "", fmt.Errorf("%w: reverse edge key needs two 12-byte ids", ErrMalformed)
		}
		return fmt.Sprintf("edge_b rel=%d B=%s A=%s", id, hexID(rest[:IDLen]), hexID(rest[IDLen:])), nil
	case Adjacency:
		if len(rest) < IDLen+1 {
			return "", fmt.Errorf("%w: adjacency key too short", ErrMalformed)
		}
		a, tag, tail := hexID(rest[:IDLen]), rest[IDLen], rest[IDLen+1:]
		switch tag {
		case TagCounter:
			if len(tail) == 0 {
				return fmt.Sprintf("counter rel=%d A=%s", id, a), nil
			}
		case TagEdge:
			if len(tail) == IDLen {
				return fmt.Sprintf("edge rel=%d A=%s B=%s", id, a, hexID(tail)), nil
			}
		}
		return "", fmt.Errorf("%w: bad adjacency key (tag %d)", ErrMalformed, tag)
	}
	return "", fmt.Errorf("unknown keyspace %q", ks)
}

// AdjPrefix is rel ‖ A: everything of A's relations of type rel.
func AdjPrefix(rel uint32, a [IDLen]byte) []byte {
	return append(AppendUint32(make([]byte, 0, 4+2*IDLen+2), rel), a[:]...)
}

// CounterKey is rel ‖ A ‖ 0x00.
func CounterKey(rel uint32, a [IDLen]byte) []byte {
	return AppendCounterKey(make([]byte, 0, CounterKeyLen), rel, a)
}

// AppendCounterKey appends CounterKey(rel, a) to dst.
func AppendCounterKey(dst []byte, rel uint32, a [IDLen]byte) []byte {
	return append(append(AppendUint32(dst, rel), a[:]...), TagCounter)
}

// EdgePrefix is rel ‖ A ‖ 0x01: A's relations, ordered by B.
func EdgePrefix(rel uint32, a [IDLen]byte) []byte { return append(AdjPrefix(rel, a), TagEdge) }

// EdgeKey is rel ‖ A ‖ 0x01 ‖ B.
func EdgeKey(rel uint32, a, b [IDLen]byte) []byte { return append(EdgePrefix(rel, a), b[:]...) }

// AppendEdgeKey appends EdgeKey(rel, a, b) to dst: a loop that reads
// many relations builds their keys in one buffer.
func AppendEdgeKey(dst []byte, rel uint32, a, b [IDLen]byte) []byte {
	return append(append(append(AppendUint32(dst, rel), a[:]...), TagEdge), b[:]...)
}

// ReverseEdgePrefix is rel ‖ B in ReverseEdges: every A holding a
// relation of type rel with B.
func ReverseEdgePrefix(rel uint32, b [IDLen]byte) []byte {
	return append(AppendUint32(make([]byte, 0, ReverseEdgeKeyLen), rel), b[:]...)
}

// ReverseEdgeKey is rel ‖ B ‖ A in ReverseEdges.
func ReverseEdgeKey(rel uint32, b, a [IDLen]byte) []byte {
	return AppendReverseEdgeKey(make([]byte, 0, ReverseEdgeKeyLen), rel, b, a)
}

// AppendReverseEdgeKey appends ReverseEdgeKey(rel, b, a) to dst.
func AppendReverseEdgeKey(dst []byte, rel uint32, b, a [IDLen]byte) []byte {
	return append(append(AppendUint32(dst, rel), b[:]...), a[:]...)
}

// The lengths of the keys of one relation.
const (
	CounterKeyLen     = 4 + IDLen + 1
	EdgeKeyLen        = 4 + IDLen + 1 + IDLen
	ReverseEdgeKeyLen = 4 + 2*IDLen
)
