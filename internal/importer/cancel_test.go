package importer

import (
	"context"
	"encoding/json"
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
// every line up to Committed is stored, none after it; the summary and
// the rejects count exactly the lines up to Committed (what a resume
// from Committed reads again is not counted twice); and no goroutine is
// left behind.
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
		bad := map[int]bool{}
		var in strings.Builder
		for i := 1; i <= n; i++ {
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0:
				bad[i] = true
				fmt.Fprintf(&in, "not json %d\n", i) // refused by the reader
			case 1:
				bad[i] = true
				fmt.Fprintf(&in, `{"email":"u%d@x.io","shoe":1}`+"\n", i) // refused by the store
			default:
				fmt.Fprintf(&in, `{"email":"u%d@x.io"}`+"\n", i)
			}
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var rejects, errs strings.Builder
		r := &cancelReader{r: strings.NewReader(in.String()), at: rapid.IntRange(0, in.Len()).Draw(t, "at"), cancel: cancel}
		sum, err := Run(cctx, s, r, Options{DB: 1, BatchSize: rapid.IntRange(1, 7).Draw(t, "batch"), Rejects: &rejects, Errors: &errs})
		wantFailed := 0
		for i := 1; i <= n; i++ {
			_, gerr := s.GetProfile(ctx, 1, relgraph.Locator{Email: fmt.Sprintf("u%d@x.io", i)})
			if stored := gerr == nil; stored != (i <= sum.Committed && !bad[i]) {
				t.Fatalf("line %d stored %v, Committed %d (%+v, %v)", i, stored, sum.Committed, sum, err)
			}
			if bad[i] && i <= sum.Committed {
				wantFailed++
			}
		}
		if sum.Lines != sum.Committed || sum.Failed != wantFailed || sum.Created != sum.Committed-wantFailed {
			t.Fatalf("summary %+v, want %d lines and %d failed", sum, sum.Committed, wantFailed)
		}
		rejected := strings.Split(strings.TrimSpace(rejects.String()), "\n")
		if rejects.Len() == 0 {
			rejected = nil
		}
		if len(rejected) != wantFailed || strings.Count(errs.String(), "\n") != wantFailed {
			t.Fatalf("%d rejects and %d errors for %d failed lines:\n%s", len(rejected), strings.Count(errs.String(), "\n"), wantFailed, rejects.String())
		}
		for _, rec := range rejected {
			var j struct {
				Line  int
				Error string
				Input string
			}
			if err := json.Unmarshal([]byte(rec), &j); err != nil || !bad[j.Line] || j.Error == "" || !strings.Contains(j.Input, fmt.Sprint(j.Line)) {
				t.Fatalf("reject %q: %v", rec, err)
			}
		}
	})
	goleak.VerifyNone(t, before) // retries while finished goroutines exit
}
