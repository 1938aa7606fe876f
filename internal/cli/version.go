package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// runVersion prints the module's version and the commit it was built
// from, as the Go toolchain recorded them in the binary.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

// versionLine is "relgraph VERSION (commit C[, modified], TIME) GO".
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "relgraph: no build information in this binary"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var commit, when, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	out := "relgraph " + version
	if commit != "" {
		out += fmt.Sprintf(" (commit %.12s%s, %s)", commit, modified, when)
	}
	return out + " " + info.GoVersion
}
