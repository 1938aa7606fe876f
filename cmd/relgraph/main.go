// Command relgraph serves a relgraph store file over HTTP and manages
// store files: serve, import, export, get, check, backup, compact,
// migrate. Run "relgraph COMMAND -help" for a command's flags.
//
// This build opens bbolt store files; kv/etcd/cmd/relgraph is the same
// command that also opens etcd:// stores.
package main

import (
	"os"

	"github.com/relgraph/relgraph/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
