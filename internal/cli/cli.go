// Package cli is the relgraph command: serve, import, export, get,
// check, recover, backup, compact and migrate. Every command opens its store with
// relgraph.Open, so it takes a file path or the URL of any engine the
// program imports: cmd/relgraph builds it for store files;
// kv/etcd/cmd/relgraph imports kv/etcd too, for etcd:// stores, so that
// gRPC stays out of the file-only build.
//
// Run "relgraph COMMAND -help" for a command's flags. Subcommands use
// the standard flag package: one flag set per command is all they need.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/kv"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "serve the HTTP API on a store file", runServe},
	{"import", "load profiles from a JSON Lines or CSV file", runImport},
	{"export", "write the profiles of a database as JSON Lines", runExport},
	{"get", "print one profile found by a locator", runGet},
	{"check", "check a store's consistency (exit 1 on any violation)", runCheck},
	{"recover", "open a store whose log is damaged, dropping what the damage cost (with -accept-loss)", runRecover},
	{"backup", "write a consistent copy of a store, even while it is served", runBackup},
	{"compact", "write a compacted copy of a store", runCompact},
	{"migrate", "copy a store into a new one, on another engine too, and verify the copy", runMigrate},
	{"schema", "apply a config's databases and relation types to a store, or show them", runSchema},
	{"feed", "show a store's change feed, or turn it on or off and set its retention", runFeed},
	{"changes", "print the change feed as JSON lines; with -server, follow it as writes commit", runChanges},
	{"version", "print the module version and the commit it was built from", runVersion},
}

// openDB opens a store file or URL, with a hint where this build does
// not know the URL's engine. Without a phone region in opts it takes
// RELGRAPH_PHONE_REGION's, so every command reads phones alike.
func openDB(location string, opts *relgraph.Options) (*relgraph.Store, error) {
	var o relgraph.Options
	if opts != nil {
		o = *opts
	}
	if o.PhoneRegion == "" {
		o.PhoneRegion = os.Getenv("RELGRAPH_PHONE_REGION")
	}
	o.PhoneRegion = strings.ToUpper(o.PhoneRegion) // "us" is US
	s, err := relgraph.Open(location, &o)
	if errors.Is(err, kv.ErrNoEngine) && strings.HasPrefix(location, "etcd://") {
		return nil, fmt.Errorf("%w\n(the build in kv/etcd/cmd/relgraph opens etcd:// stores)", err)
	}
	return s, err
}

// errViolations makes the process exit 1 without printing more.
var errViolations = errors.New("violations found")

// Run runs the command with its arguments (without the program name)
// and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	// SIGINT and SIGTERM cancel the command's context: a tool stops
	// where it is, a server shuts down cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errViolations), errors.Is(err, errInterrupted):
				return 1
			case errors.Is(err, errUsage):
				return 2
			}
			var ue *usageError
			if errors.As(err, &ue) {
				fmt.Fprintf(stderr, "relgraph %s: %v (see 'relgraph %s -help')\n", c.name, err, c.name)
				return 2
			}
			fmt.Fprintf(stderr, "relgraph %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "relgraph: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

var errUsage = errors.New("usage")

// usageError is a command line that cannot run: a missing or
// conflicting flag. The command exits 2, saying which.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// setFlags names the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: relgraph COMMAND [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'relgraph COMMAND -help' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: relgraph %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// parseWithEnv parses a command's flags, each of which may also come
// from the environment: -read-timeout from RELGRAPH_READ_TIMEOUT. The
// command line wins over the environment.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("%s=%q: %v", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return parse(fs, args)
}

// envName is the environment variable of a flag.
func envName(flag string) string {
	return "RELGRAPH_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// toolLockWait is how long a tool waits for a store file's lock.
const toolLockWait = 2 * time.Second

// openStore opens an existing store for a tool command, with a short
// lock timeout and a message that says what to do when it is served.
// An empty phoneRegion is RELGRAPH_PHONE_REGION's (see openDB).
func openStore(location string, readOnly bool, phoneRegion string) (*relgraph.Store, error) {
	if missingFile(location) {
		return nil, fmt.Errorf("no store at %s (relgraph schema apply -config F -db %s creates one)", location, location)
	}
	return lockHint(openDB(location, &relgraph.Options{Timeout: toolLockWait, ReadOnly: readOnly, PhoneRegion: phoneRegion}))
}

// lockHint says what to do when a store file is locked by a server.
func lockHint(s *relgraph.Store, err error) (*relgraph.Store, error) {
	if err != nil && strings.Contains(err.Error(), "locked by another process") {
		return nil, fmt.Errorf("%w\n(is 'relgraph serve' running on it? stop it, or read it through the server: check, get, export and backup take -server URL with a read token)", err)
	}
	return s, err
}

// isFile tells a store file's path from an engine's URL.
func isFile(location string) bool { return !strings.Contains(location, "://") }

// missingFile reports whether location is a store file that does not
// exist yet.
func missingFile(location string) bool {
	if !isFile(location) {
		return false
	}
	_, err := os.Stat(location)
	return errors.Is(err, os.ErrNotExist)
}

// trySchema applies a config's schema to a scratch store in a temporary
// directory: what a new store would refuse, refused before the new
// store's file is created. Nothing is ever removed from beside the real
// store, so a failure cannot take a file that is someone else's.
func trySchema(ctx context.Context, cfg *config) error {
	dir, err := os.MkdirTemp("", "relgraph-schema-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := relgraph.Open(filepath.Join(dir, "scratch.db"), &relgraph.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	return cfg.apply(ctx, s)
}
