package wal

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

var ctx = context.Background()

// testConfig keeps logs small, so tests cross regions and checkpoint.
var testConfig = Config{RegionSize: 64 << 10, CheckpointBytes: 16 << 10}

func openTest(t testing.TB, path string, cfg Config) *Engine {
	t.Helper()
	cfg.File.InitialMmapSize = 16 << 20
	e, err := Open(path, kvtest.Keyspaces, kv.Options{NoSync: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openTest(t, filepath.Join(t.TempDir(), "kv.db"), testConfig) })
}

// TestConformanceBulk runs the conformance suite with every transaction
// of more than two keys bulk, so reads, cursors, rollbacks and commits
// of bulk transactions meet the seam's contract too.
func TestConformanceBulk(t *testing.T) {
	cfg := testConfig
	cfg.BulkKeys = 2
	kvtest.Run(t, func(t *testing.T) kv.Engine { return openTest(t, filepath.Join(t.TempDir(), "kv.db"), cfg) })
}
