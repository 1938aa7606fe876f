package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
)

// TestScrapeAfterWrites serves a store through the API with metrics,
// makes writes and refused requests, and checks that a scrape counts
// them: requests by endpoint and code, commits and their batches,
// the log's syncs, the file's size; every histogram is cumulative.
func TestScrapeAfterWrites(t *testing.T) {
	ctx := context.Background()
	store, err := relgraph.Open(filepath.Join(t.TempDir(), "m.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
		t.Fatal(err)
	}
	m := New(store)
	srv := httptest.NewServer(m.Wrap(api.New(store, api.Config{Tokens: map[string]api.Role{"w": api.RoleWrite}, Observe: m.Observe})))
	defer srv.Close()
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+api.Prefix+"profiles/import", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer w")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 5 {
		if code := post(`{"db_id":1,"data":{"email":"u` + string(rune('a'+i)) + `@x.io"}}`); code != 200 {
			t.Fatalf("import: %d", code)
		}
	}
	if code := post(`{"db_id":1,"data":{"email":"no-at-sign"}}`); code != 400 {
		t.Fatalf("a bad email: %d", code)
	}
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(text), `relgraph_http_requests_total{code="200",endpoint="profiles/import"} 5`) {
		t.Fatalf("scrape: %d\n%s", resp.StatusCode, text)
	}

	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	value := func(name string) float64 {
		f := byName[name]
		if f == nil || len(f.Metric) == 0 {
			t.Fatalf("no %s", name)
		}
		switch mt := f.Metric[0]; {
		case mt.Counter != nil:
			return mt.Counter.GetValue()
		case mt.Gauge != nil:
			return mt.Gauge.GetValue()
		case mt.Histogram != nil:
			return float64(mt.Histogram.GetSampleCount())
		}
		t.Fatalf("%s has no value", name)
		return 0
	}
	requests := 0.0
	for _, mt := range byName["relgraph_http_requests_total"].Metric {
		labels := map[string]string{}
		for _, l := range mt.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["endpoint"] == "profiles/import" && labels["code"] == "400" && mt.Counter.GetValue() != 1 {
			t.Errorf("400s: %v", mt.Counter.GetValue())
		}
		requests += mt.Counter.GetValue()
	}
	if requests != 6 {
		t.Errorf("%v requests counted, 6 made", requests)
	}
	commits := value("relgraph_commit_batch_size")
	carried := byName["relgraph_commit_batch_size"].Metric[0].Histogram.GetSampleSum()
	if commits < 1 || carried < 6 || value("relgraph_commit_seconds") != commits {
		t.Errorf("commits %v, writes carried %v, commit times %v", commits, carried, value("relgraph_commit_seconds"))
	}
	if value("relgraph_log_fsync_seconds") < commits || value("relgraph_log_records_total") < commits {
		t.Errorf("fsyncs %v, log records %v, commits %v", value("relgraph_log_fsync_seconds"), value("relgraph_log_records_total"), commits)
	}
	if value("relgraph_store_file_bytes") <= 0 || value("relgraph_log_file_bytes") <= 0 {
		t.Errorf("file sizes %v %v", value("relgraph_store_file_bytes"), value("relgraph_log_file_bytes"))
	}
	if value("relgraph_commit_queue_depth") != 0 {
		t.Errorf("queue depth %v with no write under way", value("relgraph_commit_queue_depth"))
	}
	for _, f := range families {
		for _, mt := range f.Metric {
			if h := mt.Histogram; h != nil {
				prev := uint64(0)
				for _, b := range h.Bucket {
					if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > h.GetSampleCount() {
						t.Errorf("%s: bucket %v holds %d after %d, of %d", f.GetName(), b.GetUpperBound(), b.GetCumulativeCount(), prev, h.GetSampleCount())
					}
					prev = b.GetCumulativeCount()
				}
			}
		}
	}
}
