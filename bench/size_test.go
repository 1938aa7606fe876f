package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
)

// BenchmarkRelationBytes stores 100,000 relations (1,000 A × 100 B, each
// with user_like and donate) and reports their bytes: keys and values in
// the adjacency and reverse keyspaces, and the bbolt file, per relation.
//
//	go test -run '^$' -bench RelationBytes -benchtime 1x .
func BenchmarkRelationBytes(b *testing.B) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "size.db")
		f, err := NewFixture(path, &relgraph.Options{NoSync: true}, 1000, 100)
		if err != nil {
			b.Fatal(err)
		}
		s := f.Store
		for start := 0; start < 1000; start += 100 {
			err := s.Update(ctx, func(tx *relgraph.Tx) error {
				for i := start; i < start+100; i++ {
					for j := 0; j < 100; j++ {
						if _, err := tx.Overwrite(f.OverwriteByID(i, j, int64(i*j))); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		const rels = 100000
		logical, err := keyspaceBytes(f.Engine, index.Adjacency, index.ReverseEdges)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(logical)/rels, "data-B/relation")
		b.ReportMetric(float64(st.Size())/rels, "file-B/relation")
	}
}

// keyspaceBytes adds up the key and value bytes of the keyspaces.
func keyspaceBytes(e kv.Engine, keyspaces ...kv.Keyspace) (int, error) {
	txn, err := e.Begin(ctx, false)
	if err != nil {
		return 0, err
	}
	defer txn.Rollback()
	n := 0
	for _, ks := range keyspaces {
		c, err := txn.Cursor(ks)
		if err != nil {
			return 0, err
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			n += len(k) + len(v)
		}
		if err := c.Err(); err != nil {
			return 0, err
		}
	}
	return n, nil
}
