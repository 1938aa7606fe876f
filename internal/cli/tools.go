package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/client"
	"github.com/relgraph/relgraph/internal/importer"
)

// recordPhoneRegion makes the store remember the phone region an import
// reads its phones in (-phone-region, or RELGRAPH_PHONE_REGION), so that
// the server and every tool read them alike afterwards, with or without
// the flag: a database that declares no region gets this one (said on
// out); one that declares another is refused, since its stored phones
// were read in that one.
//
// It is in two steps: phoneRegionToRecord checks (before anything is
// written), recordPhoneRegion writes.
func recordPhoneRegion(ctx context.Context, s *relgraph.Store, db relgraph.Database, region string, out io.Writer) error {
	if region == "" {
		return nil
	}
	db.PhoneRegion = region
	if err := s.PutDatabase(ctx, db); err != nil {
		return err
	}
	fmt.Fprintf(out, "database %d: phones without a country code are read in region %s (now part of its schema)\n", db.ID, db.PhoneRegion)
	return nil
}

// phoneRegionToRecord returns the region an import records in db ("":
// none), or why it is refused.
func phoneRegionToRecord(db relgraph.Database, flag string) (string, error) {
	if flag == "" {
		flag = os.Getenv("RELGRAPH_PHONE_REGION")
	}
	flag = strings.ToUpper(flag)
	switch {
	case flag == "" || flag == db.PhoneRegion:
		return "", nil
	case db.PhoneRegion != "":
		return "", usagef("database %d reads phones in region %s, not %s: declare its phone_region in the schema to change it", db.ID, db.PhoneRegion, flag)
	case !relgraph.KnownPhoneRegion(flag):
		return "", usagef("-phone-region %q is not a region of the phone numbering plan (ISO 3166, such as US or DE)", flag)
	}
	return flag, nil
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "-db-id N [-db F] [-matching M [-field NAME]] [-format jsonl|csv] FILE", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database to import profile lines into (required, but for a whole store's export, which carries its databases)")
	matching := fs.String("matching", "", "locator taken from each line: email, email_profile, email_sub, phone, phone_sub, profile_id or custom (with -field); empty: profile_id if the line has one, else create")
	phoneRegion := fs.String("phone-region", "", "region (ISO 3166, such as US) of phone numbers written without a country code, recorded as the database's phone_region if it has none (default: $RELGRAPH_PHONE_REGION)")
	field := fs.String("field", "", "custom field to match on with -matching custom")
	format := fs.String("format", "", "jsonl or csv (default: by the file's extension)")
	maxErrors := fs.Int("max-errors", 0, "stop after this many bad lines (0: never stop)")
	skip := fs.Int("skip", 0, "skip the lines up to line N (numbered as errors report them): how an interrupted import resumes")
	rejectsPath := fs.String("rejects", "", "write each refused line, with its line number and reason, as JSON Lines to this new file")
	summaryJSON := fs.Bool("summary-json", false, "end with the summary as one JSON object on stdout instead of a sentence")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && *dbID == 0:
		set := setFlags(fs)
		for _, name := range []string{"matching", "field", "format", "max-errors", "skip", "rejects", "summary-json", "phone-region"} {
			if set[name] {
				return usagef("-%s goes with -db-id: a whole store's export (relgraph export without -db-id) is restored as it is", name)
			}
		}
		return importWholeStore(ctx, *dbPath, fs.Arg(0), stdout, stderr)
	case *dbID == 0:
		return usagef("-db-id is required: the database to import into (or give a whole store's export, which needs none)")
	case fs.NArg() == 0:
		return usagef("the file to import is missing")
	case fs.NArg() > 1:
		return usagef("one file at a time, not %d", fs.NArg())
	}
	switch relgraph.Mode(*matching) {
	case "", relgraph.ModeEmail, relgraph.ModeEmailProfile, relgraph.ModeEmailSub, relgraph.ModePhone, relgraph.ModePhoneSub, relgraph.ModeProfileID:
		if *field != "" {
			return usagef("-field goes with -matching custom")
		}
	case relgraph.ModeCustom:
		if *field == "" {
			return usagef("-matching custom needs -field, the custom field to match on")
		}
	default:
		return usagef("-matching %q: one of email, email_profile, email_sub, phone, phone_sub, profile_id, custom", *matching)
	}
	if *format != "" && *format != "jsonl" && *format != "csv" {
		return usagef("-format %q: jsonl or csv", *format)
	}
	if *maxErrors < 0 || *skip < 0 {
		return usagef("-max-errors and -skip are counts: 0 or more")
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if *format == "" {
		*format = "jsonl"
		if strings.HasSuffix(strings.ToLower(path), ".csv") {
			*format = "csv"
		}
	}
	s, err := openStore(*dbPath, false, *phoneRegion)
	if err != nil {
		return err
	}
	defer s.Close()
	db, err := s.Database(uint32(*dbID))
	if err != nil {
		return err
	}
	if *field != "" {
		if f, ok := db.Field(*field); !ok || f.Unindexed {
			return usagef("-field %q is not an indexed field of database %d", *field, *dbID)
		}
	}
	region, err := phoneRegionToRecord(db, *phoneRegion)
	if err != nil {
		return err
	}
	if export, err := isStoreExportFile(f); err != nil {
		return err
	} else if export {
		return usagef("%s is a whole store's export: import it without -db-id (it carries its databases)", path)
	}
	opts := importer.Options{DB: uint32(*dbID), Format: importer.Format(*format), Matching: relgraph.Mode(*matching), Field: *field,
		Errors: stderr, MaxErrors: *maxErrors, Skip: *skip}
	if *rejectsPath != "" {
		// A new file: the tool writes over nothing it did not make.
		rf, err := os.OpenFile(*rejectsPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("-rejects: %w", err)
		}
		defer rf.Close()
		rw := bufio.NewWriter(rf)
		defer rw.Flush()
		opts.Rejects = rw
	}
	// Last of the checks, as it writes: the import's phone region
	// becomes the database's (said on stderr: stdout is the summary's).
	if err := recordPhoneRegion(ctx, s, db, region, stderr); err != nil {
		return err
	}
	start := time.Now()
	resume := resumeCommand(fs, path)
	if out, ok := stdout.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		// A bar in lines, of the lines the file has (one quick pass to
		// count them), that ends at 100%.
		total, err := countLines(path)
		if err != nil {
			return err
		}
		bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(stdout), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("lines"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		opts.Report = func(sum importer.Summary) { bar.Set64(int64(sum.Committed)) }
		// An error line first clears the bar, so the two never mix.
		opts.Errors = clearing{bar, stderr}
		defer bar.Finish()
	} else {
		// Without a terminal, a line per committed batch on stderr: where
		// a killed import resumes.
		opts.Report = func(sum importer.Summary) {
			secs := time.Since(start).Seconds()
			fmt.Fprintf(stderr, "import: lines 1 to %d committed (%d created, %d updated, %d failed), %.0f lines/s; resume after a stop with: %s\n",
				sum.Committed, sum.Created, sum.Updated, sum.Failed, float64(sum.Committed-*skip)/max(secs, 1e-9), resume(sum.Committed))
		}
	}
	sum, err := importer.Run(ctx, s, f, opts)
	took := time.Since(start).Round(time.Millisecond)
	interrupted := ctx.Err() != nil
	if *summaryJSON {
		out := map[string]any{"lines": sum.Lines, "created": sum.Created, "updated": sum.Updated, "failed": sum.Failed, "skipped": sum.Skipped,
			"committed_through_line": sum.Committed, "seconds": took.Seconds(), "interrupted": interrupted}
		if err != nil {
			out["error"] = err.Error()
			out["resume"] = resume(sum.Committed)
		}
		json.NewEncoder(stdout).Encode(out)
	}
	switch {
	case interrupted:
		if !*summaryJSON {
			fmt.Fprintf(stdout, "interrupted: %s; lines 1 to %d are committed. Resume with:\n  %s\n%s", sum, sum.Committed, resume(sum.Committed), rejectsNote(*rejectsPath))
		}
		return errInterrupted
	case err != nil:
		if !*summaryJSON {
			fmt.Fprintf(stdout, "%s; lines 1 to %d are committed. Resume with:\n  %s\n%s", sum, sum.Committed, resume(sum.Committed), rejectsNote(*rejectsPath))
		}
		return err
	}
	if !*summaryJSON {
		fmt.Fprintf(stdout, "%s in %v\n", sum, took)
	}
	if sum.Failed > 0 {
		return errViolations // the bad lines are reported: exit 1
	}
	return nil
}

// resumeCommand returns the whole import command that resumes after
// line committed: every flag as given but -skip (and -rejects, whose
// file exists by then: the caller says to name a new one),
// -skip=committed, the file last.
// Values are quoted for a POSIX shell.
func resumeCommand(fs *flag.FlagSet, path string) func(committed int) string {
	var b strings.Builder
	b.WriteString("relgraph import")
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "skip" && f.Name != "rejects" {
			fmt.Fprintf(&b, " -%s=%s", f.Name, shellQuote(f.Value.String()))
		}
	})
	head := b.String()
	file := shellQuote(path)
	if strings.HasPrefix(path, "-") {
		file = "-- " + file // not a flag
	}
	return func(committed int) string {
		return fmt.Sprintf("%s -skip=%d %s", head, committed, file)
	}
}

// rejectsNote reminds, when -rejects was given, that the resumed run
// needs a new rejects file (the first one holds this run's).
func rejectsNote(path string) string {
	if path == "" {
		return ""
	}
	return fmt.Sprintf("  (add -rejects with a new file: %s holds this run's refused lines)\n", path)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// countLines counts the lines of the file at path (a last line without
// a newline included).
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	last := byte('\n')
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}

// importWholeStore restores a whole store's export into the store at
// dbPath, creating the store when there is none (the export carries its
// schema).
func importWholeStore(ctx context.Context, dbPath, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if export, err := isStoreExportFile(f); err != nil {
		return err
	} else if !export {
		return usagef("%s is not a whole store's export (its first line is no schema line): give -db-id to import profile lines", path)
	}
	// The store is opened as the export's schema says, not by
	// RELGRAPH_PHONE_REGION: each database carries its own region.
	created := missingFile(dbPath)
	s, err := lockHint(relgraph.Open(dbPath, &relgraph.Options{Timeout: toolLockWait}))
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	n, err := api.RestoreStore(ctx, s, f, stderr)
	if err != nil {
		if n == 0 && created {
			// Its schema refused: the store file this import made goes,
			// as a refused schema apply leaves none.
			s.Close()
			os.Remove(dbPath)
			os.Remove(dbPath + "-wal")
			return err
		}
		fmt.Fprintf(stdout, "%s restored before the error (restoring a line again changes nothing: after an interruption, running the import again resumes it)\n", count(n, "line"))
		return err
	}
	fmt.Fprintf(stdout, "%s restored (schema, profiles, relations) in %v\n", count(n, "line"), time.Since(start).Round(time.Millisecond))
	return s.Close()
}

// isStoreExportFile is api.IsStoreExport of f, which it rewinds.
func isStoreExportFile(f *os.File) (bool, error) {
	export := api.IsStoreExport(f)
	_, err := f.Seek(0, io.SeekStart)
	return export, err
}

// errInterrupted ends an import stopped by a signal (exit 1; what was
// committed is printed).
var errInterrupted = errors.New("interrupted")

// clearing writes to w after clearing a progress bar off the terminal.
type clearing struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func (c clearing) Write(p []byte) (int, error) {
	c.bar.Clear()
	return c.w.Write(p)
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "[-db F | -server URL [-token T]] [-db-id N]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "export only this database's profiles, as import lines (default: the whole store, schema, profiles and relations)")
	server, token := serverFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *server != "" {
		c, err := remote(fs, *server, *token)
		if err != nil {
			return err
		}
		return remoteExport(ctx, c, *dbID, stdout)
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	if *dbID == 0 {
		_, err := api.WriteStore(ctx, s, stdout, stderr)
		return err
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	err = s.EachProfile(ctx, uint32(*dbID), func(p *relgraph.Profile) error {
		return enc.Encode(api.ExportLine(p))
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("get", "-db-id N [-db F] (-profile-id ID | -email E | -phone P | -field NAME -value V) [-matching M]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database (required)")
	var loc relgraph.Locator
	fs.StringVar((*string)(&loc.Matching), "matching", "", "matching mode (default: inferred)")
	fs.StringVar(&loc.ProfileID, "profile-id", "", "profile id")
	fs.StringVar(&loc.Email, "email", "", "email")
	fs.StringVar(&loc.Phone, "phone", "", "phone")
	phoneRegion := fs.String("phone-region", "", "region of a phone written without a country code, for a database that declares no phone_region (default: $RELGRAPH_PHONE_REGION)")
	fs.StringVar(&loc.FieldName, "field", "", "custom field name")
	value := fs.String("value", "", "custom field value")
	maxRelations := fs.Int("relations", 20, "relations shown per relation type (their counters are always shown; 0: counters only)")
	server, token := serverFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 {
		return usagef("-db-id is required: the database")
	}
	if loc.FieldName != "" {
		loc.FieldValue = *value
	}
	if *server != "" {
		c, err := remote(fs, *server, *token)
		if err != nil {
			return err
		}
		return remoteGet(ctx, c, uint32(*dbID), loc, *maxRelations, stdout)
	}
	s, err := openStore(*dbPath, true, *phoneRegion)
	if err != nil {
		return err
	}
	defer s.Close()
	db, err := s.Database(uint32(*dbID))
	if err != nil {
		return err
	}
	if err := api.LocatorValue(&db, &loc); err != nil {
		return err
	}
	p, err := s.GetProfile(ctx, uint32(*dbID), loc)
	if err != nil {
		return err
	}
	out := api.ProfileJSON(p)
	// Under a name no custom field can take ('_' is reserved) and no
	// system field has.
	if out["_relations"], err = profileRelations(ctx, s, p.ID, db.ID, *maxRelations); err != nil {
		return err
	}
	if out["_relations_to"], err = profileRelationsTo(ctx, s, p.ID, db.ID, *maxRelations); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// profileRelationsTo is what get shows of the relations that point to a
// profile (it is their B): for each relation type whose B side is its
// database, how many there are ("total") and the first shown, by A's id,
// each as relations/get answers it; "more" when there are more. Types
// where it is no relation's B are left out. get -server shows the same,
// through relgraph's own relations/reverse.
func profileRelationsTo(ctx context.Context, s *relgraph.Store, id relgraph.ProfileID, db uint32, shown int) ([]any, error) {
	out := []any{}
	for _, rt := range s.RelationTypes() {
		if rt.DatabaseB != db {
			continue
		}
		rels := []any{}
		total, _, err := s.ScanReverse(ctx, relgraph.ReverseQuery{RelationType: rt.ID, B: relgraph.Locator{ProfileID: id.String()}, Limit: max(1, min(shown, relgraph.MaxRelationsLimit)), Count: true},
			func(v *relgraph.RelationView) error {
				if len(rels) < shown {
					rels = append(rels, api.RelationItemJSON(v.Item()))
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
		if total == 0 {
			continue
		}
		out = append(out, relationsEntry(rt, "total", total, total, rels))
	}
	return out, nil
}

// relationsEntry is one relation type's part of get's answer: value
// under key (the counter, or the count), the relations shown, and how
// many more of its total there are.
func relationsEntry(rt relgraph.RelationType, key string, value any, total int64, rels []any) map[string]any {
	entry := map[string]any{"rel_id": rt.ID, "name": rt.Name, key: value, "relations": rels}
	if total > int64(len(rels)) {
		entry["more"] = total - int64(len(rels))
	}
	return entry
}

// profileRelations is what get shows of a profile's relations: for each
// relation type whose A side is its database, the counter (as
// relations/get_counter answers it) and the first shown relations (as
// relations/get answers them), "more" when there are more. Types where
// it has no relation are left out. get -server shows the same, through
// those two calls.
func profileRelations(ctx context.Context, s *relgraph.Store, id relgraph.ProfileID, db uint32, shown int) ([]any, error) {
	out := []any{}
	for _, rt := range s.RelationTypes() {
		if rt.DatabaseA != db {
			continue
		}
		c, err := s.Counter(ctx, rt.ID, relgraph.Locator{ProfileID: id.String()})
		if err != nil {
			return nil, err
		}
		if c.Total == 0 {
			continue
		}
		rels := []any{}
		if shown > 0 {
			page, err := s.Relations(ctx, relgraph.RelationsQuery{RelationType: rt.ID, A: relgraph.Locator{ProfileID: id.String()}, Limit: min(shown, relgraph.MaxRelationsLimit)})
			if err != nil {
				return nil, err
			}
			for _, it := range page.Items {
				rels = append(rels, api.RelationItemJSON(it))
			}
		}
		out = append(out, relationsEntry(rt, "counter", api.CounterJSON(c), c.Total, rels))
	}
	return out, nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-db F | -server URL [-token T]]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	server, token := serverFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *server != "" {
		c, err := remote(fs, *server, *token)
		if err != nil {
			return err
		}
		return remoteCheck(ctx, c, stdout)
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	n := 0
	for _, err := range s.CheckFile(ctx) {
		fmt.Fprintf(stdout, "file: %v\n", err)
		n++
	}
	problems, err := s.Check(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	n += len(problems)
	if n > 0 {
		fmt.Fprintf(stdout, "%d violation(s)\n", n)
		return errViolations
	}
	fmt.Fprintln(stdout, "ok: no violations")
	return nil
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "-to OUT ([-db F] | -server URL [-token T])", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file, when it is not being served")
	to := fs.String("to", "", "file to write (must not exist)")
	server, token := serverFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usagef("-to is required: the file to write")
	}
	var c *client.Client
	if *server != "" {
		var err error
		if c, err = remote(fs, *server, *token); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(*to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := backupTo(ctx, out, *dbPath, c)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = relgraph.Verify(ctx, *to)
	}
	if err != nil {
		os.Remove(*to)
		return err
	}
	fmt.Fprintf(stdout, "wrote %d bytes to %s\n", n, *to)
	return nil
}

func backupTo(ctx context.Context, out *os.File, dbPath string, c *client.Client) (int64, error) {
	if c == nil {
		s, err := openStore(dbPath, true, "")
		if err != nil {
			return 0, err
		}
		defer s.Close()
		// A damaged source would be copied at an older commit, or with
		// its damage: refuse it.
		if problems := s.CheckFile(ctx); len(problems) > 0 {
			return 0, fmt.Errorf("%s: %d problem(s) in the file's pages, the first: %v; run 'relgraph check'", dbPath, len(problems), problems[0])
		}
		return s.Backup(ctx, out)
	}
	return c.Backup(ctx, out)
}

func runCompact(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compact", "-to OUT [-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	to := fs.String("to", "", "file to write (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usagef("-to is required: the file to write")
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Compact(ctx, *to); err != nil {
		return err
	}
	before, _ := os.Stat(*dbPath)
	after, _ := os.Stat(*to)
	fmt.Fprintf(stdout, "compacted %d bytes into %d bytes at %s\n", before.Size(), after.Size(), *to)
	return nil
}
