package relgraph_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/internal/conformance"
)

// The state machine of internal/conformance, on bbolt, in strict mode
// (Check inside every commit as well as between steps).
func TestStateMachine(t *testing.T) {
	fired := conformance.RunStateMachine(t, func(t *testing.T) func() (*relgraph.Store, error) {
		path := filepath.Join(t.TempDir(), "machine.db")
		return func() (*relgraph.Store, error) {
			return relgraph.Open(path, &relgraph.Options{StrictMode: true, NoSync: true})
		}
	})
	for _, name := range conformance.Actions {
		if fired[name] == 0 {
			t.Errorf("action or outcome %q never fired: %v", name, fired)
		}
	}
	t.Logf("actions: %v", fired)
}

func TestMain(m *testing.M) {
	flag.Parse()
	// Longer runs than rapid's default of 30 steps, so stores grow enough
	// for ambiguous matches, cascades and paging (unless set by hand).
	if f := flag.Lookup("rapid.steps"); f != nil && f.Value.String() == f.DefValue {
		flag.Set("rapid.steps", "80")
	}
	os.Exit(m.Run())
}
