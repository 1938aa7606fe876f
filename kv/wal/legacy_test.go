package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// A store from before log sessions: its store file has an id and an
// applied record (unsealed), no log key; its log is version 1. These
// tests write such a store as that release did and open it.

// legacyRegionOf is one region of a version 1 log to write: records
// first to last, each putting k<seq> = "v<seq>".
type legacyRegionOf struct {
	epoch       uint64
	first, last uint64
}

const legacyRegionSize = 16 * pageSize

var legacyID = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// writeLegacyStore writes a store file whose records to applied are in
// it, and a version 1 log with regions (region i at i × the region
// size).
func writeLegacyStore(t *testing.T, path string, applied uint64, regions ...legacyRegionOf) {
	t.Helper()
	s, err := bolt.Open(path, append(append([]kv.Keyspace{}, kvtest.Keyspaces...), walKeyspace), kv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Begin(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Put(walKeyspace, idKey, legacyID[:]))
	must(w.Put(walKeyspace, appliedKey, binary.BigEndian.AppendUint64(nil, applied)))
	for seq := uint64(1); seq <= applied; seq++ {
		must(w.Put("a", []byte(fmt.Sprintf("k%d", seq)), []byte(fmt.Sprintf("v%d", seq))))
	}
	must(w.Commit())
	must(s.Close())

	log := make([]byte, int64(len(regions))*legacyRegionSize)
	for i, r := range regions {
		start := int64(i) * legacyRegionSize
		h := log[start:]
		le.PutUint32(h[0:], regionMagic)
		le.PutUint32(h[4:], 1)
		copy(h[8:24], legacyID[:])
		le.PutUint64(h[24:], r.epoch)
		le.PutUint64(h[32:], r.first)
		le.PutUint64(h[40:], legacyRegionSize)
		le.PutUint32(h[48:], crc32.Checksum(h[:48], castagnoli))
		off := start + pageSize
		for seq := r.first; seq <= r.last; seq++ {
			payload := encodeWrites(nil, []entry{{key: fmt.Sprintf("a\x00k%d", seq), val: []byte(fmt.Sprintf("v%d", seq))}})
			f := log[off:]
			le.PutUint32(f[0:], frameMagic)
			le.PutUint64(f[4:], r.epoch)
			le.PutUint64(f[12:], seq)
			le.PutUint32(f[20:], uint32(len(payload)))
			le.PutUint32(f[24:], crc32.Update(crc32.Checksum(f[:24], castagnoli), castagnoli, payload))
			copy(f[frameHeaderSize:], payload)
			off += frameLen(len(payload))
		}
	}
	if err := os.WriteFile(path+"-wal", log, 0o600); err != nil {
		t.Fatal(err)
	}
}

// legacyKeys is k<first> … k<last>, as valuesOf would list them.
func legacyKeys(first, last uint64) map[string]string {
	m := map[string]string{}
	for seq := first; seq <= last; seq++ {
		m[fmt.Sprintf("k%d", seq)] = fmt.Sprintf("v%d", seq)
	}
	return m
}

func sameValues(got, want map[string]string) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}

var legacyConfig = Config{RegionSize: legacyRegionSize, CheckpointInterval: 1 << 40}

// TestLegacyLogIsReplayedAndConverted: a version 1 log across both
// regions is replayed in order, and the writable Open converts the
// store: the next opens read a sealed store file and a session log.
func TestLegacyLogIsReplayedAndConverted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	writeLegacyStore(t, path, 2, legacyRegionOf{epoch: 7, first: 1, last: 5}, legacyRegionOf{epoch: 8, first: 6, last: 9})
	ro, err := Open(path, kvtest.Keyspaces, kv.Options{ReadOnly: true}, legacyConfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(t, ro); !sameValues(got, legacyKeys(1, 9)) {
		t.Fatalf("read-only open of a legacy store: %v", got)
	}
	ro.Close()
	e := openWith(t, path, legacyConfig)
	if got := valuesOf(t, e); !sameValues(got, legacyKeys(1, 9)) {
		t.Fatalf("writable open of a legacy store: %v", got)
	}
	if err := put(t, e, "k10", "v10"); err != nil {
		t.Fatal(err)
	}
	e.abandon()
	e = openWith(t, path, legacyConfig)
	defer e.Close()
	if got := valuesOf(t, e); !sameValues(got, legacyKeys(1, 10)) {
		t.Fatalf("after conversion and a crash: %v", got)
	}
	if e.state.session == 0 {
		t.Fatal("the converted store has no log session")
	}
}

// TestLegacyFlippedHeaderIsRefused: the newer region's header, flipped,
// hid the records in it: the store opened without them and a clean
// close made the loss permanent. A region whose header does not check
// out, yet holds records the store file lacks, is damage.
func TestLegacyFlippedHeaderIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	writeLegacyStore(t, path, 0, legacyRegionOf{epoch: 7, first: 1, last: 5}, legacyRegionOf{epoch: 8, first: 6, last: 9})
	flip(t, path, legacyRegionSize+30) // the second region's epoch
	_, err := Open(path, kvtest.Keyspaces, kv.Options{}, legacyConfig)
	var d *Damage
	if !errors.As(err, &d) || !strings.Contains(err.Error(), "header of the log's region at offset 65536 is damaged, yet the region holds record 6") {
		t.Fatalf("a legacy log with a flipped header: %v", err)
	}
	accept := legacyConfig
	accept.AcceptLoss = true
	e := openWith(t, path, accept)
	defer e.Close()
	if got := valuesOf(t, e); !sameValues(got, legacyKeys(1, 5)) || e.Recovery().Loss == nil {
		t.Fatalf("AcceptLoss on it: %v, %+v", got, e.Recovery())
	}
}

// TestLegacyStaleHeaderlessRegionOpens: a region whose header does not
// check out and whose records the store file holds already loses
// nothing: the store opens with the other region's records.
func TestLegacyStaleHeaderlessRegionOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	writeLegacyStore(t, path, 5, legacyRegionOf{epoch: 7, first: 1, last: 5}, legacyRegionOf{epoch: 8, first: 6, last: 9})
	flip(t, path, 30) // the first region's epoch
	e := openWith(t, path, legacyConfig)
	defer e.Close()
	if got := valuesOf(t, e); !sameValues(got, legacyKeys(1, 9)) {
		t.Fatalf("a stale region without its header: %v", got)
	}
}

// TestLegacyStoreBesideAnUnrecognizedFileRefusesIt: a store from before
// log sessions has no word of whether its log holds records, so a file
// at its log's path that is not recognizably a log is refused and left
// as it is, never moved aside as beside a store whose log is not live.
func TestLegacyStoreBesideAnUnrecognizedFileRefusesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	writeLegacyStore(t, path, 2)
	precious := []byte(strings.Repeat("a user's own file, not a log\n", 1000))
	if err := os.WriteFile(path+"-wal", precious, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []kv.Options{{}, {ReadOnly: true}} {
		_, err := Open(path, kvtest.Keyspaces, opts, Config{})
		if !errors.Is(err, errForeignLog) {
			t.Fatalf("open (read-only %v) of a legacy store beside a user's file: %v", opts.ReadOnly, err)
		}
		if got, err := os.ReadFile(path + "-wal"); err != nil || string(got) != string(precious) {
			t.Fatalf("the user's file changed: %v", err)
		}
	}
}
