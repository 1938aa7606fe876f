package relgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relgraph/relgraph/internal/fuzzseed"
)

// A damaged store file must give errors, never a crash: Open refuses
// what it cannot read, and what it opens can be checked and read to the
// end without a panic or a fault. These tests damage a small store made
// by damagedBase and open the result read-only, as the tools do.

var damagedBase struct {
	once   sync.Once
	bytes  []byte
	digest string
	err    error
}

// damageBase returns the bytes of a small store spanning every keyspace
// over a few dozen pages, and its digest.
func damageBase(t testing.TB) ([]byte, string) {
	damagedBase.once.Do(func() {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("relgraph-damage-%d.db", os.Getpid()))
		defer os.Remove(path)
		s, err := Open(path, &Options{NoSync: true})
		if err != nil {
			damagedBase.err = err
			return
		}
		testSchema(t, s)
		var as []ProfileID
		for i := range 120 {
			id, _, err := s.ImportProfile(ctx, 1, Locator{}, ProfileData{Email: Ptr(fmt.Sprintf("p%d@x.io", i)),
				Phones:        &[]string{fmt.Sprintf("+1555000%04d", i)},
				Fields:        map[string]any{"crm_id": i, "city": "c" + fmt.Sprint(i%7), "interests": []string{"a", "b"}},
				Subscriptions: []Subscription{{ResourceID: 1, Channel: ChannelEmail, Email: fmt.Sprintf("s%d@x.io", i)}}})
			must(t, err)
			as = append(as, id)
		}
		bs := importBs(t, s, 20)
		for i, a := range as {
			for j := range 4 {
				_, err := s.Overwrite(ctx, RelationRequest{RelationType: 3, A: idLoc(a), B: idLoc(bs[(i+j)%len(bs)]),
					Weights: map[string]any{"user_like": i, "donate": j * i, "rating": 0.25 * float64(i)}})
				must(t, err)
			}
		}
		damagedBase.digest, damagedBase.err = s.Digest(ctx)
		if err := s.Close(); err != nil && damagedBase.err == nil {
			damagedBase.err = err
		}
		damagedBase.bytes, _ = os.ReadFile(path)
	})
	if damagedBase.err != nil {
		t.Fatal(damagedBase.err)
	}
	return damagedBase.bytes, damagedBase.digest
}

// readDamaged opens the file read-only and reads all of it: the file
// check, Check, every profile and the digest. It returns whether every
// step came out clean, and the digest; any problem must be an error,
// not a crash.
func readDamaged(path string) (clean bool, digest string) {
	s, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		return false, ""
	}
	defer s.Close()
	clean = len(s.CheckFile(ctx)) == 0
	if problems, err := s.Check(ctx); err != nil || len(problems) > 0 {
		clean = false
	}
	for _, d := range s.Databases() {
		if err := s.EachProfile(ctx, d.ID, func(*Profile) error { return nil }); err != nil {
			clean = false
		}
	}
	digest, err = s.Digest(ctx)
	return clean && err == nil, digest
}

// TestDamagedFilesGiveErrors truncates the store at every page boundary
// and flips 600 random bytes of the pages in use, one per copy. A cut below the pages in
// use is refused by Open with ErrCorrupt; a cut in the file's unused
// tail (bbolt grows files ahead of use) loses nothing. A flip is
// refused, reported, or, when every check comes out clean, the copy
// holds exactly the data of the original (the flip hit unused space).
func TestDamagedFilesGiveErrors(t *testing.T) {
	base, digest := damageBase(t)
	dir := t.TempDir()
	const page = 4096
	if len(base)/page < 20 {
		t.Fatalf("the base store has %d pages, want a few dozen", len(base)/page)
	}
	refused := 0
	for n := page; n < len(base); n += page {
		path := filepath.Join(dir, fmt.Sprintf("cut%d.db", n))
		must(t, os.WriteFile(path, base[:n], 0o600))
		s, err := Open(path, &Options{ReadOnly: true})
		if err == nil {
			s.Close()
			if clean, got := readDamaged(path); !clean || got != digest {
				t.Fatalf("cut to %d of %d bytes: opened, but the data is not the original's", n, len(base))
			}
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut to %d of %d bytes: Open gave %v, want ErrCorrupt", n, len(base), err)
		}
		if refused++; refused != n/page {
			t.Fatalf("cut to %d bytes refused after a shorter cut opened", n)
		}
	}
	if refused < 20 {
		t.Fatalf("only %d cuts were refused", refused)
	}
	used := (refused + 1) * page // the pages below the high water mark
	rng := rand.New(rand.NewPCG(1, 2))
	reported := 0
	for i := range 600 {
		b := append([]byte{}, base...)
		at := rng.IntN(used)
		b[at] ^= byte(1 + rng.IntN(255))
		path := filepath.Join(dir, fmt.Sprintf("flip%d.db", i))
		must(t, os.WriteFile(path, b, 0o600))
		clean, got := readDamaged(path)
		if clean && got != digest {
			t.Fatalf("flip at byte %d went unreported and changed the data", at)
		}
		if !clean {
			reported++
		}
		os.Remove(path)
	}
	t.Logf("600 flips: %d reported, %d in unused space", reported, 600-reported)
	if reported == 0 {
		t.Fatal("no flip was reported: the test damaged nothing")
	}
}

func TestWriteDamageSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	fuzzseed.Write(t, "FuzzDamagedFile", damageSeeds()...)
}

// damageSeeds: a flip in a meta page, in the root's page, in a data
// page, and a cut in the middle.
func damageSeeds() [][]byte {
	seeds := [][]byte{}
	for _, at := range []uint32{20, 4096 + 60, 3*4096 + 17, 9*4096 + 300} {
		seeds = append(seeds, append(binary.BigEndian.AppendUint32(nil, at), 0x40))
	}
	return append(seeds, []byte{0x80})
}

// FuzzDamagedFile applies the fuzzer's damage to the base store: a
// leading single byte cuts the file at that fraction of its length;
// then each 5 bytes flip the bits of one byte (4-byte offset, modulo
// the length, and the xor mask). Whatever the damage, opening and
// reading the file gives errors, never a panic or a fault.
func FuzzDamagedFile(f *testing.F) {
	for _, s := range damageSeeds() {
		f.Add(s)
	}
	base, _ := damageBase(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, damage []byte) {
		b := append([]byte{}, base...)
		if len(damage)%5 == 1 {
			b = b[:len(b)*int(damage[0])/256]
			damage = damage[1:]
		}
		for ; len(damage) >= 5 && len(b) > 0; damage = damage[5:] {
			b[int(binary.BigEndian.Uint32(damage))%len(b)] ^= damage[4]
		}
		path := filepath.Join(dir, "fuzz.db")
		must(t, os.WriteFile(path, b, 0o600))
		readDamaged(path)
	})
}
