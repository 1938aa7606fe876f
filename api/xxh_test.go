package api

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"

	"github.com/relgraph/relgraph"
)

// TestXXHIsTheHashOfTheIDText: XXH, written in place, is the xxHash64 of
// the id's 24-hex text, as 16 hex digits, as the platform writes it.
func TestXXHIsTheHashOfTheIDText(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var id relgraph.ProfileID
		copy(id[:], rapid.SliceOfN(rapid.Byte(), len(id), len(id)).Draw(t, "id"))
		want := hex.EncodeToString(binary.BigEndian.AppendUint64(nil, xxhash.Sum64String(id.String())))
		if got := XXH(id); got != want {
			t.Fatalf("XXH(%s) = %s, want %s", id, got, want)
		}
		if got := string(appendXXH([]byte("x"), id)); got != "x"+want {
			t.Fatalf("appendXXH: %s", got)
		}
	})
}
