package relgraph_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/conformance"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
)

// The state machine of internal/conformance, on a store file (the log
// engine in front of bbolt, as Open gives it), in strict mode (Check
// inside every commit as well as between steps). TestStateMachineOnBbolt
// runs it on bbolt alone, kv/etcd on three etcd members.
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

// TestStateMachineOnBbolt: the same machine on bbolt without the log
// (kv/bolt through OpenEngine, durable commits off).
func TestStateMachineOnBbolt(t *testing.T) {
	fired := conformance.RunStateMachine(t, func(t *testing.T) func() (*relgraph.Store, error) {
		path := filepath.Join(t.TempDir(), "machine.db")
		return func() (*relgraph.Store, error) {
			e, err := bolt.Open(path, index.All, kv.Options{NoSync: true})
			if err != nil {
				return nil, err
			}
			s, err := relgraph.OpenEngine(e, &relgraph.Options{StrictMode: true})
			if err != nil {
				e.Close()
			}
			return s, err
		}
	})
	for _, name := range []string{"import-ok", "update-ok", "delete-ok", "overwrite-ok", "modify-ok", "attach-ok", "detach-ok", "reopen", "feed", "reverse", "match-0", "match-404"} {
		if fired[name] == 0 {
			t.Errorf("%q never fired: %v", name, fired)
		}
	}
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
