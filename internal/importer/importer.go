// Package importer loads profiles from JSON Lines or CSV files into a
// relgraph database, in large transactions, reporting per-line errors
// with their line numbers without stopping at them.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
)

// Format is an input format.
type Format string

// The input formats.
const (
	JSONL Format = "jsonl" // one JSON object per line, keys as profiles/import data
	CSV   Format = "csv"   // a header of field names, then one profile per row
)

// Options say how lines become imports.
type Options struct {
	DB     uint32
	Format Format
	// Matching picks the locator from each line's own data: "email",
	// "phone" (the first phone), "profile_id" (the line's profile_id
	// key; it only updates, as the platform's matching) or "custom" (the
	// line's value of Field). Empty: a line with a profile_id restores
	// that profile (an export's line: created with its id if absent),
	// any other line creates a profile.
	Matching relgraph.Mode
	Field    string
	// BatchSize is the number of lines per transaction (default and at
	// most relgraph.MaxImportBatch).
	BatchSize int
	// MaxLineBytes bounds a JSON Lines line (default 16 MiB); a longer
	// line is a bad line like any other.
	MaxLineBytes int
	// Errors receives one line per failed input line: "line N: reason",
	// in line order (a batch's lines at its commit).
	Errors io.Writer
	// MaxErrors stops the import, with ErrTooManyErrors, once at least
	// that many lines failed (0: never). What the lines before hold is
	// committed. The store's refusals are known when their batch
	// commits, so a batch may add a few failures past the bound.
	MaxErrors int
	// Skip skips the lines numbered up to Skip (the numbers errors
	// report; a CSV header is line 1), counting them in Lines and
	// Committed: how an interrupted import resumes.
	Skip int
	// Progress, if set, is called after each batch with the input bytes
	// consumed so far.
	Progress func(bytesRead int64)
}

// Summary counts what an import did: Lines counts the lines that are
// not blank (errors name lines by their number in the file, blank ones
// included). Committed is the last line whose
// outcome is committed (or skipped): every line up to it is done.
type Summary struct {
	Lines, Created, Updated, Failed, Skipped int
	Committed                                int
}

// ErrTooManyErrors stops an import at Options.MaxErrors failed lines.
var ErrTooManyErrors = errors.New("too many bad lines")

func (s Summary) String() string {
	lines := "lines"
	if s.Lines == 1 {
		lines = "line"
	}
	out := fmt.Sprintf("%d %s: %d created, %d updated, %d failed", s.Lines, lines, s.Created, s.Updated, s.Failed)
	if s.Skipped > 0 {
		out += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	return out
}

type pending struct {
	line int
	item relgraph.ImportItem
}

// Run imports everything r holds. The error is for what stops the whole
// import (an unknown database, unreadable input, a failed commit, ctx
// ending, ErrTooManyErrors); bad lines only count as Failed and are
// reported to opts.Errors, in line order as each batch commits.
func Run(ctx context.Context, s *relgraph.Store, r io.Reader, opts Options) (Summary, error) {
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
					errs = append(errs, lineError{batch[i].line, res.Err})
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
		errs = append(errs, lineError{line, err})
		if opts.MaxErrors > 0 && sum.Failed >= opts.MaxErrors {
			return flush()
		}
		return nil
	}
	in := lines{
		add: func(line int, fields map[string]any) error {
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
			batch = append(batch, pending{line, item})
			if len(batch) >= opts.BatchSize {
				return flush()
			}
			return nil
		},
		bad: func(line int, err error) error {
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

// DefaultMaxLineBytes is the default of Options.MaxLineBytes.
const DefaultMaxLineBytes = 16 << 20

// lines receives an input's lines: add a line's fields, or bad a line
// that has none (a line that cannot be read or parsed). An error from
// either stops the import.
type lines struct {
	add func(line int, fields map[string]any) error
	bad func(line int, err error) error
}

func readJSONL(r io.Reader, limit int, in lines) error {
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		raw, tooLong, err := readLine(br, limit)
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading input: %w", err)
		}
		if tooLong {
			if err := in.bad(line, fmt.Errorf("longer than %d bytes", limit)); err != nil {
				return err
			}
			continue
		}
		text := bytes.TrimSpace(raw)
		if len(text) == 0 {
			if err == io.EOF {
				return nil
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var fields map[string]any
		if err := dec.Decode(&fields); err != nil || dec.More() {
			if err == nil {
				err = errors.New("data after the object")
			}
			if err := in.bad(line, fmt.Errorf("not a JSON object: %w", err)); err != nil {
				return err
			}
			continue
		}
		if err := in.add(line, fields); err != nil {
			return err
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads one line of at most limit bytes. A longer one is read
// to its end and dropped: tooLong, and no bytes. err is io.EOF at the
// end of the input (with the last line, if it has no newline).
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong && len(line)+len(chunk) <= limit {
			line = append(line, chunk...)
		} else {
			tooLong, line = true, nil
		}
		if err != bufio.ErrBufferFull {
			return line, tooLong, err
		}
	}
}

func readCSV(r io.Reader, in lines) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading the CSV header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				if err := in.bad(perr.Line, perr.Err); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("reading input: %w", err)
		}
		line, _ := cr.FieldPos(0) // valid only after a successful read
		if len(row) != len(header) {
			if err := in.bad(line, fmt.Errorf("%d cells, the header has %d", len(row), len(header))); err != nil {
				return err
			}
			continue
		}
		fields := map[string]any{}
		for i, cell := range row {
			if cell = strings.TrimSpace(cell); cell == "" {
				continue // an empty cell sets nothing
			}
			if header[i] == "phones" {
				var phones []any
				for _, p := range strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' }) {
					phones = append(phones, strings.TrimSpace(p))
				}
				fields["phones"] = phones
				continue
			}
			fields[header[i]] = cell
		}
		if err := in.add(line, fields); err != nil {
			return err
		}
	}
}

// itemFor turns one line's fields into an import: the locator by
// opts.Matching, the rest as profile data.
func itemFor(fields map[string]any, db *relgraph.Database, opts Options) (relgraph.ImportItem, error) {
	var item relgraph.ImportItem
	pid, _ := fields["profile_id"].(string)
	delete(fields, "profile_id")
	data, err := api.ProfileData(fields, db)
	if err != nil {
		return item, err
	}
	item.Data = data
	switch opts.Matching {
	case "":
		// An export's line: its profile, restored with its id.
		if pid != "" {
			item.Locator, item.KeepID = relgraph.Locator{ProfileID: pid}, true
		}
	case relgraph.ModeProfileID: // only updates, as the platform's matching
		if pid == "" {
			return item, errors.New("no profile_id to match on")
		}
		item.Locator = relgraph.Locator{ProfileID: pid}
	case relgraph.ModeEmail, relgraph.ModeEmailProfile, relgraph.ModeEmailSub:
		if data.Email == nil || *data.Email == "" {
			return item, errors.New("no email to match on")
		}
		item.Locator = relgraph.Locator{Matching: opts.Matching, Email: *data.Email}
	case relgraph.ModePhone, relgraph.ModePhoneSub:
		if data.Phones == nil || len(*data.Phones) == 0 {
			return item, errors.New("no phone to match on")
		}
		item.Locator = relgraph.Locator{Matching: opts.Matching, Phone: (*data.Phones)[0]}
	case relgraph.ModeCustom:
		v, ok := data.Fields[opts.Field]
		if !ok || v == nil {
			return item, fmt.Errorf("no %s to match on", opts.Field)
		}
		item.Locator = relgraph.Locator{Matching: relgraph.ModeCustom, FieldName: opts.Field, FieldValue: v}
	default:
		return item, fmt.Errorf("unknown matching %q", opts.Matching)
	}
	return item, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
