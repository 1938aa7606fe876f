// Command relgraph is the relgraph command (see internal/cli) built with
// the etcd engine: every -db, -from and -to also takes
// etcd://host:2379[,host:2379…]/prefix.
//
//	go run ./cmd/relgraph serve -db etcd://127.0.0.1:2379/relgraph -config relgraph.json
//	go run ./cmd/relgraph migrate -from relgraph.db -to etcd://127.0.0.1:2379/relgraph
package main

import (
	"os"

	"github.com/relgraph/relgraph/internal/cli"
	_ "github.com/relgraph/relgraph/kv/etcd" // registers etcd://
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
