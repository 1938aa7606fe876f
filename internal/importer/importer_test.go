package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

func openStore(t *testing.T) *relgraph.Store {
	s, err := relgraph.Open(filepath.Join(t.TempDir(), "imp.db"), &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{
		{Name: "crm_id", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHundredThousandLines imports 100,000 lines, one in 997 of them
// bad in one of four ways, and checks every bad line is reported by
// number and every good one stored.
func TestHundredThousandLines(t *testing.T) {
	s := openStore(t)
	const n = 100000
	var in bytes.Buffer
	bad := map[int]bool{}
	for i := 1; i <= n; i++ {
		switch {
		case i%997 == 0:
			bad[i] = true
			fmt.Fprintln(&in, []string{`{"email": "broken`, `{"email":"x@y"}`, `{"crm_id":"nope"}`, `{"shoe_size":1}`}[i%4])
		default:
			fmt.Fprintf(&in, `{"email":"u%d@example.com","phones":["+1555%07d"],"crm_id":%d,"interests":"t%d, t%d"}`+"\n", i, i, i, i%10, i%7)
		}
	}
	var errs bytes.Buffer
	batches := 0
	sum, err := Run(ctx, s, &in, Options{DB: 1, Matching: relgraph.ModeEmail, Errors: &errs, Progress: func(int64) { batches++ }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Lines != n || sum.Failed != len(bad) || sum.Created != n-len(bad) || sum.Updated != 0 {
		t.Fatalf("summary %v, want %d failed", sum, len(bad))
	}
	if batches < n/relgraph.MaxImportBatch {
		t.Fatalf("%d batches for %d lines", batches, n)
	}
	reported := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if len(reported) != len(bad) {
		t.Fatalf("%d error lines, want %d", len(reported), len(bad))
	}
	for _, line := range reported {
		var no int
		if _, err := fmt.Sscanf(line, "line %d:", &no); err != nil || !bad[no] {
			t.Fatalf("reported %q, not a bad line", line)
		}
	}
	for _, i := range []int{1, 996, 998, n} {
		p, err := s.GetProfile(ctx, 1, relgraph.Locator{Email: fmt.Sprintf("u%d@example.com", i)})
		if err != nil || p.Fields["crm_id"] != int64(i) {
			t.Fatalf("line %d: %+v %v", i, p, err)
		}
	}
	problems, err := s.Check(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
}

func TestCSV(t *testing.T) {
	s := openStore(t)
	in := "email,phones,crm_id,interests,profile_id\n" +
		"a@x.io,+15550000001;+15550000002,1,\"a, b\",\n" +
		"b@x.io,,2,,5d63dbdb439e7306b596c5d0\n" +
		"c@x.io,,x,,\n" +
		"d@x.io,only,two\n"
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in), Options{DB: 1, Format: CSV, Errors: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 2 || sum.Failed != 2 || !strings.Contains(errs.String(), "line 4: ") || !strings.Contains(errs.String(), "line 5: ") {
		t.Fatalf("summary %v, errors:\n%s", sum, errs.String())
	}
	p, err := s.GetProfile(ctx, 1, relgraph.Locator{ProfileID: "5d63dbdb439e7306b596c5d0"})
	if err != nil || p.Email != "b@x.io" {
		t.Fatalf("supplied id: %+v %v", p, err)
	}
	p, err = s.GetProfile(ctx, 1, relgraph.Locator{Phone: "+15550000002"})
	if err != nil || len(p.Phones) != 2 || len(p.Fields["interests"].([]string)) != 2 {
		t.Fatalf("csv phones/tags: %+v %v", p, err)
	}
}

// TestOverlongLineIsABadLine: a line over the limit is reported by
// number and skipped; the lines around it, in the same batch, are
// imported. A last line without a newline is read too.
func TestOverlongLineIsABadLine(t *testing.T) {
	s := openStore(t)
	in := `{"email":"a@x.io"}` + "\n" +
		`{"email":"b@x.io","interests":"` + strings.Repeat("t,", 200<<10) + `"}` + "\n" +
		`{"email":"c@x.io"}`
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in), Options{DB: 1, Matching: relgraph.ModeEmail, Errors: &errs, MaxLineBytes: 100 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Lines != 3 || sum.Created != 2 || sum.Failed != 1 || errs.String() != "line 2: longer than 102400 bytes\n" {
		t.Fatalf("%v, errors %q", sum, errs.String())
	}
	for _, e := range []string{"a@x.io", "c@x.io"} {
		if _, err := s.GetProfile(ctx, 1, relgraph.Locator{Email: e}); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
}

// ctx is the context of the tests' calls: they are not cancelled.
var ctx = context.Background()

// TestInterruptedImportResumes: an import that stops at -max-errors
// says which lines are committed; run again with Skip set to that line
// and a fixed input, it finishes the rest, and the two runs together
// hold every good line once.
func TestInterruptedImportResumes(t *testing.T) {
	s := openStore(t)
	var in strings.Builder
	for i := 1; i <= 2500; i++ {
		if i == 1700 {
			in.WriteString("not json\n")
			continue
		}
		fmt.Fprintf(&in, `{"email":"u%d@x.io","crm_id":%d}`+"\n", i, i)
	}
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in.String()), Options{DB: 1, Matching: relgraph.ModeEmail, Errors: &errs, BatchSize: 500, MaxErrors: 1})
	if !errors.Is(err, ErrTooManyErrors) {
		t.Fatalf("the first run: %v (%+v)", err, sum)
	}
	if sum.Committed != 1700 || sum.Created != 1699 || sum.Failed != 1 || errs.String() != "line 1700: not a JSON object: invalid character 'o' in literal null (expecting 'u')\n" {
		t.Fatalf("the first run: %+v, errors %q", sum, errs.String())
	}
	fixed := strings.Replace(in.String(), "not json\n", `{"email":"u1700@x.io","crm_id":1700}`+"\n", 1)
	sum, err = Run(ctx, s, strings.NewReader(fixed), Options{DB: 1, Matching: relgraph.ModeEmail, Errors: &errs, BatchSize: 500, Skip: sum.Committed - 1})
	if err != nil || sum.Skipped != 1699 || sum.Created != 801 || sum.Updated != 0 || sum.Failed != 0 || sum.Committed != 2500 {
		t.Fatalf("the resumed run: %v %+v", err, sum)
	}
	for _, i := range []int{1, 1699, 1700, 2500} {
		p, err := s.GetProfile(ctx, 1, relgraph.Locator{Email: fmt.Sprintf("u%d@x.io", i)})
		if err != nil || p.Fields["crm_id"] != int64(i) {
			t.Errorf("u%d: %v %+v", i, err, p)
		}
	}
}

// TestErrorsAreReportedInLineOrder: the store's refusals, found as a
// batch commits, and lines that do not parse, found as they are read,
// are reported together in line order.
func TestErrorsAreReportedInLineOrder(t *testing.T) {
	s := openStore(t)
	in := "{\"email\":\"bad\"}\nnot json\n{\"email\":\"ok@x.io\"}\n{\"email\":\"also-bad\"}\n[]\n"
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in), Options{DB: 1, Matching: relgraph.ModeEmail, Errors: &errs})
	if err != nil || sum.Failed != 4 || sum.Created != 1 {
		t.Fatalf("%v %+v", err, sum)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(errs.String()), "\n") {
		got = append(got, strings.SplitN(l, ":", 2)[0])
	}
	if want := []string{"line 1", "line 2", "line 4", "line 5"}; !slices.Equal(got, want) {
		t.Fatalf("reported %q, want %q:\n%s", got, want, errs.String())
	}
}

// TestStoreRefusalsAtTheBoundStopThere: refusals found as a batch
// commits bring the failures to -max-errors; the import stops after
// that batch, although the next one was being read meanwhile: its
// lines are neither committed nor counted, and Committed says where to
// resume.
func TestStoreRefusalsAtTheBoundStopThere(t *testing.T) {
	s := openStore(t)
	var in strings.Builder
	for i := 1; i <= 1000; i++ {
		email := fmt.Sprintf("u%d@x.io", i)
		if i == 150 || i == 160 {
			email = "u1@x.io" // taken by line 1: the store refuses it (ModeEmail updates; plain creation conflicts)
		}
		fmt.Fprintf(&in, `{"email":%q,"crm_id":%d}`+"\n", email, i)
	}
	var errs bytes.Buffer
	sum, err := Run(ctx, s, strings.NewReader(in.String()), Options{DB: 1, Errors: &errs, BatchSize: 100, MaxErrors: 2})
	if !errors.Is(err, ErrTooManyErrors) {
		t.Fatalf("%v (%+v)", err, sum)
	}
	if sum.Committed != 200 || sum.Lines != 200 || sum.Created != 198 || sum.Failed != 2 {
		t.Fatalf("summary %+v, want the first two batches", sum)
	}
	if got := strings.Count(errs.String(), "\n"); got != 2 || !strings.HasPrefix(errs.String(), "line 150: ") {
		t.Fatalf("errors %q", errs.String())
	}
	for i, want := range map[int]bool{200: true, 201: false, 300: false} {
		_, err := s.GetProfile(ctx, 1, relgraph.Locator{Email: fmt.Sprintf("u%d@x.io", i)})
		if (err == nil) != want {
			t.Errorf("line %d: stored %v, want %v", i, err == nil, want)
		}
	}
}

// TestItemsReadsAsRunReads: Items hands on the lines Run would import,
// as Run builds them, and counts the lines that fail before becoming an
// import (bad JSON, a value of the wrong type, no email to match on).
func TestItemsReadsAsRunReads(t *testing.T) {
	db := &relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "crm_id", Type: relgraph.FieldInt}}}
	in := `{"email":"A@x.io","crm_id":7}
{"email": broken
{"email":"b@x.io","crm_id":"seven"}

{"crm_id":8}
{"email":"c@x.io","phones":["+1 617 658 7472"]}
`
	var got []string
	failed, err := Items(strings.NewReader(in), db, Options{DB: 1, Matching: relgraph.ModeEmail}, func(line int, it relgraph.ImportItem) error {
		got = append(got, fmt.Sprintf("%d %s %s %v", line, it.Locator.Email, *it.Data.Email, it.Data.Fields["crm_id"]))
		return nil
	})
	want := []string{"1 A@x.io A@x.io 7", "6 c@x.io c@x.io <nil>"}
	if err != nil || failed != 3 || !slices.Equal(got, want) {
		t.Fatalf("Items: %q, %d failed, %v; want %q, 3 failed", got, failed, err, want)
	}
	stop := errors.New("stop")
	if _, err := Items(strings.NewReader(in), db, Options{DB: 1, Matching: relgraph.ModeEmail}, func(int, relgraph.ImportItem) error { return stop }); err != stop {
		t.Fatalf("an error from fn: Items returned %v, want it", err)
	}
}
