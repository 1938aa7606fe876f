package kv

import "github.com/relgraph/relgraph/histogram"

// Metered is an engine that reports counters of its own (optional): the
// store passes them on in its Stats, and the server's /metrics exports
// them. Metrics must be cheap and safe to call at any time.
type Metered interface {
	Metrics() []Metric
}

// Metric is one value an engine reports.
type Metric struct {
	// Name is the metric's name without a prefix, in Prometheus' style:
	// log_syncs_total, store_file_bytes.
	Name string
	// Help says what it counts.
	Help string
	// Counter marks a value that only grows; otherwise it is a gauge.
	Counter bool
	// Value is the value of a counter or gauge.
	Value float64
	// Histogram, if set, makes the metric a histogram (Value unused).
	Histogram *histogram.Snapshot
}
