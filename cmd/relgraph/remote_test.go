package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadToolsBesideARunningServer: check, get, export and backup read
// a served store through the server with a read token (-server), while
// the file itself is refused with a message that says so.
func TestReadToolsBesideARunningServer(t *testing.T) {
	dir := t.TempDir()
	config := `{"tokens":[{"token":"abcdefghijklmnqrstuvwxyz","role":"write"},{"token":"read-token","role":"read"}],
	 "databases":[{"id":1,"name":"people"},{"id":2,"name":"things"}],
	 "relation_types":[{"id":3,"name":"likes","database_a":1,"database_b":2,"properties":[{"name":"n","type":"int","aggregate":"sum"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "-config", "c.json")
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
	remote := []string{"-server", srv.url, "-token", "read-token"}

	if out, code := runTool(t, dir, "check"); code == 0 || !strings.Contains(out, "-server") {
		t.Fatalf("check of the served file: %d %s", code, out)
	}
	if out, code := runTool(t, dir, append([]string{"check"}, remote...)...); code != 0 || !strings.Contains(out, "ok: no violations") {
		t.Fatalf("check -server: %d %s", code, out)
	}
	remoteGets := map[string]string{}
	out, code := runTool(t, dir, append([]string{"get", "-db-id", "1", "-email", "ann@x.io"}, remote...)...)
	remoteGets["ann@x.io"] = out
	if code != 0 || !strings.Contains(out, `"_fname": "Ann"`) || !strings.Contains(out, `"_relations"`) || !strings.Contains(out, `"sum": 5`) {
		t.Fatalf("get -server: %d %s", code, out)
	}
	// Either side: the thing sees who relates to it.
	out, code = runTool(t, dir, append([]string{"get", "-db-id", "2", "-email", "thing@x.io"}, remote...)...)
	remoteGets["thing@x.io"] = out
	if code != 0 || !strings.Contains(out, `"_relations_to"`) || !strings.Contains(out, `"total": 1`) || !strings.Contains(out, `"user_like"`) && !strings.Contains(out, `"n"`) {
		t.Fatalf("get -server of a B: %d %s", code, out)
	}
	served, code := runTool(t, dir, append([]string{"export"}, remote...)...)
	if code != 0 || !strings.HasPrefix(served, `{"kind":"schema"`) || !strings.Contains(served, `"kind":"relation"`) {
		t.Fatalf("export -server: %d %s", code, served)
	}
	lines, code := runTool(t, dir, append([]string{"export", "-db-id", "1"}, remote...)...)
	if code != 0 || strings.Count(lines, "\n") != 1 || !strings.Contains(lines, `"profile_id"`) || strings.Contains(lines, "_createtime") {
		t.Fatalf("export -db-id -server: %d %s", code, lines)
	}
	if out, code := runTool(t, dir, append([]string{"backup", "-to", "hot.db"}, remote...)...); code != 0 {
		t.Fatalf("backup -server with a read token: %d %s", code, out)
	}
	// No token: the server's refusal, said.
	cmd := exec.Command(binary, "check", "-server", srv.url)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RELGRAPH_TOKEN=")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("check -server without a token: %v %s", err, out)
	}
	if out, code := runTool(t, dir, "check", "-db", "x.db", "-server", srv.url); code != 2 || !strings.Contains(out, "exclude each other") {
		t.Fatalf("-db with -server: %d %s", code, out)
	}
	srv.stop(t)
	if out, code := runTool(t, dir, "check", "-db", "hot.db"); code != 0 {
		t.Fatalf("check of the backup: %s", out)
	}
	// get through the server answers what get of the file does.
	for db, email := range map[string]string{"1": "ann@x.io", "2": "thing@x.io"} {
		local, code := runTool(t, dir, "get", "-db-id", db, "-email", email)
		if code != 0 || local != remoteGets[email] {
			t.Fatalf("get of %s: the file's\n%s\nthe server's\n%s", email, local, remoteGets[email])
		}
	}
	local, _ := runTool(t, dir, "export")
	if local != served {
		t.Fatalf("export through the server differs from the file's:\n%s\nvs\n%s", served, local)
	}
}
