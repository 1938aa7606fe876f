package wal

import "github.com/relgraph/relgraph/kv"

// What the engine reports of itself: its counters (Stats) and its
// metrics (kv.Metered).

// Metrics (kv.Metered) are the store file's, and the log's: its
// records, what the overlay holds, its syncs and checkpoints.
func (e *Engine) Metrics() []kv.Metric {
	st := e.Stats()
	m := append(e.store.Metrics(),
		kv.Metric{Name: "log_records_total", Help: "Records (committed write transactions) written to the log.", Counter: true, Value: float64(st.Logged)},
		kv.Metric{Name: "log_checkpointed_records_total", Help: "Log records the store file holds.", Counter: true, Value: float64(st.Applied)},
		kv.Metric{Name: "log_overlay_bytes", Help: "Memory held by writes logged and not yet checkpointed (roughly).", Value: float64(st.OverlayBytes)},
		kv.Metric{Name: "log_overlay_keys", Help: "Keys written to the log and not yet checkpointed.", Value: float64(st.OverlayKeys)},
		kv.Metric{Name: "log_bulk_commits_total", Help: "Large transactions committed to the store file directly.", Counter: true, Value: float64(st.BulkCommits)},
		kv.Metric{Name: RecoveredRecordsMetric, Help: "Records Open read back from the log and replayed (a crash or kill left them).", Value: float64(e.recovery.Replayed)},
	)
	if e.recovery.Unrecognized {
		m = append(m, kv.Metric{Name: UnrecognizedLogMetric, Help: "1: Open found a file at the log's path that is not recognizably the log, beside a store file holding every write; a writable Open moved it aside whole (Recovery.MovedLog says where), a read-only one did not read it.", Value: 1})
	}
	if e.log != nil {
		size, _ := e.log.f.Size()
		syncs := e.log.syncs.Snapshot()
		m = append(m, kv.Metric{Name: "log_file_bytes", Help: "Size of the log file.", Value: float64(size)},
			kv.Metric{Name: SyncSecondsMetric, Help: "Time each fdatasync of the log took.", Histogram: &syncs})
	}
	ckpts := e.ckpts.Snapshot()
	return append(m, kv.Metric{Name: "log_checkpoint_seconds", Help: "Time each checkpoint of the log into the store file took.", Histogram: &ckpts})
}

// RecoveredRecordsMetric names the metric of Recovery().Replayed, for a
// program that holds the store, not the engine (relgraph serve logs it).
const RecoveredRecordsMetric = "log_recovered_records"

// UnrecognizedLogMetric names the metric present (at 1) when Open found
// a file at the log's path that is not recognizably the log, beside a
// store file holding every write (Recovery.Unrecognized): a user's file
// of that name, or a log a power cut tore as a session began. relgraph
// serve warns of it.
const UnrecognizedLogMetric = "log_unrecognized_file"

// SyncSecondsMetric names the histogram of the log's fdatasyncs, in
// seconds, for a program that holds the store (the benchmarks report
// its mean).
const SyncSecondsMetric = "log_fsync_seconds"

// Stats are the log's counters.
type Stats struct {
	Logged, Applied uint64 // the last record logged, and in the store file
	OverlayBytes    int64  // what the overlay holds, roughly
	OverlayKeys     int
	BulkCommits     uint64 // transactions that bypassed the log
}

// Stats returns the log's counters.
func (e *Engine) Stats() Stats {
	e.readMu.RLock()
	n := e.durable.len()
	e.readMu.RUnlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Logged: e.logged, Applied: e.applied, OverlayBytes: e.memBytes, OverlayKeys: n, BulkCommits: e.bulk}
}
