package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"testing"
	"time"
)

// sleeper blocks on wake each round: a goroutine with a function of its
// own to be found by.
//
//go:noinline
func sleeper(wake <-chan struct{}, done chan<- struct{}) {
	for range wake {
		done <- struct{}{}
	}
}

// yielder yields n times: each time it is runnable again at once.
//
//go:noinline
func yielder(n int, done chan<- struct{}) {
	for range n {
		runtime.Gosched()
	}
	done <- struct{}{}
}

// A trace recorded here, of a goroutine woken 50 times and another
// yielding 50 times: schedlat finds each by its function, counts every
// wake-up under the state it left (waiting; running, by Gosched), and
// nothing under a function no goroutine ran.
func TestWaitsOfRecordedGoroutines(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing is not available:", err)
	}
	wake, done := make(chan struct{}), make(chan struct{})
	go sleeper(wake, done)
	for range 50 {
		wake <- struct{}{}
		<-done
		time.Sleep(100 * time.Microsecond) // let it block again
	}
	close(wake)
	go yielder(50, done)
	<-done
	trace.Stop()

	names := []string{".sleeper", ".yielder", ".absent"}
	ts, role, err := readTransitions(&buf, names)
	if err != nil {
		t.Fatal(err)
	}
	waits := addUp(ts, role, 0)
	if n := len(waits[".sleeper"]["Waiting"]); n < 50 {
		t.Errorf("the sleeper was woken 50 times; %d waits after Waiting counted (all: %v)", n, counts(waits[".sleeper"]))
	}
	if n := len(waits[".yielder"]["Running (runtime.Gosched)"]); n != 50 {
		t.Errorf("the yielder yielded 50 times; %d waits after Gosched counted (all: %v)", n, counts(waits[".yielder"]))
	}
	if len(waits[".absent"]) != 0 {
		t.Errorf("waits counted for a function no goroutine ran: %v", counts(waits[".absent"]))
	}
	for name, byCause := range waits {
		for cause, d := range byCause {
			for i, x := range d {
				if x < 0 || i > 0 && x < d[i-1] {
					t.Fatalf("%s after %s: waits not sorted or negative: %v", name, cause, d)
				}
			}
		}
	}
}

func counts(m map[string][]time.Duration) map[string]int {
	c := map[string]int{}
	for k, v := range m {
		c[k] = len(v)
	}
	return c
}
