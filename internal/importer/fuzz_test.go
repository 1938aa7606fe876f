package importer

import (
	"bytes"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/internal/fuzzseed"
)

func TestWriteFuzzSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	fuzzseed.Write(t, "FuzzImportLines",
		[]byte("{\"email\":\"a@x.io\",\"crm_id\":1,\"interests\":\"a,b\"}\n{\"profile_id\":\"5d63dbdb439e7306b596c5d0\"}\nnot json\n"),
		[]byte("email,phones,crm_id\na@x.io,+15550000001;+15550000002,7\n\"unterminated\n"))
}

var (
	fuzzStore     *relgraph.Store
	fuzzStoreOnce sync.Once
)

// FuzzImportLines feeds the bytes as JSON Lines and as CSV to a real
// store: bad lines are counted and reported, never a panic; the counts
// always add up.
func FuzzImportLines(f *testing.F) {
	f.Add([]byte("{\"email\":\"a@x.io\"}\n"))
	f.Add([]byte("email,crm_id\nb@x.io,2\n"))
	fuzzStoreOnce.Do(func() {
		var err error
		fuzzStore, err = relgraph.Open(filepath.Join(f.TempDir(), "fuzz.db"), &relgraph.Options{NoSync: true})
		if err != nil {
			f.Fatal(err)
		}
		if err := fuzzStore.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{
			{Name: "crm_id", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags}}}); err != nil {
			f.Fatal(err)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []Format{JSONL, CSV} {
			sum, err := Run(ctx, fuzzStore, bytes.NewReader(b), Options{DB: 1, Format: format, Matching: relgraph.ModeEmail, Errors: io.Discard})
			if err != nil {
				continue // unreadable input as a whole (a CSV without a header)
			}
			if sum.Created+sum.Updated+sum.Failed != sum.Lines {
				t.Fatalf("%s: counts do not add up: %+v", format, sum)
			}
		}
	})
}
