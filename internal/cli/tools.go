package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
	"github.com/relgraph/relgraph/internal/importer"
)

// recordPhoneRegion makes the store remember the phone region an import
// reads its phones in (-phone-region, or RELGRAPH_PHONE_REGION), so that
// the server and every tool read them alike afterwards, with or without
// the flag: a database that declares no region gets this one (said on
// out); one that declares another is refused, since its stored phones
// were read in that one.
func recordPhoneRegion(ctx context.Context, s *relgraph.Store, db relgraph.Database, flag string, out io.Writer) (relgraph.Database, error) {
	if flag == "" {
		flag = os.Getenv("RELGRAPH_PHONE_REGION")
	}
	switch {
	case flag == "" || strings.EqualFold(flag, db.PhoneRegion):
		return db, nil
	case db.PhoneRegion != "":
		return db, usagef("database %d reads phones in region %s, not %s: declare its phone_region in the schema to change it", db.ID, db.PhoneRegion, flag)
	}
	db.PhoneRegion = strings.ToUpper(flag)
	if err := s.PutDatabase(ctx, db); err != nil {
		return db, err
	}
	fmt.Fprintf(out, "database %d: phones without a country code are read in region %s (now part of its schema)\n", db.ID, db.PhoneRegion)
	return db, nil
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "-db-id N [-db F] [-matching M [-field NAME]] [-format jsonl|csv] FILE", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database to import into (required)")
	matching := fs.String("matching", "", "locator taken from each line: email, email_profile, email_sub, phone, phone_sub, profile_id or custom (with -field); empty: profile_id if the line has one, else create")
	phoneRegion := fs.String("phone-region", "", "region (ISO 3166, such as US) of phone numbers written without a country code, recorded as the database's phone_region if it has none (default: $RELGRAPH_PHONE_REGION)")
	field := fs.String("field", "", "custom field to match on with -matching custom")
	format := fs.String("format", "", "jsonl or csv (default: by the file's extension)")
	maxErrors := fs.Int("max-errors", 0, "stop after this many bad lines (0: never stop)")
	skip := fs.Int("skip", 0, "skip the lines up to line N (numbered as errors report them): how an interrupted import resumes")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *dbID == 0:
		return usagef("-db-id is required: the database to import into")
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
	info, err := f.Stat()
	if err != nil {
		return err
	}
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
	if db, err = recordPhoneRegion(ctx, s, db, *phoneRegion, stdout); err != nil {
		return err
	}
	if *field != "" {
		if f, ok := db.Field(*field); !ok || f.Unindexed {
			return usagef("-field %q is not an indexed field of database %d", *field, *dbID)
		}
	}
	opts := importer.Options{DB: uint32(*dbID), Format: importer.Format(*format), Matching: relgraph.Mode(*matching), Field: *field,
		Errors: stderr, MaxErrors: *maxErrors, Skip: *skip}
	if out, ok := stdout.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		bar := progressbar.NewOptions64(info.Size(), progressbar.OptionSetWriter(stdout), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish())
		opts.Progress = func(n int64) { bar.Set64(n) }
		// An error line first clears the bar, so the two never mix.
		opts.Errors = clearing{bar, stderr}
		defer bar.Finish()
	}
	start := time.Now()
	sum, err := importer.Run(ctx, s, f, opts)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(stdout, "interrupted: %s; lines 1 to %d are committed. Resume with: relgraph import -skip %d …\n", sum, sum.Committed, sum.Committed)
		return errInterrupted
	case err != nil:
		fmt.Fprintf(stdout, "%s; lines 1 to %d are committed\n", sum, sum.Committed)
		return err
	}
	fmt.Fprintf(stdout, "%s in %v\n", sum, took)
	if sum.Failed > 0 {
		return errViolations // the bad lines are reported: exit 1
	}
	return nil
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
	fs := newFlags("export", "-db-id N [-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database to export (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 {
		return usagef("-db-id is required: the database")
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	err = s.EachProfile(ctx, uint32(*dbID), func(p *relgraph.Profile) error {
		return enc.Encode(exportLine(p))
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// exportLine is a profile as an import line: profile_id plus its data.
func exportLine(p *relgraph.Profile) map[string]any {
	m := api.ProfileJSON(p)
	m["profile_id"] = m["id"]
	delete(m, "id")
	delete(m, "db_id")
	for _, k := range relgraph.ReadOnlyFields { // computed: an import refuses them
		delete(m, k)
	}
	if m["email"] == nil {
		delete(m, "email")
	}
	return m
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
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 {
		return usagef("-db-id is required: the database")
	}
	if loc.FieldName != "" {
		loc.FieldValue = *value
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
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(api.ProfileJSON(p))
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	if err := parse(fs, args); err != nil {
		return err
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
	server := fs.String("server", "", "base URL of a running 'relgraph serve', for a hot copy")
	token := fs.String("token", "", "write token for -server (default: $RELGRAPH_TOKEN)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch set := setFlags(fs); {
	case *to == "":
		return usagef("-to is required: the file to write")
	case *server != "" && set["db"]:
		return usagef("-db and -server exclude each other: copy a file, or a running server")
	case *server != "" && !strings.HasPrefix(*server, "http://") && !strings.HasPrefix(*server, "https://"):
		return usagef("-server %q needs its scheme: http://%s", *server, *server)
	}
	out, err := os.OpenFile(*to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := backupTo(ctx, out, *dbPath, *server, *token)
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

func backupTo(ctx context.Context, out *os.File, dbPath, server, token string) (int64, error) {
	if server == "" {
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
	if token == "" {
		token = os.Getenv("RELGRAPH_TOKEN")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(server, "/")+"/admin/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("server answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return io.Copy(out, resp.Body)
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
