package record

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/relgraph/relgraph/index"
)

// The id generator's state (meta key index.IDGenKey): the last id it
// handed out, 4 bytes of seconds and 8 of sequence, as ids are, sealed.

// EncodeIDGen returns the stored state whose last id is id.
func EncodeIDGen(id [index.IDLen]byte) []byte { return Seal(bytes.Clone(id[:])) }

// DecodeIDGen reads the stored state: the last id's seconds and
// sequence.
func DecodeIDGen(v []byte) (secs uint32, seq uint64, err error) {
	state, err := Unseal(v)
	if err == nil && len(state) != index.IDLen {
		err = fmt.Errorf("%d bytes, want %d", len(state), index.IDLen)
	}
	if err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint32(state), binary.BigEndian.Uint64(state[4:]), nil
}
