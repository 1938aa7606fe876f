package etcd

import (
	"flag"
	"os"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/conformance"
)

// TestStateMachineOnThreeMembers runs relgraph's shared state machine
// (the one the root package runs on bbolt) on a 3-member cluster: every
// run gets its own prefix, reopen dials the cluster again, and the store
// is in strict mode (Check inside every commit).
func TestStateMachineOnThreeMembers(t *testing.T) {
	c := startCluster(t, 3)
	fired := conformance.RunStateMachine(t, func(t *testing.T) func() (*relgraph.Store, error) {
		prefix := newPrefix()
		return func() (*relgraph.Store, error) {
			e, err := Dial(c.clients, prefix, index.All)
			if err != nil {
				return nil, err
			}
			s, err := relgraph.OpenEngine(e, &relgraph.Options{StrictMode: true, MaxBatch: 16})
			if err != nil {
				e.Close()
			}
			return s, err
		}
	})
	for _, name := range []string{"import-ok", "update-ok", "delete-ok", "overwrite-ok", "modify-ok", "attach-ok", "detach-ok", "reopen", "feed", "reverse", "match-0", "match-404", "match-400"} {
		if fired[name] == 0 {
			t.Errorf("%q never fired: %v", name, fired)
		}
	}
	t.Logf("actions: %v", fired)
}

func TestMain(m *testing.M) {
	flag.Parse()
	// Every step is several round trips to a 3-member cluster: fewer,
	// longer runs than rapid's default (unless set by hand).
	for name, v := range map[string]string{"rapid.checks": "30", "rapid.steps": "80"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() == f.DefValue {
			flag.Set(name, v)
		}
	}
	os.Exit(m.Run())
}
