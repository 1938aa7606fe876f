package importer

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

type cancelReader struct {
	r      io.Reader
	n, at  int
	cancel func()
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if len(p) > 7 {
		p = p[:7]
	}
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.at {
		c.cancel()
	}
	return n, err
}

// ctx ends at a random point of the input, whatever is in flight:
// every line up to Committed is stored, none after it, and no goroutine
// is left behind.
func TestCanceledImportCommittedIsExact(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	before := goleak.IgnoreCurrent()
	rapid.Check(t, func(t *rapid.T) {
		runs++
		s, err := relgraph.Open(filepath.Join(dir, fmt.Sprintf("c%d.db", runs)), &relgraph.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
			t.Fatal(err)
		}
		n := rapid.IntRange(1, 60).Draw(t, "n")
		var in strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&in, `{"email":"u%d@x.io"}`+"\n", i)
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := &cancelReader{r: strings.NewReader(in.String()), at: rapid.IntRange(0, in.Len()).Draw(t, "at"), cancel: cancel}
		sum, err := Run(cctx, s, r, Options{DB: 1, BatchSize: rapid.IntRange(1, 7).Draw(t, "batch")})
		for i := 1; i <= n; i++ {
			_, gerr := s.GetProfile(ctx, 1, relgraph.Locator{Email: fmt.Sprintf("u%d@x.io", i)})
			if stored := gerr == nil; stored != (i <= sum.Committed) {
				t.Fatalf("line %d stored %v, Committed %d (%+v, %v)", i, stored, sum.Committed, sum, err)
			}
		}
		if sum.Created != sum.Committed && err == nil {
			t.Fatalf("%+v", sum)
		}
	})
	goleak.VerifyNone(t, before) // retries while finished goroutines exit
}
