package cli

import (
	"bufio"
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
	"github.com/relgraph/relgraph/kv/bolt"
)

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "-db-id N [-db F] [-matching M [-field NAME]] [-format jsonl|csv] FILE", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database to import into (required)")
	matching := fs.String("matching", "", "locator taken from each line: email, phone, profile_id or custom (with -field); empty: profile_id if the line has one, else create")
	field := fs.String("field", "", "custom field to match on with -matching custom")
	format := fs.String("format", "", "jsonl or csv (default: by the file's extension)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
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
	s, err := openStore(*dbPath, false)
	if err != nil {
		return err
	}
	defer s.Close()
	opts := importer.Options{DB: uint32(*dbID), Format: importer.Format(*format), Matching: relgraph.Mode(*matching), Field: *field, Errors: stderr}
	if out, ok := stdout.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		bar := progressbar.DefaultBytes(info.Size(), "importing")
		opts.Progress = func(n int64) { bar.Set64(n) }
		defer bar.Finish()
	}
	start := time.Now()
	sum, err := importer.Run(s, f, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s in %v\n", sum, time.Since(start).Round(time.Millisecond))
	return nil
}

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "-db-id N [-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database to export (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 {
		fs.Usage()
		return errUsage
	}
	s, err := openStore(*dbPath, true)
	if err != nil {
		return err
	}
	defer s.Close()
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	err = s.EachProfile(uint32(*dbID), func(p *relgraph.Profile) error {
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
	for _, k := range []string{"id", "db_id", "_created", "_updated"} {
		delete(m, k)
	}
	if m["email"] == nil {
		delete(m, "email")
	}
	return m
}

func runGet(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("get", "-db-id N [-db F] (-profile-id ID | -email E | -phone P | -field NAME -value V) [-matching M]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	dbID := fs.Uint("db-id", 0, "database (required)")
	var loc relgraph.Locator
	fs.StringVar((*string)(&loc.Matching), "matching", "", "matching mode (default: inferred)")
	fs.StringVar(&loc.ProfileID, "profile-id", "", "profile id")
	fs.StringVar(&loc.Email, "email", "", "email")
	fs.StringVar(&loc.Phone, "phone", "", "phone")
	fs.StringVar(&loc.FieldName, "field", "", "custom field name")
	value := fs.String("value", "", "custom field value")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbID == 0 {
		fs.Usage()
		return errUsage
	}
	if loc.FieldName != "" {
		loc.FieldValue = *value
	}
	s, err := openStore(*dbPath, true)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.GetProfile(uint32(*dbID), loc)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(api.ProfileJSON(p))
}

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := openStore(*dbPath, true)
	if err != nil {
		return err
	}
	defer s.Close()
	n := 0
	if e, ok := s.Engine().(*bolt.Engine); ok {
		for _, err := range e.CheckFile() {
			fmt.Fprintf(stdout, "file: %v\n", err)
			n++
		}
	}
	problems, err := s.Check()
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

func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "-to OUT ([-db F] | -server URL [-token T])", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file, when it is not being served")
	to := fs.String("to", "", "file to write (must not exist)")
	server := fs.String("server", "", "base URL of a running 'relgraph serve', for a hot copy")
	token := fs.String("token", "", "write token for -server (default: $RELGRAPH_TOKEN)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return errUsage
	}
	out, err := os.OpenFile(*to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := backupTo(out, *dbPath, *server, *token)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = verifyBackup(*to)
	}
	if err != nil {
		os.Remove(*to)
		return err
	}
	fmt.Fprintf(stdout, "wrote %d bytes to %s\n", n, *to)
	return nil
}

// refuseDamaged refuses a source file whose pages are damaged: bbolt
// would read it at an older commit, or copy the damage.
func refuseDamaged(e *bolt.Engine) error {
	if problems := e.CheckFile(); len(problems) > 0 {
		return fmt.Errorf("%s: %d problem(s) in the file's pages, first: %v; run 'relgraph check'", e.Path(), len(problems), problems[0])
	}
	return nil
}

func backupTo(out *os.File, dbPath, server, token string) (int64, error) {
	if server == "" {
		s, err := openStore(dbPath, true)
		if err != nil {
			return 0, err
		}
		defer s.Close()
		if e, ok := s.Engine().(*bolt.Engine); ok {
			if err := refuseDamaged(e); err != nil {
				return 0, err
			}
		}
		return s.Backup(out)
	}
	if token == "" {
		token = os.Getenv("RELGRAPH_TOKEN")
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(server, "/")+"/admin/backup", nil)
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

// verifyBackup opens the copy and checks it, so a cut stream or a bad
// copy is never left looking like a backup.
func verifyBackup(path string) error {
	s, err := relgraph.Open(path, &relgraph.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	defer s.Close()
	problems, err := s.Check()
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("the copy has %d violation(s), first: %s", len(problems), problems[0])
	}
	return nil
}

func runCompact(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compact", "-to OUT [-db F]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	to := fs.String("to", "", "file to write (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		fs.Usage()
		return errUsage
	}
	s, err := openStore(*dbPath, true)
	if err != nil {
		return err
	}
	defer s.Close()
	e, ok := s.Engine().(*bolt.Engine)
	if !ok {
		return errors.New("compact works on bbolt store files only")
	}
	if err := refuseDamaged(e); err != nil {
		return err
	}
	if err := e.Compact(*to); err != nil {
		os.Remove(*to)
		return err
	}
	if err := verifyBackup(*to); err != nil {
		os.Remove(*to)
		return err
	}
	before, _ := os.Stat(*dbPath)
	after, _ := os.Stat(*to)
	fmt.Fprintf(stdout, "compacted %d bytes into %d bytes at %s\n", before.Size(), after.Size(), *to)
	return nil
}
