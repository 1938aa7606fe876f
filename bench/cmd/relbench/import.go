package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/bench"
)

// peakHeap samples the Go heap every 5 ms while fn runs.
func peakHeap(fn func() error) (uint64, error) {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := fn()
	close(stop)
	<-done
	return peak.Load(), err
}

// maxRSS is the process's peak resident set (VmHWM), in bytes.
func maxRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// importRows imports n profiles (email, phone, two custom fields, tags)
// into fresh stores: relgraph in batches of 10,000 per commit, SQLite
// likewise.
func importRows(dir string, n int) []row {
	log.Printf("workload import of %d profiles", n)
	workload := fmt.Sprintf("import %d profiles (email, phone, 2 fields, tags)", n)
	var rows []row
	var rgRate float64
	{
		s, err := relgraph.Open(filepath.Join(dir, "import.db"), nil)
		check(err)
		check(bench.Schema(s))
		t0 := time.Now()
		peak, err := peakHeap(func() error {
			items := make([]relgraph.ImportItem, 0, relgraph.MaxImportBatch)
			for start := 0; start < n; start += relgraph.MaxImportBatch {
				items = items[:0]
				for i := start; i < n && i < start+relgraph.MaxImportBatch; i++ {
					items = append(items, bench.PersonItem(i))
				}
				res, err := s.ImportBatch(ctx, 1, items)
				if err != nil {
					return err
				}
				for _, r := range res {
					if r.Err != nil {
						return r.Err
					}
				}
			}
			return nil
		})
		el := time.Since(t0)
		check(err)
		s.Close()
		rgRate = float64(n) / el.Seconds()
		rows = append(rows, row{Workload: workload, Contender: "relgraph", Writers: 1, Ops: n, OpsPerSec: rgRate, Ratio: 1, Reference: "relgraph ×1",
			Note: fmt.Sprintf("peak Go heap %d MiB; process max RSS so far %d MiB", peak>>20, maxRSS()>>20)})
	}
	{
		check(os.MkdirAll(filepath.Join(dir, "sqlimport"), 0o755))
		c, err := openSQLite(filepath.Join(dir, "sqlimport"))
		check(err)
		t0 := time.Now()
		peak, err := peakHeap(func() error { return c.importProfiles(0, n) })
		el := time.Since(t0)
		check(err)
		c.Close()
		rate := float64(n) / el.Seconds()
		rows = append(rows, row{Workload: workload, Contender: "sqlite", Writers: 1, Ops: n, OpsPerSec: rate, Ratio: rate / rgRate, Reference: "relgraph ×1",
			Note: fmt.Sprintf("peak Go heap %d MiB (SQLite's C heap not counted)", peak>>20)})
	}
	return rows
}

// sizeSeries measures overwrite by id, serial and 32 writers, on
// relgraph stores of each size.
func sizeSeries(dir string, sizes []int, d time.Duration) []row {
	var rows []row
	for _, n := range sizes {
		log.Printf("size series: %d profiles", n)
		path := filepath.Join(dir, fmt.Sprintf("size-%d.db", n))
		f, err := bench.NewFixture(path, nil, n, n)
		check(err)
		// Pairs over the whole store, not loaded first: nearly every call
		// creates its relation, in trees that grow with the store.
		c := &relgraphContender{f: f, d: dataset{profiles: n, popA: n - popFirst, popB: n}}
		for _, w := range []int{1, 32} {
			m := run(d/2, w, func(i int) error { return c.Overwrite(i, false) })
			r := row{Workload: fmt.Sprintf("overwrite by id, store of %d profiles", n), Contender: "relgraph", Writers: w, Ops: m.ops,
				OpsPerSec: float64(m.ops) / m.dur.Seconds(), P50us: percentile(m.lat, 0.5), P99us: percentile(m.lat, 0.99), Reference: "smallest store, same writers"}
			if m.err != nil {
				r.Note = "error: " + m.err.Error()
			}
			rows = append(rows, r)
		}
		f.Store.Close()
		os.Remove(path)
	}
	for i := range rows {
		for _, base := range rows[:2] {
			if base.Writers == rows[i].Writers && base.OpsPerSec > 0 {
				rows[i].Ratio = rows[i].OpsPerSec / base.OpsPerSec
			}
		}
	}
	return rows
}
