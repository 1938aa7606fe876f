package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/relgraph/relgraph"
)

// runSchema is "relgraph schema apply" and "relgraph schema show": the
// schema of a store set from a config file's databases and
// relation_types, or printed in that same form.
func runSchema(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "show") {
		fmt.Fprintln(stderr, "usage: relgraph schema apply -config relgraph.json [-db relgraph.db]\n       relgraph schema show [-db relgraph.db]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	if args[0] == "show" {
		return runSchemaShow(args[1:], stdout, stderr)
	}
	return runSchemaApply(ctx, args[1:], stdout, stderr)
}

func runSchemaApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schema apply", "-config relgraph.json [-db relgraph.db]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file (created if missing) or URL")
	cfgPath := fs.String("config", "", "JSON config whose databases and relation_types to apply (its tokens are not used)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usagef("-config is required: the file whose databases and relation_types to apply")
	}
	if *dbPath == "" {
		return usagef("-db is empty: name the store file")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	created := missingFile(*dbPath)
	if created {
		if err := trySchema(ctx, cfg); err != nil {
			return err
		}
	}
	s, err := lockHint(openDB(*dbPath, &relgraph.Options{Timeout: toolLockWait}))
	if err != nil {
		return err
	}
	before := len(s.Databases()) + len(s.RelationTypes())
	if err := cfg.apply(ctx, s); err != nil {
		s.Close()
		return err
	}
	after := len(s.Databases()) + len(s.RelationTypes())
	if err := s.Close(); err != nil {
		return err
	}
	verb := "applied to"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "%s %s: the config declares %s and %s; the store holds %s (%d before)\n",
		verb, *dbPath, count(len(cfg.Databases), "database"), count(len(cfg.RelationTypes), "relation type"), count(after, "declaration"), before)
	return nil
}

// count is "1 database", "2 databases".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func runSchemaShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schema show", "[-db relgraph.db]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file or URL")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	s, err := openStore(*dbPath, true, "")
	if err != nil {
		return err
	}
	defer s.Close()
	out := struct {
		Databases     []relgraph.Database     `json:"databases"`
		RelationTypes []relgraph.RelationType `json:"relation_types"`
	}{s.Databases(), s.RelationTypes()}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
