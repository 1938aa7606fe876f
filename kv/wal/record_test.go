package wal

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph/kv"
)

// genWrites draws a batch of writes as a transaction leaves them: one
// per key, in key order.
func genWrites(t *rapid.T) []entry {
	ov := newOverlay()
	for range rapid.IntRange(0, 20).Draw(t, "n") {
		ks := rapid.StringMatching(`[a-z]{1,8}`).Draw(t, "keyspace")
		key := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "key")
		en := entry{key: ks + "\x00" + string(key), seq: 7}
		if rapid.Bool().Draw(t, "delete") {
			en.deleted = true
		} else {
			en.val = rapid.SliceOfN(rapid.Byte(), 0, 3*pageSize).Draw(t, "value")
		}
		ov.set(&en)
	}
	var writes []entry
	ov.t.Scan(func(en *entry) bool { writes = append(writes, *en); return true })
	return writes
}

// TestRecordsRoundTrip: a record built in place (newFrame, encodeWrites,
// sealFrame) is whole pages, its size is what writesSize predicted, its
// padding is zeros, and it reads back as the writes it was built from.
func TestRecordsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		writes := genWrites(t)
		n := writesSize(writes)
		rec := encodeWrites(newFrame(n), writes)
		if got := len(rec) - frameHeaderSize; got != n {
			t.Fatalf("writesSize %d, encoded %d", n, got)
		}
		c := newCodec([16]byte{1, 2, 3})
		b := c.sealFrame(rec, 3, 7)
		if int64(len(b)) != frameLen(n) || len(b)%pageSize != 0 {
			t.Fatalf("a record of %d bytes for a payload of %d", len(b), n)
		}
		if pad := b[frameHeaderSize+n:]; !bytes.Equal(pad, make([]byte, len(pad))) {
			t.Fatal("the padding is not zeros")
		}
		h, ok := c.parseFrameHeader(b)
		if !ok || h.epoch != 3 || h.seq != 7 || h.n != n {
			t.Fatalf("the header reads back as %+v (%v)", h, ok)
		}
		if !c.payloadOK(b, b[frameHeaderSize:frameHeaderSize+n]) {
			t.Fatal("the payload does not check out")
		}
		// Another store's codec reads nothing there.
		if _, ok := newCodec([16]byte{9}).parseFrameHeader(b); ok {
			t.Fatal("another store's codec took the record for its own")
		}
		got, err := decodeWrites(b[frameHeaderSize:frameHeaderSize+n], h.seq)
		if err != nil {
			t.Fatal(err)
		}
		eq := func(a, b entry) bool {
			return a.key == b.key && a.deleted == b.deleted && a.seq == b.seq && bytes.Equal(a.val, b.val)
		}
		if !slices.EqualFunc(got, writes, eq) {
			t.Fatalf("read back %d writes, wrote %d", len(got), len(writes))
		}
	})
}

// FuzzDecodeWrites: a payload whose CRC checked out but that does not
// parse is an error wrapping kv.ErrCorrupt, never a panic; one that
// parses encodes to a payload that decodes to the same writes.
func FuzzDecodeWrites(f *testing.F) {
	f.Add([]byte{opPut, 1, 'a', 1, 'k', 1, 'v', opDelete, 1, 'b', 0})
	f.Add([]byte{opPut, 200})
	f.Fuzz(func(t *testing.T, p []byte) {
		writes, err := decodeWrites(p, 1)
		if err != nil {
			if !errors.Is(err, kv.ErrCorrupt) {
				t.Fatalf("not kv.ErrCorrupt: %v", err)
			}
			return
		}
		again, err := decodeWrites(encodeWrites(nil, writes), 1)
		if err != nil {
			t.Fatalf("decoded %q; its encoding does not decode: %v", p, err)
		}
		eq := func(a, b entry) bool { return a.key == b.key && a.deleted == b.deleted && bytes.Equal(a.val, b.val) }
		if !slices.EqualFunc(again, writes, eq) {
			t.Fatalf("decoded %q as %v, its encoding as %v", p, writes, again)
		}
	})
}
