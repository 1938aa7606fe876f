package wal

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/kvtest"
)

// BenchmarkCommit is one durable commit of one 200-byte write, serial:
// the log's own floor (one page written, one fdatasync).
func BenchmarkCommit(b *testing.B) {
	e, err := Open(filepath.Join(b.TempDir(), "c.db"), kvtest.Keyspaces, kv.Options{}, Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	value := make([]byte, 200)
	for i := 0; b.Loop(); i++ {
		w, err := e.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		w.Put("a", []byte(fmt.Sprintf("k%08d", i%100000)), value)
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecovery times Open of a store whose log is full: one region
// of records (batches of 32 writes of 200 bytes, as group commit writes
// them), none checkpointed, as a crash at the worst moment leaves it
// with the default configuration. Open reads and checks every record
// and rebuilds the overlay.
func BenchmarkRecovery(b *testing.B) {
	path := filepath.Join(b.TempDir(), "r.db")
	cfg := Config{CheckpointBytes: 1 << 40, CheckpointInterval: 1 << 40}
	e, err := Open(path, kvtest.Keyspaces, kv.Options{NoSync: true}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 200)
	records := 0
	for i := 0; ; i++ {
		w, err := e.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		for j := range 32 {
			w.Put("a", []byte(fmt.Sprintf("k%08d", (i*32+j)%1000000)), value)
		}
		if !e.log.fits(9000) {
			w.Rollback()
			break
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
		records++
	}
	logBytes := e.log.end
	if err := e.abandon(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e, err := Open(path, kvtest.Keyspaces, kv.Options{NoSync: true}, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if got := e.Stats().Logged - e.Stats().Applied; got != uint64(records) {
			b.Fatalf("replayed %d records, want %d", got, records)
		}
		e.abandon()
	}
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	b.ReportMetric(float64(logBytes)/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MiB/s")
}
