package relgraph

import (
	"encoding/binary"
	"hash/crc32"
)

// Stored records (profiles, relations, counters) end in a CRC-32C of
// their msgpack body, so a flipped bit anywhere in a value is reported
// as corruption instead of decoding into a plausible wrong value.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seal appends the checksum of body.
func seal(body []byte) []byte {
	return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// unseal verifies and strips the checksum. what names the record for
// the error.
func unseal(what string, b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, corruptf("%s: %d bytes, too short for its checksum", what, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, corruptf("%s: checksum mismatch", what)
	}
	return body, nil
}
