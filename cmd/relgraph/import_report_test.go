package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestImportReports: an import without a terminal says after each
// committed batch where it stands and the whole command that resumes
// it; -rejects writes each refused line with its reason (and refuses a
// file that exists); -summary-json ends with the counts as JSON.
func TestImportReports(t *testing.T) {
	dir := t.TempDir()
	if out, code := runTool(t, dir, "schema", "apply", "-config", writeConfig(t, dir)); code != 0 {
		t.Fatalf("schema apply: %s", out)
	}
	var in strings.Builder
	bad := 0
	for i := 1; i <= 25_000; i++ {
		switch {
		case i%1000 == 7:
			fmt.Fprintf(&in, "not json %d\n", i)
			bad++
		case i%1000 == 9:
			fmt.Fprintf(&in, `{"email":"u%d@x.io","shoe":1}`+"\n", i)
			bad++
		default:
			fmt.Fprintf(&in, `{"email":"u%d@x.io"}`+"\n", i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "in file.jsonl"), []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "-rejects", "rejects.jsonl", "-summary-json", "in file.jsonl")
	if code != 1 {
		t.Fatalf("import: %d\n%.3000s", code, out)
	}
	if !regexp.MustCompile(`import: lines 1 to (\d+) committed .* resume after a stop with: relgraph import -db-id=1 -matching=email -summary-json=true -skip=(\d+) 'in file.jsonl'`).MatchString(out) {
		t.Fatalf("no progress line with its resume command:\n%.3000s", out)
	}
	var sum struct {
		Lines, Created, Failed int
		Committed              int  `json:"committed_through_line"`
		Interrupted            bool `json:"interrupted"`
	}
	last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if err := json.Unmarshal([]byte(last), &sum); err != nil || sum.Lines != 25_000 || sum.Failed != bad || sum.Created != 25_000-bad || sum.Committed != 25_000 || sum.Interrupted {
		t.Fatalf("summary %q: %+v %v", last, sum, err)
	}
	rejects, err := os.ReadFile(filepath.Join(dir, "rejects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rejects)), "\n")
	var first struct {
		Line         int
		Error, Input string
	}
	if len(lines) != bad || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Line != 7 || first.Input != "not json 7" || !strings.Contains(first.Error, "not a JSON object") {
		t.Fatalf("%d rejects, the first %q", len(lines), lines[0])
	}
	if out, code := runTool(t, dir, "import", "-db-id", "1", "-rejects", "rejects.jsonl", "in file.jsonl"); code == 0 || !strings.Contains(out, "file exists") {
		t.Fatalf("-rejects over an existing file: %d %s", code, out)
	}
}

// TestInterruptedImportResumesExactly: SIGINT stops an import after a
// committed batch; what it says is committed, counted and reported is
// exactly so, and the command it prints resumes it: the two runs
// together import every line once and report every bad line once.
func TestInterruptedImportResumesExactly(t *testing.T) {
	dir := t.TempDir()
	if out, code := runTool(t, dir, "schema", "apply", "-config", writeConfig(t, dir)); code != 0 {
		t.Fatalf("schema apply: %s", out)
	}
	var in strings.Builder
	bad := 0
	const n = 400_000
	for i := 1; i <= n; i++ {
		if i%97 == 0 {
			fmt.Fprintf(&in, "bad %d\n", i)
			bad++
			continue
		}
		fmt.Fprintf(&in, `{"email":"u%d@x.io"}`+"\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "import", "-db-id", "1", "-matching", "email", "-summary-json", "in.jsonl")
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt after the first committed batch is reported; read its
	// stderr to the end (the process closes it as it exits), then wait.
	reported, interrupted := 0, false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "line ") {
			reported++
		}
		if !interrupted && strings.HasPrefix(line, "import: lines 1 to") && reported > 0 {
			cmd.Process.Signal(syscall.SIGINT)
			interrupted = true
		}
	}
	cmd.Wait()
	var sum struct {
		Lines, Created, Failed int
		Committed              int    `json:"committed_through_line"`
		Interrupted            bool   `json:"interrupted"`
		Resume                 string `json:"resume"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout.String())), &sum); err != nil || !sum.Interrupted {
		t.Fatalf("the interrupted summary: %v %q", err, stdout.String())
	}
	if sum.Committed >= n {
		t.Skip("the import finished before the interrupt landed")
	}
	if sum.Failed != sum.Committed/97 || sum.Lines != sum.Committed || sum.Created != sum.Committed-sum.Committed/97 {
		t.Fatalf("interrupted at line %d: %+v", sum.Committed, sum)
	}
	if reported != sum.Failed {
		t.Fatalf("the interrupted run reported %d bad lines, counted %d", reported, sum.Failed)
	}
	if !strings.HasPrefix(sum.Resume, "relgraph import ") || !strings.Contains(sum.Resume, fmt.Sprintf("-skip=%d in.jsonl", sum.Committed)) {
		t.Fatalf("resume command %q", sum.Resume)
	}
	args := strings.Fields(strings.TrimPrefix(sum.Resume, "relgraph "))
	out, _ := runTool(t, dir, args...)
	var rest struct{ Lines, Created, Failed, Skipped int }
	last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if err := json.Unmarshal([]byte(last), &rest); err != nil {
		t.Fatalf("the resumed summary %q: %v", last, err)
	}
	if sum.Failed+rest.Failed != bad || sum.Created+rest.Created != n-bad || rest.Skipped != sum.Committed {
		t.Fatalf("the two runs: %+v then %+v; %d lines, %d bad", sum, rest, n, bad)
	}
	got := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "line ") {
			got++
		}
	}
	if got != rest.Failed {
		t.Fatalf("the resumed run reported %d bad lines, counted %d", got, rest.Failed)
	}
}

// writeConfig writes a config with database 1 and returns its name.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return "c.json"
}
