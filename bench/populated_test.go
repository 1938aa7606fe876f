package bench

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relgraph/relgraph"
)

// The populated store: PopulatedA A profiles, each related to the first
// PopulatedB B profiles (200,000 relations with user_like, donate and
// is_online), so overwrites land on existing relations in trees of a
// realistic size, as the floor's Puts land in a bucket of a million keys.
const (
	PopulatedA = 1000
	PopulatedB = 200
)

// populatedTemplate is built once per process (about 10 s) and copied
// for every benchmark run, so each starts from the same bytes.
var populatedTemplate struct {
	once sync.Once
	dir  string
	A, B []relgraph.ProfileID
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if populatedTemplate.dir != "" {
		os.RemoveAll(populatedTemplate.dir)
	}
	os.Exit(code)
}

// populated returns a fresh copy of the populated store, opened durable.
func populated(b *testing.B) *Fixture {
	b.Helper()
	t := &populatedTemplate
	t.once.Do(func() {
		if t.dir, t.err = os.MkdirTemp("", "relgraph-populated-"); t.err != nil {
			return
		}
		t.A, t.B, t.err = buildPopulated(filepath.Join(t.dir, "store.db"))
	})
	if t.err != nil {
		b.Fatal(t.err)
	}
	path := filepath.Join(b.TempDir(), "store.db")
	if err := copyFile(filepath.Join(t.dir, "store.db"), path); err != nil {
		b.Fatal(err)
	}
	s, e, err := Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return &Fixture{Store: s, Engine: e, A: t.A, B: t.B}
}

func buildPopulated(path string) (a, b []relgraph.ProfileID, err error) {
	f, err := NewFixture(path, &relgraph.Options{NoSync: true}, PopulatedA, 1000)
	if err != nil {
		return nil, nil, err
	}
	const perCommit = 25 // A profiles per transaction
	for start := 0; start < PopulatedA; start += perCommit {
		err := f.Store.Update(ctx, func(tx *relgraph.Tx) error {
			for i := start; i < start+perCommit && i < PopulatedA; i++ {
				for j := range PopulatedB {
					if _, err := tx.Overwrite(f.OverwriteByID(i, j, int64(i*j))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			f.Store.Close()
			return nil, nil, err
		}
	}
	return f.A, f.B, f.Store.Close()
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Synced, so that the copy's writeback does not load the disk while
	// the benchmark measures syncs.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
