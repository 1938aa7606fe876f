package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/wal"
)

// runRecover opens a store whose log is damaged beyond what a crash
// leaves. Without -accept-loss it only says what it found and what
// recovering would drop; with it, it keeps the records that check out,
// drops the rest, moves the damaged log aside and says exactly what was
// dropped. A store that needs no repair is left as it is.
func runRecover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recover", "[-db F] [-accept-loss]", stderr)
	dbPath := fs.String("db", "relgraph.db", "store file")
	accept := fs.Bool("accept-loss", false, "open the store without the log records the damage cost, and move the damaged log aside")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if !isFile(*dbPath) {
		return usagef("-db %q: recover repairs a store file's log; other engines have none", *dbPath)
	}
	if missingFile(*dbPath) {
		return fmt.Errorf("no store at %s", *dbPath)
	}
	s, err := openStore(*dbPath, true, "")
	if err == nil {
		unrecognized := slices.ContainsFunc(s.Stats().Engine, func(m kv.Metric) bool { return m.Name == wal.UnrecognizedLogMetric })
		s.Close()
		if unrecognized {
			fmt.Fprintf(stdout, "%s needs no repair: its store file holds every write; the file at %s-wal is not recognizably its log (a user's file of that name, or a log a power cut tore as it began), and the next writable open moves it aside whole\n", *dbPath, *dbPath)
			return nil
		}
		fmt.Fprintf(stdout, "%s needs no repair: its log holds nothing damaged\n", *dbPath)
		return nil
	}
	var d *wal.Damage
	if !errors.As(err, &d) {
		return err
	}
	if !*accept {
		fmt.Fprintf(stdout, "%s: %s\nrecover -accept-loss keeps the records up to %d and drops %s; the damaged log is kept aside\n", *dbPath, d.Problem, d.Kept, d.Lost())
		return errViolations
	}
	e, err := wal.Open(*dbPath, index.All, kv.Options{LockTimeout: toolLockWait}, wal.Config{AcceptLoss: true})
	if err != nil {
		_, err = lockHint(nil, err)
		return err
	}
	rec := e.Recovery()
	if rec.Loss == nil {
		e.Close()
		fmt.Fprintf(stdout, "%s needs no repair: its log holds nothing damaged\n", *dbPath)
		return nil
	}
	store, err := relgraph.OpenEngine(e, nil) // a relgraph store of this format, or refused
	if err != nil {
		e.Close()
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: recovered: kept the records up to %d (%d replayed from the log); dropped %s\n", *dbPath, rec.Loss.Kept, rec.Replayed, rec.Loss.Lost())
	if rec.MovedLog != "" {
		fmt.Fprintf(stdout, "the damaged log is at %s\n", rec.MovedLog)
	}
	fmt.Fprintf(stdout, "run 'relgraph check -db %s' to check the store\n", *dbPath)
	return nil
}
