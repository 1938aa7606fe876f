// Package metrics exports a served store's metrics in Prometheus' text
// format: the HTTP requests (by endpoint and status, with latencies),
// the group commit (batch sizes, commit latency, queue depth, top-list
// refills), the engine's own (store file size, the log's fsyncs and
// checkpoints), and Go's runtime and the process.
//
// The store's values are read at scrape time from relgraph.Store.Stats,
// which takes no transaction: a scrape never waits for a commit, only,
// for a moment, for the log's own locks.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/histogram"
	"github.com/relgraph/relgraph/kv"
)

// Path is where the server answers scrapes.
const Path = "/metrics"

const namespace = "relgraph"

// Metrics holds a server's registry.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns the metrics of a server over store.
func New(store *relgraph.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by endpoint and status code."}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "Time from a request's arrival to its answer written, by endpoint.", Buckets: histogram.LatencyBounds()}, []string{"endpoint"}),
	}
	m.registry.MustRegister(m.requests, m.latency, storeCollector{store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe records one answered request (api.Config.Observe).
func (m *Metrics) Observe(endpoint string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}

// Handler answers scrapes.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Wrap answers GET Path with the metrics and passes every other request
// to next. (Not an http.ServeMux: it would redirect the unclean paths
// that the API answers as they are.)
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	scrape := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Path && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			scrape.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// storeCollector reads the store's Stats at each scrape.
type storeCollector struct{ store *relgraph.Store }

// Describe sends nothing: the engine's metrics are known only when it
// reports them, so the collector is unchecked.
func (storeCollector) Describe(chan<- *prometheus.Desc) {}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	metrics := []kv.Metric{
		{Name: "commit_batch_size", Help: "Writes per group commit (its count is the commits, its sum the writes).", Histogram: &st.BatchSizes},
		{Name: "commit_seconds", Help: "Time of each group commit's engine commit, fsync included.", Histogram: &st.CommitLatency},
		{Name: "commit_queue_depth", Help: "Writes waiting for the group committer.", Value: float64(st.Queued)},
		{Name: "top_refills_total", Help: "Writes that read all of a profile's relations to refill a top list.", Counter: true, Value: float64(st.TopRefills)},
	}
	for _, m := range append(metrics, st.Engine...) {
		desc := prometheus.NewDesc(prometheus.BuildFQName(namespace, "", m.Name), m.Help, nil, nil)
		switch {
		case m.Histogram != nil:
			buckets := make(map[float64]uint64, len(m.Histogram.Bounds))
			for i, b := range m.Histogram.Bounds {
				buckets[b] = m.Histogram.Counts[i]
			}
			ch <- prometheus.MustNewConstHistogram(desc, m.Histogram.Count, m.Histogram.Sum, buckets)
		case m.Counter:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, m.Value)
		default:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, m.Value)
		}
	}
}
