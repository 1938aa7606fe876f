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
	// Report, if set, is called after each batch commits with the
	// summary so far (its Committed line is done).
	Report func(Summary)
	// Rejects, if set, receives each refused line as one JSON object,
	// {"line": N, "error": "…", "input": "…"} (input: the line as read,
	// a CSV row as CSV; empty for a line longer than MaxLineBytes), in
	// line order as each batch commits: the file a user fixes and
	// imports again.
	Rejects io.Writer
}

// Summary counts what an import did: Lines counts the lines that are
// not blank (errors name lines by their number in the file, blank ones
// included). Committed is the last line whose
// outcome is committed (or skipped): every line up to it is done. Every
// count is of committed (or skipped) lines only: an import stopped
// midway counts nothing of the lines it read but did not commit, which
// a resume (Skip = Committed) reads, counts and reports again.
type Summary struct {
	Lines, Created, Updated, Failed, Skipped int
	Committed                                int
}

// ErrTooManyErrors stops an import at Options.MaxErrors failed lines.
var ErrTooManyErrors = errors.New("too many bad lines")

// String is the summary in one line: lines read, created, updated,
// failed and (if any) skipped.
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
	raw  []byte // the line as read, kept for Options.Rejects
	item relgraph.ImportItem
}

// Run imports everything r holds. The error is for what stops the whole
// import (an unknown database, unreadable input, a failed commit, ctx
// ending, ErrTooManyErrors); bad lines only count as Failed and are
// reported to opts.Errors, in line order as each batch commits.
//
// One batch commits while the next is read: reading and decoding lines
// takes about a third of an import's time, and would otherwise leave
// the store idle. Batches still commit one at a time and in order, and
// each is accounted for (counted, its bad lines reported, the
// max-errors bound checked) before the next one is sent.
func Run(ctx context.Context, s *relgraph.Store, r io.Reader, opts Options) (Summary, error) {
	db, err := s.Database(opts.DB)
	if err != nil {
		return Summary{}, err
	}
	if opts.BatchSize <= 0 || opts.BatchSize > relgraph.MaxImportBatch {
		opts.BatchSize = relgraph.MaxImportBatch
	}
	if opts.Errors == nil {
		opts.Errors = io.Discard
	}
	run := &run{ctx: ctx, s: s, opts: opts, counted: &countingReader{r: r}, cur: &batch{}}
	keep := func(raw []byte) []byte {
		if opts.Rejects == nil {
			return nil
		}
		return raw
	}
	in := lines{
		keepRaw: opts.Rejects != nil,
		add: func(line int, raw []byte, fields map[string]any) error {
			if run.skipped(line) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			item, err := itemFor(fields, &db, opts)
			if err != nil {
				return run.failed(line, keep(raw), err)
			}
			run.cur.items = append(run.cur.items, pending{line, keep(raw), item})
			if len(run.cur.items) >= opts.BatchSize {
				return run.cut()
			}
			return nil
		},
		bad: func(line int, raw []byte, err error) error {
			if run.skipped(line) {
				return nil
			}
			return run.failed(line, keep(raw), err)
		},
	}
	if err = readLines(run.counted, opts, in); errors.Is(err, errUnknownFormat) {
		return run.sum, err
	}
	if err == nil {
		err = run.cut()
	}
	// Whatever stopped the reading, the batch in flight is accounted for
	// (a commit under way cannot be called back).
	if serr := run.settle(); err == nil {
		err = serr
	}
	if err == nil && run.overMax() {
		err = run.tooMany()
	}
	return run.sum, err
}

// Items reads r as Run reads it (opts' Format, MaxLineBytes, Matching
// and Field against database db) and hands each line that becomes an
// import to fn, in line order, without a store: the lines a loader
// other than relgraph is to load, decoded and coerced by the same code
// (relbench loads the realistic file into SQLite through it). Lines
// that fail before becoming an item are counted in failed, not handed
// on; an error from fn, or unreadable input, ends the reading.
func Items(r io.Reader, db *relgraph.Database, opts Options, fn func(line int, item relgraph.ImportItem) error) (failed int, err error) {
	in := lines{
		add: func(line int, _ []byte, fields map[string]any) error {
			item, err := itemFor(fields, db, opts)
			if err != nil {
				failed++
				return nil
			}
			return fn(line, item)
		},
		bad: func(int, []byte, error) error { failed++; return nil },
	}
	return failed, readLines(r, opts, in)
}

var errUnknownFormat = errors.New("unknown format")

// readLines hands r's lines to in, read in opts.Format.
func readLines(r io.Reader, opts Options, in lines) error {
	switch opts.Format {
	case CSV:
		return readCSV(r, in)
	case JSONL, "":
		return readJSONL(r, opts.MaxLineBytes, in)
	}
	return fmt.Errorf("%w %q (jsonl, csv)", errUnknownFormat, opts.Format)
}

// run is one import in progress.
type run struct {
	ctx      context.Context
	s        *relgraph.Store
	opts     Options
	counted  *countingReader
	sum      Summary
	lastLine int
	cur      *batch // being read
	inflight *batch // committing: sent, not yet accounted for
}

// batch is the lines of one transaction: the items to import, and the
// lines among them that failed before becoming items (reported with
// the batch's own refusals, in line order).
type batch struct {
	items   []pending
	lines   int // lines read into it (Summary.Lines)
	errs    []lineError
	endLine int   // the last line read into it: done once it commits
	bytes   int64 // input consumed up to endLine
	done    chan struct{}
	results []relgraph.ImportResult
	err     error
}

type lineError struct {
	line int
	raw  []byte
	err  error
}

// skipped counts a line and reports whether -skip skips it. A line not
// skipped is counted with its batch, when the batch commits.
func (r *run) skipped(line int) bool {
	r.lastLine = line
	if line <= r.opts.Skip {
		r.sum.Lines++
		r.sum.Skipped++
		r.sum.Committed = line
		return true
	}
	r.cur.lines++
	return false
}

// failed records a line that failed before becoming an item. With a
// max-errors bound, the batch in flight is accounted for first (only a
// bad line waits for it): if its refusals reached the bound, the import
// stops after it. If this line reaches it, what was read is committed
// and the import stops.
func (r *run) failed(line int, raw []byte, err error) error {
	if r.opts.MaxErrors > 0 {
		if err := r.settle(); err != nil {
			return err
		}
		if r.overMax() {
			return r.dropAndStop()
		}
	}
	r.cur.errs = append(r.cur.errs, lineError{line, raw, err})
	if !r.overMax() {
		return nil
	}
	r.send() // nothing is in flight: settled above
	if err := r.settle(); err != nil {
		return err
	}
	return r.tooMany()
}

// overMax reports whether the failures so far, committed or in the
// batch being read, reached Options.MaxErrors.
func (r *run) overMax() bool {
	return r.opts.MaxErrors > 0 && r.sum.Failed+len(r.cur.errs) >= r.opts.MaxErrors
}

func (r *run) tooMany() error {
	return fmt.Errorf("%w: %d failed (-max-errors %d)", ErrTooManyErrors, r.sum.Failed, r.opts.MaxErrors)
}

// cut ends the batch being read: once the batch in flight is accounted
// for, it is sent to commit. If that one brought the failures to the
// max-errors bound, the import stops after it instead.
func (r *run) cut() error {
	if err := r.settle(); err != nil {
		return err
	}
	if r.overMax() {
		return r.dropAndStop()
	}
	r.send()
	return nil
}

// dropAndStop stops the import at the bound the batch just accounted
// for reached, as it stopped before the next batch was read alongside:
// the lines read since are neither committed nor counted (Committed
// says where to resume). They hold no bad line already counted: a bad
// line settles the batch in flight before it is counted (failed).
func (r *run) dropAndStop() error {
	r.cur = &batch{}
	return r.tooMany()
}

// send starts committing the batch being read; it is in flight until
// settled.
func (r *run) send() {
	b := r.cur
	r.cur = &batch{}
	b.endLine, b.bytes = r.lastLine, r.counted.n
	b.done = make(chan struct{})
	r.inflight = b
	if len(b.items) == 0 {
		close(b.done)
		return
	}
	items := make([]relgraph.ImportItem, len(b.items))
	for i, p := range b.items {
		items[i] = p.item
	}
	go func() {
		defer close(b.done)
		b.results, b.err = r.s.ImportBatch(r.ctx, r.opts.DB, items)
	}()
}

// settle waits for the batch in flight, if any, and accounts for it:
// its counts, its bad lines in line order, Committed, progress.
func (r *run) settle() error {
	b := r.inflight
	if b == nil {
		return nil
	}
	r.inflight = nil
	<-b.done
	if b.err != nil {
		return fmt.Errorf("lines %d to %d: %w", b.items[0].line, b.items[len(b.items)-1].line, b.err)
	}
	r.sum.Lines += b.lines
	for i, res := range b.results {
		switch {
		case res.Err != nil:
			b.errs = append(b.errs, lineError{b.items[i].line, b.items[i].raw, res.Err})
		case res.Created:
			r.sum.Created++
		default:
			r.sum.Updated++
		}
	}
	r.sum.Failed += len(b.errs)
	slices.SortFunc(b.errs, func(x, y lineError) int { return x.line - y.line })
	for _, e := range b.errs {
		fmt.Fprintf(r.opts.Errors, "line %d: %v\n", e.line, e.err)
		if r.opts.Rejects != nil {
			rec, _ := json.Marshal(struct {
				Line  int    `json:"line"`
				Error string `json:"error"`
				Input string `json:"input"`
			}{e.line, e.err.Error(), string(bytes.TrimRight(e.raw, "\r\n"))})
			r.opts.Rejects.Write(append(rec, '\n'))
		}
	}
	r.sum.Committed = b.endLine
	if r.opts.Progress != nil {
		r.opts.Progress(b.bytes)
	}
	if r.opts.Report != nil {
		r.opts.Report(r.sum)
	}
	return nil
}

// DefaultMaxLineBytes is the default of Options.MaxLineBytes.
const DefaultMaxLineBytes = 16 << 20

// lines receives an input's lines: add a line's fields, or bad a line
// that has none (a line that cannot be read or parsed). An error from
// either stops the import.
type lines struct {
	add func(line int, raw []byte, fields map[string]any) error
	bad func(line int, raw []byte, err error) error
	// keepRaw: raw is wanted (Options.Rejects); a CSV row is then
	// written out again as CSV, which costs, so only then.
	keepRaw bool
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
			if err := in.bad(line, nil, fmt.Errorf("longer than %d bytes", limit)); err != nil {
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
			if err := in.bad(line, raw, fmt.Errorf("not a JSON object: %w", err)); err != nil {
				return err
			}
			continue
		}
		if err := in.add(line, raw, fields); err != nil {
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
				if err := in.bad(perr.Line, nil, perr.Err); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("reading input: %w", err)
		}
		line, _ := cr.FieldPos(0) // valid only after a successful read
		if len(row) != len(header) {
			if err := in.bad(line, in.csvRaw(row), fmt.Errorf("%d cells, the header has %d", len(row), len(header))); err != nil {
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
		if err := in.add(line, in.csvRaw(row), fields); err != nil {
			return err
		}
	}
}

// csvRaw is a CSV row as a line of CSV (a rejected row, as its input),
// when raw lines are wanted.
func (in lines) csvRaw(row []string) []byte {
	if !in.keepRaw {
		return nil
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(row)
	w.Flush()
	return b.Bytes()
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
