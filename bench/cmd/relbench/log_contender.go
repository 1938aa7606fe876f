package main

import (
	"errors"
	"fmt"
	"log"
	"path/filepath"

	"github.com/relgraph/relgraph/bench"
)

// logRecordLen is the log ceiling's record: about what an overwrite by
// id logs (a relation and a counter, their keys, the record's header).
const logRecordLen = 200

// logName is the log ceiling's contender name.
const logName = "log alone"

// logContender is the bare group-commit log (bench.LogCeiling) as a
// contender of the overwrite-by-id rows: each Overwrite appends an
// overwrite-sized record and returns once its group's fdatasync is
// done. It runs in the same interleaved rounds as the stores, so a
// busy or slow disk moment hits it and relgraph alike, and relgraph's
// rate divided by its rate (logRatios) is measured side by side: the
// ratio issue 23's targets are stated in. It does nothing else.
type logContender struct {
	l   *bench.LogCeiling
	rec []byte
}

func newLogContender(dir string) *logContender {
	l, err := bench.OpenLogCeiling(filepath.Join(dir, "ceiling.log"), 64<<20)
	check(err)
	return &logContender{l: l, rec: make([]byte, logRecordLen)}
}

var errLogOnlyAppends = errors.New("the log ceiling only appends (Overwrite)")

func (c *logContender) Name() string              { return logName }
func (c *logContender) Overwrite(int, bool) error { return c.l.Append(c.rec) }
func (c *logContender) Strengthen(int) error      { return errLogOnlyAppends }
func (c *logContender) Page(int) error            { return errLogOnlyAppends }
func (c *logContender) Counter(bool) error        { return errLogOnlyAppends }
func (c *logContender) DeleteBig() error          { return errLogOnlyAppends }
func (c *logContender) Close() error              { return c.l.Close() }

// logRatios notes, on each log row of workload, relgraph's rate at the
// same writer count as a share of the log's, and logs it.
func logRatios(rows []row, workload string) {
	rates := map[int]float64{}
	for _, r := range rows {
		if r.Workload == workload && r.Contender == "relgraph" {
			rates[r.Writers] = r.OpsPerSec
		}
	}
	for i, r := range rows {
		if r.Workload != workload || r.Contender != logName || r.OpsPerSec == 0 || rates[r.Writers] == 0 {
			continue
		}
		share := rates[r.Writers] / r.OpsPerSec
		rows[i].Note += fmt.Sprintf("; relgraph at %d writers is %.2f× this", r.Writers, share)
		log.Printf("relgraph / log ceiling at %d writers: %.2f", r.Writers, share)
	}
}
