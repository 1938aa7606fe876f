package etcd

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

var prefixes atomic.Int64

func newPrefix() string { return fmt.Sprintf("test%d/", prefixes.Add(1)) }

func TestConformanceOneMember(t *testing.T) {
	c := startCluster(t, 1)
	kvtest.Run(t, func(t *testing.T) kv.Engine {
		e, err := Dial(c.clients, newPrefix(), kvtest.Keyspaces)
		if err != nil {
			t.Fatal(err)
		}
		return e
	})
}

// ctx is the context of the tests' store calls: they are not cancelled.
var ctx = context.Background()
