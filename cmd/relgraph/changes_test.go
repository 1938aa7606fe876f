package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The change feed from the command line, as a user meets it: a config
// turns it on, relgraph changes -server follows the server's writes as
// they commit, and after the server stops relgraph changes -db and
// relgraph feed read the file.
func TestChangesFollowARunningServer(t *testing.T) {
	dir := t.TempDir()
	config := `{"tokens":[{"token":"abcdefghijklmnqrstuvwxyz","role":"write"},{"token":"read-token","role":"read"}],
	 "databases":[{"id":1,"name":"people"},{"id":2,"name":"things"}],
	 "relation_types":[{"id":3,"name":"likes","database_a":1,"database_b":2,"properties":[{"name":"n","type":"int","aggregate":"sum"}]}],
	 "change_feed":{"on":true,"max_changes":1000,"max_age":"168h"}}`
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "-config", "c.json")
	// A follower started before any write: it prints each change as it
	// commits, and exits after -limit of them.
	follow := exec.Command(binary, "changes", "-server", srv.url, "-token", "read-token", "-since", "0", "-limit", "3")
	follow.Dir = dir
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	follow.Stderr = os.Stderr
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer follow.Process.Kill()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for _, body := range []map[string]any{
		{"db_id": 1, "email": "ann@x.io", "data": map[string]any{"_fname": "Ann"}},
		{"db_id": 2, "email": "thing@x.io", "data": map[string]any{}},
	} {
		if code, ans, err := call(srv.url, "profiles/import", body); err != nil || code != 200 {
			t.Fatalf("import: %d %v %v", code, ans, err)
		}
	}
	if code, ans, err := call(srv.url, "relations/edit", map[string]any{"rel_id": 3, "matching": "email",
		"profile_a": map[string]any{"email": "ann@x.io"}, "profile_b": map[string]any{"email": "thing@x.io"}, "weights": map[string]any{"n": 5}}); err != nil || code != 200 {
		t.Fatalf("edit: %d %v %v", code, ans, err)
	}
	var got []map[string]any
	for len(got) < 3 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the follower ended after %d lines", len(got))
			}
			var c map[string]any
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			got = append(got, c)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d lines, then nothing", len(got))
		}
	}
	for i, want := range []string{"profile.create", "profile.create", "relation.create"} {
		if got[i]["kind"] != want || got[i]["seq"] != float64(i+1) {
			t.Fatalf("line %d: %v", i+1, got[i])
		}
	}
	if got[2]["after"].(map[string]any)["weights"].(map[string]any)["n"] != 5.0 {
		t.Fatalf("relation line: %v", got[2])
	}
	done := make(chan error, 1)
	go func() { done <- follow.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follower with -limit 3: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower did not stop at its limit")
	}
	// What a served store's feed holds, without following.
	text, code := runTool(t, dir, "changes", "-server", srv.url, "-token", "read-token", "-since", "2", "-follow=false")
	if code != 0 || strings.Count(text, "\n") != 1 || !strings.Contains(text, `"kind":"relation.create"`) {
		t.Fatalf("changes -since 2 -follow=false: %d %s", code, text)
	}
	srv.stop(t)
	text, code = runTool(t, dir, "changes", "-db", "relgraph.db")
	if code != 0 || strings.Count(text, "\n") != 3 {
		t.Fatalf("changes -db: %d %s", code, text)
	}
	text, code = runTool(t, dir, "feed", "-db", "relgraph.db")
	if code != 0 || !strings.Contains(text, "change feed: on") || !strings.Contains(text, "1000 changes") || !strings.Contains(text, "168h0m0s") || !strings.Contains(text, "kept: changes 1 to 3") {
		t.Fatalf("feed: %d %s", code, text)
	}
	text, code = runTool(t, dir, "feed", "-db", "relgraph.db", "-off")
	if code != 0 || !strings.Contains(text, "change feed: off") || !strings.Contains(text, "kept: none (the next change is 4)") {
		t.Fatalf("feed -off: %d %s", code, text)
	}
	text, code = runTool(t, dir, "changes", "-db", "relgraph.db", "-since", "0")
	if code != 1 || !strings.Contains(text, "change feed is off") {
		t.Fatalf("changes of a feed turned off: %d %s", code, text)
	}
}

// TestREADMEBothEndsAndChanges runs the README's "Relations from both
// ends" commands as written, after its relations/edit, on the example
// server: the reverse list finds the edit's A, and the feed read from
// change 11, by curl and by relgraph changes, is the edit's change.
func TestREADMEBothEndsAndChanges(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	srv := startServer(t, dir, "-example", "-db", "example.db")
	defer srv.stop(t)
	if out, err := exec.Command("bash", "-c", readmeCurl(t, srv.url)).Output(); err != nil || !strings.Contains(string(out), `"created":true`) {
		t.Fatalf("the README's relations/edit: %v %s", err, out)
	}
	var outputs []string
	for _, line := range strings.Split(strings.TrimSpace(readmeBlock(t, "## Relations from both ends", "sh")), "\n") {
		line = strings.ReplaceAll(line, "http://127.0.0.1:8080", srv.url)
		var out []byte
		var err error
		switch args := strings.Fields(line); args[0] {
		case "curl":
			out, err = exec.Command("bash", "-c", line).Output()
		case "relgraph":
			cmd := exec.Command(binary, args[1:]...)
			cmd.Dir = dir
			out, err = cmd.Output()
		default:
			t.Fatalf("a line that is neither curl nor relgraph: %q", line)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		outputs = append(outputs, strings.TrimSpace(string(out)))
	}
	if len(outputs) != 3 {
		t.Fatalf("the README's block has %d commands, the test knows 3", len(outputs))
	}
	var reverse struct {
		Data []struct {
			A string `json:"profile_id_a"`
		}
		Total int `json:"total_count"`
	}
	if err := json.Unmarshal([]byte(outputs[0]), &reverse); err != nil || reverse.Total != 1 || len(reverse.Data) != 1 || reverse.Data[0].A != exampleA {
		t.Fatalf("the reverse list: %v %s", err, outputs[0])
	}
	for _, out := range outputs[1:] {
		var c struct {
			Seq      int
			Kind, Op string
			A        string `json:"profile_a"`
			After    struct{ Weights map[string]any }
		}
		if strings.Count(out, "\n") != 0 {
			t.Fatalf("more than the edit's change: %s", out)
		}
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Seq != 12 || c.Kind != "relation.create" || c.Op != "overwrite" || c.A != exampleA || c.After.Weights["donate"] != 343.0 {
			t.Fatalf("the feed after 11: %v %s", err, out)
		}
	}
	// The README's answers are these, up to the times.
	want := strings.Split(strings.TrimSpace(readmeBlock(t, "## Relations from both ends", "json")), "\n")
	if want[0] != outputs[0] {
		t.Fatalf("the README shows\n%s\nthe server answers\n%s", want[0], outputs[0])
	}
	times := regexp.MustCompile(`"(time|created|updated)":"[^"]*"`)
	if got := times.ReplaceAllString(outputs[1], `"$1":"…"`); got != want[1] {
		t.Fatalf("the README shows\n%s\nthe feed gives\n%s", want[1], got)
	}
}
