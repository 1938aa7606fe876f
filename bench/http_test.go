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

	"github.com/relgraph/relgraph/api"
)

// BenchmarkHTTPOverwrite32Clients is relations/edit over real HTTP on
// 127.0.0.1 from 32 keep-alive clients; compare with
// BenchmarkOverwrite32Writers from the same run:
//
//	go test -run '^$' -bench 'Overwrite32|HTTPOverwrite' ./bench
func BenchmarkHTTPOverwrite32Clients(b *testing.B) {
	f := fixture(b, 1000, 1000)
	h := api.New(f.Store, api.Config{
		Tokens: map[string]api.Role{"bench": api.RoleWrite},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := srv.URL + api.Prefix + "relations/edit"
	var n atomic.Int64
	b.SetParallelism((32 + 1) / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			body, _ := json.Marshal(map[string]any{
				"token": "bench", "rel_id": 3,
				"profile_a": map[string]any{"profile_id": f.A[i%len(f.A)].String()},
				"profile_b": map[string]any{"profile_id": f.B[(i*7)%len(f.B)].String()},
				"weights":   map[string]any{"user_like": i, "donate": i % 1000, "is_online": i%2 == 0},
			})
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
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
