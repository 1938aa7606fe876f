package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

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
	oldDBs, oldRels := s.Databases(), s.RelationTypes()
	before := len(oldDBs) + len(oldRels)
	if err := cfg.apply(ctx, s); err != nil {
		s.Close()
		return err
	}
	changes := schemaChanges(oldDBs, s.Databases(), oldRels, s.RelationTypes())
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
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "  no change")
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, "  "+c)
	}
	return nil
}

// schemaChanges says, a line per database or relation type, what an
// apply changed: what it created, and the fields or properties it
// added or removed and the attributes it changed.
func schemaChanges(oldDBs, newDBs []relgraph.Database, oldRels, newRels []relgraph.RelationType) []string {
	var out []string
	for _, d := range newDBs {
		i := slices.IndexFunc(oldDBs, func(o relgraph.Database) bool { return o.ID == d.ID })
		if i < 0 {
			out = append(out, fmt.Sprintf("database %d %q: created, %s", d.ID, d.Name, count(len(d.Fields), "field")))
			continue
		}
		o := oldDBs[i]
		var parts []string
		names := func(fs []relgraph.Field) []string {
			n := make([]string, len(fs))
			for i, f := range fs {
				n[i] = f.Name
			}
			return n
		}
		parts = appendSetChange(parts, "field", names(o.Fields), names(d.Fields))
		parts = appendAttrChange(parts, "name", o.Name, d.Name)
		parts = appendAttrChange(parts, "description", o.Description, d.Description)
		parts = appendAttrChange(parts, "ui_tags", strings.Join(o.UITags, ","), strings.Join(d.UITags, ","))
		parts = appendAttrChange(parts, "phone_region", o.PhoneRegion, d.PhoneRegion)
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("database %d: %s", d.ID, strings.Join(parts, "; ")))
		}
	}
	for _, r := range newRels {
		i := slices.IndexFunc(oldRels, func(o relgraph.RelationType) bool { return o.ID == r.ID })
		if i < 0 {
			out = append(out, fmt.Sprintf("relation type %d %q: created, %d → %d, %s", r.ID, r.Name, r.DatabaseA, r.DatabaseB, count(len(r.Properties), "property")))
			continue
		}
		o := oldRels[i]
		names := func(ps []relgraph.Property) []string {
			n := make([]string, len(ps))
			for i, p := range ps {
				n[i] = p.Name
			}
			return n
		}
		parts := appendSetChange(nil, "property", names(o.Properties), names(r.Properties))
		parts = appendAttrChange(parts, "name", o.Name, r.Name)
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("relation type %d: %s", r.ID, strings.Join(parts, "; ")))
		}
	}
	return out
}

// appendSetChange says which names were added and removed.
func appendSetChange(parts []string, noun string, old, new []string) []string {
	var added, removed []string
	for _, n := range new {
		if !slices.Contains(old, n) {
			added = append(added, n)
		}
	}
	for _, n := range old {
		if !slices.Contains(new, n) {
			removed = append(removed, n)
		}
	}
	if len(added) > 0 {
		parts = append(parts, fmt.Sprintf("added %s %s", plural(noun, len(added)), strings.Join(added, ", ")))
	}
	if len(removed) > 0 {
		parts = append(parts, fmt.Sprintf("removed %s %s", plural(noun, len(removed)), strings.Join(removed, ", ")))
	}
	return parts
}

// appendAttrChange says an attribute's old and new values, if they differ.
func appendAttrChange(parts []string, attr, old, new string) []string {
	if old != new {
		parts = append(parts, fmt.Sprintf("%s %q → %q", attr, old, new))
	}
	return parts
}

// plural is noun for one, its plural for more ("property": "properties").
func plural(noun string, n int) string {
	switch {
	case n == 1:
		return noun
	case strings.HasSuffix(noun, "y"):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// count is "1 database", "2 databases".
func count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, plural(noun, n))
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
