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
// into fresh stores, 10,000 per commit: relgraph with one batch at a
// time and with two in flight (bench.ImportPeople), SQLite at its best
// (statements prepared once, rows built ahead), and bbolt alone writing
// the same keys (bench.ImportFloor), at relgraph's page fill and packed
// full. Ratios are to SQLite.
func importRows(dir string, n int) []row {
	log.Printf("workload import of %d profiles", n)
	workload := fmt.Sprintf("import %d profiles (email, phone, 2 fields, tags)", n)
	var rows []row
	for _, inFlight := range []int{1, 2} {
		path := filepath.Join(dir, fmt.Sprintf("import-%d.db", inFlight))
		s, err := relgraph.Open(path, nil)
		check(err)
		check(bench.Schema(s))
		t0, stop := time.Now(), startMeter()
		peak, err := peakHeap(func() error { return bench.ImportPeople(s, n, relgraph.MaxImportBatch, inFlight) })
		el := time.Since(t0)
		m := measure{ops: n}
		stop(&m)
		check(err)
		check(s.Close())
		check(os.Remove(path))
		what := "one batch at a time"
		if inFlight > 1 {
			what = fmt.Sprintf("%d batches in flight", inFlight)
		}
		r := row{Workload: workload, Contender: "relgraph", Writers: inFlight, Ops: n, OpsPerSec: float64(n) / el.Seconds(),
			Note: fmt.Sprintf("%s; peak Go heap %d MiB; process max RSS so far %d MiB", what, peak>>20, maxRSS()>>20)}
		r.setCost(&m)
		rows = append(rows, r)
	}
	check(os.MkdirAll(filepath.Join(dir, "sqlimport"), 0o755))
	c, err := openSQLite(filepath.Join(dir, "sqlimport"))
	check(err)
	t0, stop := time.Now(), startMeter()
	peak, err := peakHeap(func() error { return c.importProfiles(0, n) })
	el := time.Since(t0)
	m := measure{ops: n}
	stop(&m)
	check(err)
	c.Close()
	sqliteRate := float64(n) / el.Seconds()
	r := row{Workload: workload, Contender: "sqlite", Writers: 1, Ops: n, OpsPerSec: sqliteRate,
		Note: fmt.Sprintf("statements prepared once, rows built ahead; peak Go heap %d MiB (SQLite's C heap not counted)", peak>>20)}
	r.setCost(&m)
	rows = append(rows, r)
	recordLen, err := bench.PersonRecordLen(dir, n)
	check(err)
	for _, fill := range []float64{0, 1} {
		path := filepath.Join(dir, fmt.Sprintf("import-floor-%g.db", fill))
		stop := startMeter()
		took, err := bench.ImportFloor(path, n, relgraph.MaxImportBatch, recordLen, fill)
		m := measure{ops: n}
		stop(&m)
		check(err)
		check(os.Remove(path))
		name, note := "bbolt floor", "bbolt's default page fill, as relgraph's: import's ceiling on bbolt at relgraph's settings"
		if fill > 0 {
			name, note = "bbolt floor, pages packed full", "FillPercent 1 on every bucket: bbolt's ceiling for this workload, whose keys mostly arrive in order"
		}
		r := row{Workload: workload, Contender: name, Writers: 1, Ops: n, OpsPerSec: float64(n) / took.Seconds(),
			Note: fmt.Sprintf("the same keys, prebuilt, records of %d bytes (the mean), straight into bbolt; %s", recordLen, note)}
		r.setCost(&m)
		rows = append(rows, r)
	}
	for i := range rows {
		rows[i].Ratio, rows[i].Reference = rows[i].OpsPerSec/sqliteRate, "sqlite"
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
			r.setCost(&m)
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
