package api

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// BenchmarkRelationsGetAll is relations/get without limit on an A
// profile with 2,000 and with 20,000 relations, over real HTTP, reading
// the answer as it comes. It reports the peak heap in use while the
// answer streams (sampled every millisecond): streamed, it stays flat as
// the count grows tenfold; built whole, it would grow with it.
func BenchmarkRelationsGetAll(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("relations=%d", n), func(b *testing.B) {
			e := newEnv(b)
			res, err := e.store.ImportBatch(ctx, 2, make([]relgraph.ImportItem, relgraph.MaxImportBatch))
			if err != nil {
				b.Fatal(err)
			}
			for done := 0; done < n; done += len(res) {
				if done > 0 {
					if res, err = e.store.ImportBatch(ctx, 2, make([]relgraph.ImportItem, relgraph.MaxImportBatch)); err != nil {
						b.Fatal(err)
					}
				}
				err = e.store.Update(ctx, func(tx *relgraph.Tx) error {
					for _, r := range res[:min(len(res), n-done)] {
						if _, err := tx.Attach(relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: profileA},
							B: relgraph.Locator{ProfileID: r.ID.String()}, Weights: map[string]any{"user_like": 1}}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			body := `{"token":"` + writeToken + `","rel_id":3,"profile_id":"` + profileA + `"}`
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}
			}()
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			peak.Store(base.HeapInuse)
			for b.Loop() {
				resp, err := http.Post(e.url+Prefix+"relations/get", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				nBytes, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || nBytes < int64(n)*100 {
					b.Fatalf("answer %d, %d bytes", resp.StatusCode, nBytes)
				}
			}
			close(stop)
			b.ReportMetric(float64(peak.Load()-base.HeapInuse)/(1<<20), "peak-heap-MiB")
		})
	}
}
