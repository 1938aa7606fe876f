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
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, xxhash.Sum64String(id.String())))
}
