package main

import (
	"fmt"
	"log"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// second is one second of the sustained run.
type second struct {
	At           int     `json:"at_s"`
	OpsPerSec    int64   `json:"ops_per_s"`
	P99us        float64 `json:"p99_us"`
	OverlayMiB   float64 `json:"overlay_mib"`
	Checkpointed uint64  `json:"checkpointed_records"` // the log's records in the store file so far
	Logged       uint64  `json:"logged_records"`
}

// sustainedRun overwrites existing relations from 32 writers for d and
// records every second's rate and p99, with the log's overlay and how
// far checkpoints got: does the rate hold while checkpoints run?
func sustainedRun(c *relgraphContender, d time.Duration) ([]second, row) {
	log.Printf("sustained: 32 writers for %v", d)
	var (
		stop    atomic.Bool
		mu      sync.Mutex
		lat     []time.Duration // this second's
		all     []time.Duration
		done    atomic.Int64
		failure atomic.Pointer[error]
	)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(opSeq.Add(1))
				t0 := time.Now()
				if err := c.Overwrite(i, false); err != nil {
					failure.Store(&err)
					return
				}
				el := time.Since(t0)
				mu.Lock()
				lat = append(lat, el)
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	var series []second
	start, last := time.Now(), int64(0)
	tick := time.NewTicker(time.Second)
	for at := 1; time.Since(start) < d; at++ {
		<-tick.C
		mu.Lock()
		sec := lat
		lat = nil
		mu.Unlock()
		all = append(all, sec...)
		n := done.Load()
		st := c.f.Engine.Stats()
		series = append(series, second{At: at, OpsPerSec: n - last, P99us: percentile(sec, 0.99),
			OverlayMiB: float64(st.OverlayBytes) / (1 << 20), Checkpointed: st.Applied, Logged: st.Logged})
		last = n
	}
	tick.Stop()
	stop.Store(true)
	wg.Wait()
	el := time.Since(start)
	r := row{Workload: fmt.Sprintf("sustained overwrite, 32 writers, %v", d.Round(time.Second)), Contender: "relgraph", Writers: 32,
		Ops: int(done.Load()), OpsPerSec: float64(done.Load()) / el.Seconds(), P50us: percentile(all, 0.5), P99us: percentile(all, 0.99), Ratio: 1, Reference: "itself"}
	rates := make([]int64, len(series))
	for i, s := range series {
		rates[i] = s.OpsPerSec
	}
	slices.Sort(rates)
	if len(rates) > 0 {
		r.Note = fmt.Sprintf("slowest second %d ops/s, median %d; process max RSS %d MiB", rates[0], rates[len(rates)/2], maxRSS()>>20)
	}
	if err := failure.Load(); err != nil {
		r.Note = "error: " + (*err).Error()
	}
	return series, r
}
