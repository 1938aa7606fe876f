package importer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// BenchmarkRealisticFile imports the file $RELGRAPH_PROFILES (written
// by ../shared/data/profiles.py) as `relgraph import -db-id 1 -matching
// email -phone-region US` does, into a fresh store declared by database
// 1 of the config $RELGRAPH_PROFILES_SCHEMA (profiles.schema.json); one
// op is the whole file. busy is the share of the wall time the
// committer spent in batches, commit-share the part of it in bbolt's
// commits. For profiles:
//
//	RELGRAPH_PROFILES=p.jsonl RELGRAPH_PROFILES_SCHEMA=../../../shared/data/profiles.schema.json \
//	  go test -run '^$' -bench RealisticFile -benchtime 2x -cpuprofile cpu.out .
func BenchmarkRealisticFile(b *testing.B) {
	path, schemaPath := os.Getenv("RELGRAPH_PROFILES"), os.Getenv("RELGRAPH_PROFILES_SCHEMA")
	if path == "" || schemaPath == "" {
		b.Skip("RELGRAPH_PROFILES and RELGRAPH_PROFILES_SCHEMA name no files")
	}
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		b.Fatal(err)
	}
	var cfg struct{ Databases []relgraph.Database }
	if err := json.Unmarshal(raw, &cfg); err != nil || len(cfg.Databases) == 0 {
		b.Fatalf("%s: no databases (%v)", schemaPath, err)
	}
	for b.Loop() {
		b.StopTimer()
		s, err := relgraph.Open(filepath.Join(b.TempDir(), "b.db"), &relgraph.Options{PhoneRegion: "US"})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.PutDatabase(ctx, cfg.Databases[0]); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		before, t0 := s.Stats(), time.Now()
		b.StartTimer()
		sum, err := Run(ctx, s, f, Options{DB: cfg.Databases[0].ID, Matching: relgraph.ModeEmail})
		b.StopTimer()
		wall, st := time.Since(t0), s.Stats()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sum.Lines)/wall.Seconds(), "lines/s")
		b.ReportMetric(float64(st.BatchTime-before.BatchTime)/float64(wall), "busy")
		b.ReportMetric(float64(st.CommitTime-before.CommitTime)/float64(wall), "commit-share")
		s.Close()
		b.StartTimer()
	}
}
