package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
