package record

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// msgpackChange writes c as msgpack.Encoder writes the same calls: the
// form the change record's comment promises.
func msgpackChange(t interface{ Fatal(...any) }, c *Change) []byte {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.EncodeArrayLen(8))
	must(e.EncodeInt64(c.Time))
	must(e.EncodeUint64(uint64(c.Kind)))
	must(e.EncodeUint64(uint64(c.Op)))
	must(e.EncodeUint64(uint64(c.Space)))
	must(e.EncodeBytes(c.A[:]))
	must(e.EncodeBytes(c.B[:]))
	for _, v := range [][]byte{c.Before, c.After} {
		if v == nil {
			must(e.EncodeNil())
		} else {
			must(e.EncodeBytes(v))
		}
	}
	return Seal(buf.Bytes())
}

func drawChange(t *rapid.T) *Change {
	c := &Change{
		Time:  rapid.Int64().Draw(t, "time"),
		Kind:  uint8(rapid.IntRange(0, MaxChangeCode).Draw(t, "kind")),
		Op:    uint8(rapid.IntRange(0, MaxChangeCode).Draw(t, "op")),
		Space: rapid.Uint32().Draw(t, "space"),
	}
	copy(c.A[:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "a"))
	copy(c.B[:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "b"))
	side := func(name string) []byte {
		switch rapid.IntRange(0, 2).Draw(t, name+"Form") {
		case 0:
			return nil
		case 1:
			return []byte{} // present and empty: not nil
		}
		n := rapid.SampledFrom([]int{1, 255, 256, 65535, 65536}).Draw(t, name+"Len")
		return bytes.Repeat([]byte{byte(n)}, n)
	}
	c.Before, c.After = side("before"), side("after")
	return c
}

// The change codec writes the bytes msgpack.Encoder writes, ChangeLen
// says how many, and what it wrote reads back as it was (nil and empty
// sides told apart), with its time readable alone.
func TestChangeCodecMatchesMsgpack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawChange(t)
		got := AppendChange(nil, c)
		if want := msgpackChange(t, c); !bytes.Equal(got, want) {
			t.Fatalf("encoded %x\nmsgpack wrote %x", got, want)
		}
		if len(got) != ChangeLen(c) {
			t.Fatalf("ChangeLen %d, the record is %d bytes", ChangeLen(c), len(got))
		}
		back, err := DecodeChange(got)
		if err != nil {
			t.Fatalf("decoding what was encoded: %v", err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: %+v, want %+v", back, c)
		}
		if ChangeTime(got) != c.Time {
			t.Fatalf("ChangeTime %d, want %d", ChangeTime(got), c.Time)
		}
	})
}

// A change record has one encoding: whatever DecodeChange accepts
// encodes back to the same bytes; nothing makes it panic.
func FuzzDecodeChange(f *testing.F) {
	c := &Change{Time: 5, Kind: 4, Op: 5, Space: 3, A: [12]byte{1}, B: [12]byte{2}, After: []byte{9, 9}}
	f.Add(AppendChange(nil, c))
	c.Before, c.After = []byte{}, nil
	f.Add(AppendChange(nil, c))
	f.Add([]byte{0x98, 0xd3})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, Seal(append([]byte{}, b...))} {
			c, err := DecodeChange(in)
			if err != nil {
				continue
			}
			if again := AppendChange(nil, c); !bytes.Equal(again, in) {
				t.Fatalf("%x decodes to %+v, which encodes to %x", in, c, again)
			}
		}
	})
}

// The feed's state and configuration read back as written; damage and
// impossible states are errors.
func TestFeedStateAndConfigRecords(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		last := rapid.Uint64Max(1<<62).Draw(t, "last")
		s := FeedState{First: rapid.Uint64Range(1, last+1).Draw(t, "first"), Last: last, Bytes: rapid.Uint64().Draw(t, "bytes")}
		if got, err := DecodeFeedState(EncodeFeedState(s)); err != nil || got != s {
			t.Fatalf("state %+v read back as %+v, %v", s, got, err)
		}
		c := FeedConfig{On: rapid.Bool().Draw(t, "on"), MaxChanges: rapid.Uint64().Draw(t, "n"), MaxBytes: rapid.Uint64().Draw(t, "b"), Age: rapid.Uint64().Draw(t, "age")}
		if got, err := DecodeFeedConfig(EncodeFeedConfig(c)); err != nil || got != c {
			t.Fatalf("config %+v read back as %+v, %v", c, got, err)
		}
	})
	for i, v := range [][]byte{
		nil,
		EncodeFeedState(FeedState{First: 0, Last: 3}), // first 0
		EncodeFeedState(FeedState{First: 5, Last: 3}), // first past last+1
		Seal(make([]byte, 23)),
		func() []byte { b := EncodeFeedState(FeedState{First: 1}); b[3] ^= 1; return b }(),
	} {
		if _, err := DecodeFeedState(v); err == nil {
			t.Errorf("state %d (%x) decoded", i, v)
		}
	}
	bad := EncodeFeedConfig(FeedConfig{On: true})
	bad[0] = 2
	for i, v := range [][]byte{nil, Seal(bad[:25]), Seal(make([]byte, 24))} {
		if _, err := DecodeFeedConfig(v); err == nil {
			t.Errorf("config %d (%x) decoded", i, v)
		}
	}
}
