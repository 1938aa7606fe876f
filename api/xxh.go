package api

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/cespare/xxhash/v2"

	"github.com/relgraph/relgraph"
)

// XXH is the xxHash64 of a profile id's 24-hex string, as 16 lowercase
// hex digits: the xxh_a, xxh_b and profile_xxh of the platform's
// answers (docs/spec.md).
func XXH(id relgraph.ProfileID) string {
	return string(appendXXH(nil, id))
}

// appendXXH appends XXH(id) to b, allocating nothing of its own.
func appendXXH(b []byte, id relgraph.ProfileID) []byte {
	var text [2 * len(relgraph.ProfileID{})]byte
	hex.Encode(text[:], id[:])
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(text[:]))
	return hex.AppendEncode(b, sum[:])
}
