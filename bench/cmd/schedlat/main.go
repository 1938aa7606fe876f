// Command schedlat reads an execution trace (go test -trace) and
// reports, for the goroutines that run a given function, how long each
// waited to run once it could: the time from becoming runnable to
// running, by the state it left (woken from waiting, back from a
// system call, or stopped while running: preempted or yielding, with
// the runtime's reason). A goroutine that others wait
// for — relgraph's committer, or the completer that syncs the log —
// stalls all of them while it waits for a processor; go tool trace
// shows this per event, schedlat adds it up.
//
//	cd bench && go test -run '^$' -bench '^BenchmarkOverwrite32Writers$' -benchtime 20000x -trace /tmp/trace.out .
//	go run ./cmd/schedlat -last 500ms /tmp/trace.out
//
// A goroutine is matched by its own stacks (those of the transitions it
// makes while running), so a goroutine merely woken by the function is
// not counted. -last keeps the end of the trace only: the timed part
// of a benchmark, not its set-up.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	last := flag.Duration("last", 0, "count only the waits that began in this last part of the trace (0: all of it)")
	funcs := flag.String("funcs", "relgraph.(*Store).completeLoop,relgraph.(*Store).commitLoop", "comma-separated function names: a goroutine whose own stack holds one is reported under it")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: schedlat [-last d] [-funcs f,g] trace.out")
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	names := strings.Split(*funcs, ",")
	ts, role, err := readTransitions(f, names)
	if err != nil {
		log.Fatal(err)
	}
	if len(ts) == 0 {
		log.Fatal("no goroutine transitions in the trace")
	}
	start := ts[0].at
	if *last > 0 {
		start = ts[len(ts)-1].at - trace.Time(last.Nanoseconds())
	}
	waits := addUp(ts, role, start)
	for _, name := range names {
		for _, from := range slices.Sorted(maps.Keys(waits[name])) {
			d := waits[name][from]
			var sum time.Duration
			for _, x := range d {
				sum += x
			}
			fmt.Printf("%s, runnable after %s: %d times, mean %v, p50 %v, p90 %v, total %v\n", name, from, len(d),
				(sum / time.Duration(len(d))).Round(100*time.Nanosecond), d[len(d)/2].Round(100*time.Nanosecond),
				d[len(d)*9/10].Round(100*time.Nanosecond), sum.Round(time.Microsecond))
		}
	}
}

// readTransitions reads a trace's goroutine state changes, in order,
// and which goroutines ran one of names: the first of them found on
// the goroutine's own stack as it stopped running, blocked or entered
// a system call.
func readTransitions(r io.Reader, names []string) ([]transition, map[trace.GoID]string, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	var ts []transition
	role := map[trace.GoID]string{}
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			return ts, role, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if from == to {
			continue // a restatement at a trace generation's start, not a change
		}
		if from == trace.GoRunning {
			if name := matching(st.Stack, names); name != "" {
				role[g] = name
			}
		}
		ts = append(ts, transition{ev.Time(), g, from, to, st.Reason})
	}
}

// addUp is, for each name of role, the waits of its goroutines from
// becoming runnable (at start or later) to running, sorted, by the
// state they left to become runnable.
func addUp(ts []transition, role map[trace.GoID]string, start trace.Time) map[string]map[string][]time.Duration {
	waits := map[string]map[string][]time.Duration{}
	runnable := map[trace.GoID]transition{}
	for _, t := range ts {
		name, ok := role[t.g]
		if !ok {
			continue
		}
		switch {
		case t.to == trace.GoRunnable:
			runnable[t.g] = t
		case t.to == trace.GoRunning:
			if was, ok := runnable[t.g]; ok && was.at >= start {
				if waits[name] == nil {
					waits[name] = map[string][]time.Duration{}
				}
				why := was.from.String()
				if was.from == trace.GoRunning && was.reason != "" {
					why += " (" + was.reason + ")" // preempted, or yielding
				}
				waits[name][why] = append(waits[name][why], time.Duration(t.at-was.at))
			}
			delete(runnable, t.g)
		}
	}
	for _, byCause := range waits {
		for _, d := range byCause {
			slices.Sort(d)
		}
	}
	return waits
}

// transition is a goroutine's change of state, and the runtime's
// reason for it.
type transition struct {
	at       trace.Time
	g        trace.GoID
	from, to trace.GoState
	reason   string
}

// matching is the first of names that a frame of stk is, or "".
func matching(stk trace.Stack, names []string) string {
	for fr := range stk.Frames() {
		for _, n := range names {
			if strings.HasSuffix(fr.Func, n) {
				return n
			}
		}
	}
	return ""
}
