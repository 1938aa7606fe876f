package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// TestLoad64Clients: 64 keep-alive clients mix strengthens, overwrites
// and reads against the server on 127.0.0.1 for a bounded time; then
// Check passes and the stored sums equal the acknowledged deltas.
func TestLoad64Clients(t *testing.T) {
	e := newEnv(t)
	const nB = 8
	var bs []string
	for i := 0; i < nB; i++ {
		r := e.postJSON("profiles/import", map[string]any{"db_id": 2, "data": map[string]any{"nickname": fmt.Sprintf("n%d", i)}})
		e.want(r, 0)
		bs = append(bs, r.body["profile_id"].(string))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	post := func(endpoint string, body map[string]any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		resp, err := client.Post(e.url+Prefix+endpoint, "application/json", bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("%d: %s", resp.StatusCode, raw)
		}
		if resp.StatusCode != 200 {
			return out, fmt.Errorf("%d: %s", resp.StatusCode, raw)
		}
		return out, nil
	}
	deadline := time.Now().Add(2 * time.Second)
	acked := make([]atomic.Int64, nB)
	var requests atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for c := 0; c < 64; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && i < 5000; i++ {
				k := (c + i) % nB
				side := map[string]any{"token": writeToken, "rel_id": 3, "profile_a": map[string]any{"profile_id": profileA}, "profile_b": map[string]any{"profile_id": bs[k]}}
				var err error
				switch i % 4 {
				case 0, 1:
					side["weights"] = map[string]any{"user_like": 1}
					if _, err = post("relations/strengthen", side); err == nil {
						acked[k].Add(1)
					}
				case 2:
					side["weights"] = map[string]any{"donate": c*1000 + i}
					_, err = post("relations/edit", side)
				case 3:
					_, err = post("relations/get_counter", map[string]any{"token": readToken, "rel_id": 3, "profile_id": profileA})
				}
				requests.Add(1)
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	page, err := e.store.Relations(ctx, relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: profileA}})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, it := range page.Items {
		for k, b := range bs {
			if it.ProfileB.String() == b {
				if got, _ := it.Weights["user_like"].(int64); got != acked[k].Load() {
					t.Fatalf("relation to %s: user_like %d, acknowledged %d", b, got, acked[k].Load())
				}
				total += acked[k].Load()
			}
		}
	}
	c, err := e.store.Counter(ctx, 3, relgraph.Locator{ProfileID: profileA})
	if err != nil || c.Props["user_like"].Sum != total {
		t.Fatalf("counter %+v, want sum %d (%v)", c, total, err)
	}
	st := e.store.Stats()
	t.Logf("%d requests from 64 clients; %d strengthens acknowledged; %d writes in %d commits", requests.Load(), total, st.Requests, st.Commits)
	// Check runs in the cleanup of newEnv.
}
