package record

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Stored records (profiles, relations, counters) end in a CRC-32C of
// their msgpack body, so a flipped bit anywhere in a value is reported
// as corruption instead of decoding into a plausible wrong value.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seal appends the checksum of body.
func Seal(body []byte) []byte {
	return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// sealFrom seals the record that b holds from start on (b's earlier
// bytes are another's): its checksum is appended.
func sealFrom(b []byte, start int) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

var (
	errTooShort = errors.New("too short for its checksum")
	errChecksum = errors.New("checksum mismatch")
)

// unseal verifies and strips the checksum.
func Unseal(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, errTooShort
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errChecksum
	}
	return body, nil
}
