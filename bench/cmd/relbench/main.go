// Command relbench runs relgraph and the stores a Go user would pick
// instead on the same workloads, in the same process, interleaved, and
// prints a markdown table (ops/s, p50, p99, ratio to the reference row),
// writes it with a JSON file and charts to -out.
//
//	go run ./cmd/relbench                          # quick: about two minutes
//	go run ./cmd/relbench -profiles 100000 -duration 10s -sizes 10000,100000,1000000 -import 1000000
//
// Every commit is durable (fsync) in every contender.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relgraph/relgraph/bench"
)

type row struct {
	Workload  string  `json:"workload"`
	Contender string  `json:"contender"`
	Writers   int     `json:"writers"`
	Ops       int     `json:"ops"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	// CPU and memory per operation, over the whole process (every
	// goroutine, the GC, background checkpoints; for relgraph-http the
	// clients too; for sqlite its C code): what sets throughput once the
	// disk is not the limit.
	CPUms1k     float64 `json:"cpu_ms_per_1000_ops"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	GCs         uint32  `json:"gc_cycles"`
	Ratio       float64 `json:"ratio"` // to the workload's reference row
	Reference   string  `json:"reference"`
	Note        string  `json:"note,omitempty"`
}

type measure struct {
	ops    int
	dur    time.Duration
	lat    []time.Duration
	err    error
	cpu    time.Duration // process CPU over the run
	bytes  uint64        // heap bytes allocated over the run
	allocs uint64        // heap objects allocated over the run
	gcs    uint32        // GC cycles completed over the run
}

// opSeq numbers operations across all runs: a number never repeats, so
// no overwrite re-sends what an earlier run wrote (relgraph would skip
// it as a no-op and flatter itself).
var opSeq atomic.Int64

// ctx is the context of the harness's store calls.
var ctx = context.Background()

// run drives op from writers goroutines for d and records every latency.
func run(d time.Duration, writers int, op func(i int) error) measure {
	next := &opSeq
	var mu sync.Mutex
	var m measure
	var wg sync.WaitGroup
	stop := startMeter()
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var err error
			for time.Now().Before(deadline) {
				i := int(next.Add(1))
				t0 := time.Now()
				if err = op(i); err != nil {
					break
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			m.lat = append(m.lat, lat...)
			if err != nil && m.err == nil {
				m.err = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	m.dur = time.Since(start)
	stop(&m)
	m.ops = len(m.lat)
	return m
}

// startMeter starts counting the process's CPU, heap allocation and GC
// cycles; the function it returns puts the counts since into m.
func startMeter() func(m *measure) {
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := bench.ProcessCPU()
	return func(m *measure) {
		m.cpu = bench.ProcessCPU() - cpu0
		var ms1 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		m.bytes, m.allocs, m.gcs = ms1.TotalAlloc-ms0.TotalAlloc, ms1.Mallocs-ms0.Mallocs, ms1.NumGC-ms0.NumGC
	}
}

func (m *measure) add(o measure) {
	m.ops += o.ops
	m.dur += o.dur
	m.cpu += o.cpu
	m.bytes += o.bytes
	m.allocs += o.allocs
	m.gcs += o.gcs
	m.lat = append(m.lat, o.lat...)
	if m.err == nil {
		m.err = o.err
	}
}

func percentile(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds())
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func main() {
	profiles := flag.Int("profiles", 10000, "profiles in each of the two databases")
	bigN := flag.Int("edges", 100000, "relations of the big A profile (capped at -profiles)")
	writersFlag := flag.String("writers", "1,8,32,128", "writer counts")
	duration := flag.Duration("duration", 2*time.Second, "time per row, split over interleaved rounds")
	rounds := flag.Int("rounds", 2, "interleaved rounds per row")
	sizes := flag.String("sizes", "2000,10000", "store sizes for the overwrite-vs-size chart")
	importN := flag.Int("import", 50000, "profiles in the import workload")
	deleteN := flag.Int("delete", 10000, "relations of the profile the cascade delete removes")
	popA := flag.Int("populated-a", 1000, "A profiles of the populated relations the overwrites land on")
	popB := flag.Int("populated-b", 200, "B profiles of each of those A profiles")
	out := flag.String("out", "out", "directory for results.md, results.json and charts")
	sustained := flag.Duration("sustained", 0, "also run 32 writers overwriting for this long, recording the rate of every second (0: skip)")
	onlyImport := flag.Bool("only-import", false, "measure the import workload alone and write -out's import.md")
	realistic := flag.String("realistic", "", "also import this JSON Lines file of ../shared/data/profiles.py into relgraph and SQLite (needs -realistic-schema)")
	realisticSchemaPath := flag.String("realistic-schema", "", "the config declaring database 1 of -realistic's profiles (../shared/data/profiles.schema.json)")
	redraw := flag.Bool("redraw", false, "measure nothing: draw the charts again from -out's results.json (and sustained.json)")
	flag.Parse()
	if *redraw {
		check(redrawCharts(*out))
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	writers := parseInts(*writersFlag)
	d := dataset{profiles: *profiles, bigN: min(*bigN, *profiles), deleteN: min(*deleteN, *profiles),
		popA: min(*popA, *profiles-popFirst), popB: min(*popB, *profiles)}
	dir, err := os.MkdirTemp("", "relbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if (*realistic == "") != (*realisticSchemaPath == "") {
		log.Fatal("-realistic and -realistic-schema go together")
	}
	importWorkloads := func() []row {
		rows := importRows(dir, *importN)
		if *realistic != "" {
			rows = append(rows, realisticRows(dir, *realistic, *realisticSchemaPath)...)
		}
		return rows
	}
	if *onlyImport {
		table := markdown(importWorkloads(), dataset{}) // no populated stores
		fmt.Print(table)
		check(os.WriteFile(filepath.Join(*out, "import.md"), []byte(table), 0o644))
		return
	}

	log.Printf("loading %d+%d profiles, %d relations on the big profile and %d×%d populated ones, into each store", d.profiles, d.profiles, d.bigN, d.popA, d.popB)
	rg, err := newRelgraph(filepath.Join(dir), d, true)
	check(err)
	rb, err := newRelgraph(filepath.Join(dir), d, false)
	check(err)
	sq, err := newSQLite(dir, d)
	check(err)
	bo, err := newBolt(dir)
	check(err)
	hp := newHTTP(rg)
	lg := newLogContender(dir)
	// relgraph-bbolt (the store without its log) runs the overwrites
	// only: the log's gain, side by side.
	all := []contender{rg, rb, hp, sq, bo}
	// relgraph-maps reads relations/get pages as Relations (a map per
	// relation), beside relgraph's ScanRelations.
	maps := mapsContender{rg}

	var rows []row
	add := func(workload string, ref string, results map[string]map[int]*measure, notes map[string]string) {
		refM := results[ref]
		var refRate float64
		for _, m := range refM { // the reference row is the lowest writer count measured
			refRate = float64(m.ops) / m.dur.Seconds()
			break
		}
		if m, ok := refM[1]; ok {
			refRate = float64(m.ops) / m.dur.Seconds()
		}
		for _, c := range append(all, maps, lg) {
			byW := results[c.Name()]
			ws := make([]int, 0, len(byW))
			for w := range byW {
				ws = append(ws, w)
			}
			slices.Sort(ws)
			for _, w := range ws {
				m := byW[w]
				r := row{Workload: workload, Contender: c.Name(), Writers: w, Ops: m.ops, Reference: ref + " ×1", Note: notes[c.Name()]}
				if m.err != nil {
					r.Note = "error: " + m.err.Error()
				}
				if m.ops > 0 {
					r.OpsPerSec = float64(m.ops) / m.dur.Seconds()
					r.P50us, r.P99us = percentile(m.lat, 0.50), percentile(m.lat, 0.99)
					r.setCost(m)
					if refRate > 0 {
						r.Ratio = r.OpsPerSec / refRate
					}
				}
				rows = append(rows, r)
			}
		}
	}
	// interleaved runs every contender's op at every writer count, in
	// rounds, so drift on a shared machine hits all rows alike.
	interleaved := func(name string, ws []int, cs []contender, op func(c contender) func(i int) error) map[string]map[int]*measure {
		log.Printf("workload %s", name)
		res := map[string]map[int]*measure{}
		for r := 0; r < *rounds; r++ {
			for _, w := range ws {
				for _, c := range cs {
					if c == hp && w == 1 && len(ws) > 1 {
						continue // HTTP: from 8 keep-alive clients up
					}
					m := run(*duration/time.Duration(*rounds), w, op(c))
					if res[c.Name()] == nil {
						res[c.Name()] = map[int]*measure{}
					}
					if res[c.Name()][w] == nil {
						res[c.Name()][w] = &measure{}
					}
					res[c.Name()][w].add(m)
				}
			}
		}
		return res
	}
	ws := append([]int{1}, writers...)
	ws = slices.Compact(ws)
	// The log alone joins the overwrites by id: the ceiling they are
	// divided by, measured in the same rounds.
	overwriteByID := "overwrite an existing relation, by profile id"
	add(overwriteByID, "bbolt-put", interleaved("overwrite-id", ws, append(all, lg), func(c contender) func(int) error {
		return func(i int) error { return c.Overwrite(i, false) }
	}), map[string]string{"bbolt-put": "one Put per Update: the engine's floor",
		logName: fmt.Sprintf("the log's ceiling: group-committed %d-byte appends, one flusher, write + fdatasync of whatever gathered, preallocated file; no store", logRecordLen)})
	logRatios(rows, overwriteByID)
	add("overwrite an existing relation: A by email, B by custom field", "bbolt-put", interleaved("overwrite-email", ws, all, func(c contender) func(int) error {
		return func(i int) error { return c.Overwrite(i, true) }
	}), map[string]string{"bbolt-put": "one Put per Update: the engine's floor"})
	add("strengthen 16 hot relations", "sqlite", interleaved("strengthen", ws, []contender{rg, hp, sq}, func(c contender) func(int) error {
		return func(i int) error { return c.Strengthen(i) }
	}), nil)
	reads := []int{1, 8}
	add("relations/get, page of 100", "sqlite", interleaved("page", reads, []contender{rg, maps, sq}, func(c contender) func(int) error {
		return func(i int) error { return c.Page(i) }
	}), map[string]string{"relgraph": "ScanRelations: B and three properties read in place, as SQLite's row scan",
		"relgraph-maps": "Relations: a RelationItem and a Weights map per relation"})
	add("get_counter, 10 relations", "relgraph", interleaved("counter-10", []int{1}, []contender{rg, sq}, func(c contender) func(int) error {
		return func(int) error { return c.Counter(false) }
	}), nil)
	add(fmt.Sprintf("get_counter, %d relations", d.bigN), "relgraph", interleaved("counter-big", []int{1}, []contender{rg, sq}, func(c contender) func(int) error {
		return func(int) error { return c.Counter(true) }
	}), nil)
	for _, c := range []contender{rg, sq} {
		t0 := time.Now()
		err := c.DeleteBig()
		el := time.Since(t0)
		r := row{Workload: fmt.Sprintf("cascade delete of a profile with %d relations", d.deleteN), Contender: c.Name(), Writers: 1, Ops: 1,
			OpsPerSec: 1 / el.Seconds(), P50us: float64(el.Microseconds()), P99us: float64(el.Microseconds()), Reference: "sqlite ×1"}
		if err != nil {
			r.Note = "error: " + err.Error()
		}
		rows = append(rows, r)
	}
	fixRatios(rows, fmt.Sprintf("cascade delete of a profile with %d relations", d.deleteN), "sqlite")
	var series []second
	if *sustained > 0 {
		var r row
		series, r = sustainedRun(rg, *sustained)
		rows = append(rows, r)
	}
	hp.Close()
	for _, c := range []contender{rg, rb, sq, bo, lg} {
		c.Close()
	}

	rows = append(rows, importWorkloads()...)
	sizeRows := sizeSeries(dir, parseInts(*sizes), *duration)
	rows = append(rows, sizeRows...)

	table := markdown(rows, d)
	fmt.Print(table)
	check(os.WriteFile(filepath.Join(*out, "results.md"), []byte(table), 0o644))
	js, _ := json.MarshalIndent(map[string]any{"machine": machine(), "dataset": d, "rows": rows}, "", "  ")
	check(os.WriteFile(filepath.Join(*out, "results.json"), js, 0o644))
	if len(series) > 0 {
		js, _ := json.MarshalIndent(series, "", "  ")
		check(os.WriteFile(filepath.Join(*out, "sustained.json"), js, 0o644))
	}
	check(drawCharts(*out, rows, sizeRows, series))
	log.Printf("wrote %s: results.md, results.json and charts", *out)
}

// drawCharts writes the charts of a run into dir, as SVG and PNG.
func drawCharts(dir string, rows, sizeRows []row, series []second) error {
	for _, ext := range []string{"svg", "png"} {
		if err := writerChart(rows, filepath.Join(dir, "writers."+ext), false); err != nil {
			return err
		}
		if err := writerChart(rows, filepath.Join(dir, "p99."+ext), true); err != nil {
			return err
		}
		if err := sizeChart(sizeRows, filepath.Join(dir, "sizes."+ext)); err != nil {
			return err
		}
		if len(series) > 0 {
			if err := sustainedChart(series, filepath.Join(dir, "sustained."+ext)); err != nil {
				return err
			}
		}
	}
	return nil
}

// redrawCharts draws the charts again from the results a run wrote into
// dir.
func redrawCharts(dir string) error {
	var res struct{ Rows []row }
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	var sizeRows []row
	for _, r := range res.Rows {
		if strings.HasPrefix(r.Workload, "overwrite by id, store of") {
			sizeRows = append(sizeRows, r)
		}
	}
	var series []second
	if b, err := os.ReadFile(filepath.Join(dir, "sustained.json")); err == nil {
		if err := json.Unmarshal(b, &series); err != nil {
			return err
		}
	}
	return drawCharts(dir, res.Rows, sizeRows, series)
}

func fixRatios(rows []row, workload, ref string) {
	var refRate float64
	for _, r := range rows {
		if r.Workload == workload && r.Contender == ref {
			refRate = r.OpsPerSec
		}
	}
	for i := range rows {
		if rows[i].Workload == workload && refRate > 0 {
			rows[i].Ratio = rows[i].OpsPerSec / refRate
		}
	}
}

func markdown(rows []row, d dataset) string {
	var b strings.Builder
	if d.profiles > 0 {
		fmt.Fprintf(&b, "Machine: %s. Stores: %d profiles per database; durable commits everywhere.\n\n", machine(), d.profiles)
	} else {
		fmt.Fprintf(&b, "Machine: %s. Durable commits everywhere.\n\n", machine())
	}
	fmt.Fprintln(&b, "| workload | contender | writers | ops/s | p50 µs | p99 µs | CPU ms / 1k ops | B/op | allocs/op | GCs | ratio | to | note |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f | %d | %.2f | %s | %s |\n",
			r.Workload, r.Contender, r.Writers, r.OpsPerSec, r.P50us, r.P99us, r.CPUms1k, r.BytesPerOp, r.AllocsPerOp, r.GCs, r.Ratio, r.Reference, r.Note)
	}
	return b.String()
}

// setCost fills in the row's CPU and memory per operation from m.
func (r *row) setCost(m *measure) {
	if m.ops == 0 {
		return
	}
	n := float64(m.ops)
	r.CPUms1k = m.cpu.Seconds() * 1e3 / n * 1000
	r.BytesPerOp, r.AllocsPerOp, r.GCs = float64(m.bytes)/n, float64(m.allocs)/n, m.gcs
}

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs, %s %s/%s", host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
