package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph/api"
)

// BenchmarkHTTPOverwrite32Clients is relations/edit over real HTTP on
// 127.0.0.1 from 32 keep-alive clients; compare with
// BenchmarkOverwrite32Writers from the same run:
//
//	go test -run '^$' -bench 'Overwrite32|HTTPOverwrite' ./bench
func BenchmarkHTTPOverwrite32Clients(b *testing.B) {
	f := fixture(b, 1000, 1000)
	srv := httptest.NewServer(benchHandler(f))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := srv.URL + api.Prefix + "relations/edit"
	var n atomic.Int64
	b.SetParallelism((32 + 1) / 2)
	b.ResetTimer()
	defer reportCPU(b, ProcessCPU())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(editBody(f, int(n.Add(1)))))
			if err != nil {
				b.Error(err)
				return
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Error(fmt.Errorf("status %d: %s", resp.StatusCode, out))
				return
			}
		}
	})
}

// BenchmarkHandlerOverwrite32 is relations/edit through the handler
// alone, 32 goroutines, no network (httptest.NewRecorder): the server's
// own cost per request — reading, decoding, the write, encoding —
// beside BenchmarkOverwrite32Writers (the library) and
// BenchmarkHTTPOverwrite32Clients (with loopback and a client) in one run:
//
//	go test -run '^$' -bench 'Overwrite32Writers$|HandlerOverwrite32|HTTPOverwrite' ./bench
func BenchmarkHandlerOverwrite32(b *testing.B) {
	f := fixture(b, 1000, 1000)
	h := benchHandler(f)
	var n atomic.Int64
	b.SetParallelism((32 + 1) / 2)
	b.ResetTimer()
	defer reportCPU(b, ProcessCPU())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", api.Prefix+"relations/edit", bytes.NewReader(editBody(f, int(n.Add(1)))))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Error(fmt.Errorf("status %d: %s", rec.Code, rec.Body))
				return
			}
		}
	})
}

// benchHandler is the API handler over f's store, with the token
// "bench" for writes and no request log.
func benchHandler(f *Fixture) http.Handler {
	return api.New(f.Store, api.Config{
		Tokens: map[string]api.Role{"bench": api.RoleWrite},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

// editBody is the i-th relations/edit request of the HTTP benchmarks:
// A and B by id, the three properties set.
func editBody(f *Fixture, i int) []byte {
	body, _ := json.Marshal(map[string]any{
		"token": "bench", "rel_id": 3,
		"profile_a": map[string]any{"profile_id": f.A[i%len(f.A)].String()},
		"profile_b": map[string]any{"profile_id": f.B[(i*7)%len(f.B)].String()},
		"weights":   map[string]any{"user_like": i, "donate": i % 1000, "is_online": i%2 == 0},
	})
	return body
}

// reportCPU reports the process's CPU per operation since from (a
// ProcessCPU reading taken as the timed part began): for the HTTP rows,
// the server's, the library's and the clients' together.
func reportCPU(b *testing.B, from time.Duration) {
	b.ReportMetric(float64((ProcessCPU()-from).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}
