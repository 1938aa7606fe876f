package importer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
	"pgregory.net/rapid"
)

// TestPipelinedRunMatchesSequential: Run, which reads a batch while the
// one before commits, against runSequential, the importer as it was
// before that overlap (the model), on random inputs mixing good lines,
// store refusals (a duplicate email), bad JSON, bad fields and blank
// lines, with random BatchSize, MaxErrors and Skip: the same Summary,
// error, reported lines and stored profiles.
func TestPipelinedRunMatchesSequential(t *testing.T) {
	dir := t.TempDir()
	runs := 0
	rapid.Check(t, func(t *rapid.T) {
		runs++
		open := func(name string) *relgraph.Store {
			s, err := relgraph.Open(filepath.Join(dir, fmt.Sprintf("%s%d.db", name, runs)), &relgraph.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "crm_id", Type: relgraph.FieldInt}}}); err != nil {
				t.Fatal(err)
			}
			return s
		}
		n := rapid.IntRange(1, 30).Draw(t, "n")
		var in strings.Builder
		for i := 1; i <= n; i++ {
			switch rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("kind%d", i)) {
			case 0, 1:
				fmt.Fprintf(&in, `{"email":"u%d@x.io"}`+"\n", i)
			case 2:
				in.WriteString(`{"email":"dup@x.io"}` + "\n") // second and later: 409
			case 3:
				in.WriteString(`{"email": broken` + "\n")
			case 4:
				in.WriteString(`{"shoe":1}` + "\n")
			case 5:
				in.WriteString("\n")
			}
		}
		opts := Options{DB: 1, BatchSize: rapid.IntRange(1, 6).Draw(t, "batch"), MaxErrors: rapid.IntRange(0, 4).Draw(t, "max"), Skip: rapid.IntRange(0, 3).Draw(t, "skip")}
		stored := func(s *relgraph.Store) []string {
			var out []string
			s.EachProfile(ctx, 1, func(p *relgraph.Profile) error { out = append(out, p.Email); return nil })
			sort.Strings(out)
			return out
		}
		a, b := open("pipelined"), open("sequential")
		defer a.Close()
		defer b.Close()
		var ea, eb bytes.Buffer
		oa, ob := opts, opts
		oa.Errors, ob.Errors = &ea, &eb
		sa, erra := Run(ctx, a, strings.NewReader(in.String()), oa)
		sb, errb := runSequential(ctx, b, strings.NewReader(in.String()), ob)
		// Profile ids begin with their second of creation: the two stores
		// may be a second apart, so reported ids are compared as <id>.
		ids := regexp.MustCompile(`\b[0-9a-f]{24}\b`)
		reported := func(b *bytes.Buffer) string { return ids.ReplaceAllString(b.String(), "<id>") }
		if sa != sb || fmt.Sprint(erra) != fmt.Sprint(errb) || reported(&ea) != reported(&eb) || !slices.Equal(stored(a), stored(b)) {
			t.Fatalf("input:\n%s\nopts %+v\npipelined: %+v %v\n%s%v\nsequential: %+v %v\n%s%v", in.String(), opts, sa, erra, ea.String(), stored(a), sb, errb, eb.String(), stored(b))
		}
	})
}

// runSequential is Run as it was before reading overlapped committing:
// each batch committed and accounted for before the next line is read.
func runSequential(ctx context.Context, s *relgraph.Store, r io.Reader, opts Options) (Summary, error) {
	var sum Summary
	db, err := s.Database(opts.DB)
	if err != nil {
		return sum, err
	}
	if opts.BatchSize <= 0 || opts.BatchSize > relgraph.MaxImportBatch {
		opts.BatchSize = relgraph.MaxImportBatch
	}
	if opts.Errors == nil {
		opts.Errors = io.Discard
	}
	counted := &countingReader{r: r}
	var batch []pending
	type lineError struct {
		line int
		err  error
	}
	var errs []lineError // the current batch's bad lines
	report := func() error {
		slices.SortFunc(errs, func(a, b lineError) int { return a.line - b.line })
		for _, e := range errs {
			fmt.Fprintf(opts.Errors, "line %d: %v\n", e.line, e.err)
		}
		errs = errs[:0]
		if opts.MaxErrors > 0 && sum.Failed >= opts.MaxErrors {
			return fmt.Errorf("%w: %d failed (-max-errors %d)", ErrTooManyErrors, sum.Failed, opts.MaxErrors)
		}
		return nil
	}
	lastLine := 0
	flush := func() error {
		if len(batch) > 0 {
			items := make([]relgraph.ImportItem, len(batch))
			for i, p := range batch {
				items[i] = p.item
			}
			results, err := s.ImportBatch(ctx, opts.DB, items)
			if err != nil {
				return fmt.Errorf("lines %d to %d: %w", batch[0].line, batch[len(batch)-1].line, err)
			}
			for i, res := range results {
				switch {
				case res.Err != nil:
					sum.Failed++
					errs = append(errs, lineError{line: batch[i].line, err: res.Err})
				case res.Created:
					sum.Created++
				default:
					sum.Updated++
				}
			}
			batch = batch[:0]
		}
		sum.Committed = lastLine
		if opts.Progress != nil {
			opts.Progress(counted.n)
		}
		return report()
	}
	skipped := func(line int) bool {
		sum.Lines++
		lastLine = line
		if line <= opts.Skip {
			sum.Skipped++
			sum.Committed = line
			return true
		}
		return false
	}
	failed := func(line int, err error) error {
		sum.Failed++
		errs = append(errs, lineError{line: line, err: err})
		if opts.MaxErrors > 0 && sum.Failed >= opts.MaxErrors {
			return flush()
		}
		return nil
	}
	in := lines{
		add: func(line int, _ []byte, fields map[string]any) error {
			if skipped(line) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			item, err := itemFor(fields, &db, opts)
			if err != nil {
				return failed(line, err)
			}
			batch = append(batch, pending{line: line, item: item})
			if len(batch) >= opts.BatchSize {
				return flush()
			}
			return nil
		},
		bad: func(line int, _ []byte, err error) error {
			if skipped(line) {
				return nil
			}
			return failed(line, err)
		},
	}
	switch opts.Format {
	case CSV:
		err = readCSV(counted, in)
	case JSONL, "":
		err = readJSONL(counted, opts.MaxLineBytes, in)
	default:
		return sum, fmt.Errorf("unknown format %q (jsonl, csv)", opts.Format)
	}
	if err != nil {
		return sum, err
	}
	return sum, flush()
}
