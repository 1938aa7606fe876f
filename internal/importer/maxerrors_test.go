package importer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

// The store's refusals in the batch in flight reach -max-errors; a bad
// line of the batch being read meanwhile must not get that batch
// committed: the import stops after the batch that reached the bound,
// as it did when nothing was read alongside (Committed 2, line 3 never
// stored).
func TestBoundReachedInFlightStopsThere(t *testing.T) {
	s := openStore(t)
	in := `{"email":"a@x.io"}
{"email":"a@x.io"}
{"email":"b@x.io"}
{"email": broken
`
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in), Options{DB: 1, Errors: &errs, BatchSize: 2, MaxErrors: 1})
	if !errors.Is(err, ErrTooManyErrors) {
		t.Fatal(err)
	}
	if _, gerr := s.GetProfile(ctx, 1, relgraph.Locator{Email: "b@x.io"}); gerr == nil {
		t.Errorf("line 3 (after the batch whose refusal reached -max-errors 1) was committed")
	}
	if sum.Committed != 2 || sum.Failed != 1 || sum.Lines != 2 {
		t.Errorf("summary %+v, want Committed 2, Failed 1, Lines 2 as before", sum)
	}
}

// A refusal in flight and a bad line being read reach -max-errors
// together: both are counted and reported, and ErrTooManyErrors never
// comes with fewer failures than the bound (lines 2 and 3, Failed 2).
func TestBoundReachedByRefusalAndBadLine(t *testing.T) {
	s := openStore(t)
	in := `{"email":"a@x.io"}
{"email":"a@x.io"}
{"email": broken
{"email":"b@x.io"}
{"email":"c@x.io"}
`
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in), Options{DB: 1, Errors: &errs, BatchSize: 2, MaxErrors: 2})
	if !errors.Is(err, ErrTooManyErrors) {
		t.Fatal(err)
	}
	if sum.Failed < 2 {
		t.Errorf("ErrTooManyErrors with Failed %d < MaxErrors 2: %v", sum.Failed, err)
	}
	if !strings.Contains(errs.String(), "line 3:") {
		t.Errorf("line 3's error was never reported:\n%s", errs.String())
	}
}
