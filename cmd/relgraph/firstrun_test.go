package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock returns the README's fenced block of the given language
// that follows the line containing after.
func readmeBlock(t *testing.T, after, lang string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, after)
	if i < 0 {
		t.Fatalf("the README has no %q", after)
	}
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(text[i:])
	if m == nil {
		t.Fatalf("no %s block after %q in the README", lang, after)
	}
	return m[1]
}

// TestREADMEFirstRun runs the README's "First run" commands as written,
// on its config and its JSON Lines file: the schema is applied, the
// profiles imported, the server serves them with the config's tokens.
func TestREADMEFirstRun(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"relgraph.json":   readmeBlock(t, "`relgraph.json`", "json"),
		"customers.jsonl": readmeBlock(t, "`customers.jsonl`", "json"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cfg struct {
		Tokens []struct{ Token, Role string }
	}
	if err := json.Unmarshal([]byte(files["relgraph.json"]), &cfg); err != nil {
		t.Fatalf("the README's config is not JSON: %v", err)
	}
	served := false
	for _, line := range strings.Split(readmeBlock(t, "## First run", "sh"), "\n") {
		line, _, _ = strings.Cut(line, "#")
		args := strings.Fields(line)
		if len(args) == 0 || args[0] == "go" {
			continue // go install: the test runs the binary it built
		}
		if args[0] != "relgraph" {
			t.Fatalf("a first-run line that is not relgraph: %q", line)
		}
		if args[1] == "serve" {
			srv := startServer(t, dir, args[2:]...)
			req, _ := http.NewRequest(http.MethodPost, srv.url+"/api/v1.1/profiles/get", strings.NewReader(`{"db_id":1,"email":"ann@example.com"}`))
			req.Header.Set("Authorization", "Bearer "+cfg.Tokens[1].Token) // the read token
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(jsonText(got), `"CRM_ID":42`) {
				t.Fatalf("profiles/get of an imported profile: %d %v", resp.StatusCode, got)
			}
			srv.stop(t)
			served = true
			continue
		}
		if out, code := runTool(t, dir, args[1:]...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", line, code, out)
		}
	}
	if !served {
		t.Fatal("the first run never serves")
	}
	out, code := runTool(t, dir, "schema", "show")
	if code != 0 || !strings.Contains(out, `"name": "streamers"`) || !strings.Contains(out, `"top": 10`) {
		t.Fatalf("schema show: %d\n%s", code, out)
	}
	// What schema show prints applies again, changing nothing.
	if err := os.WriteFile(filepath.Join(dir, "shown.json"), []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if again, code := runTool(t, dir, "schema", "apply", "-config", "shown.json"); code != 0 || !strings.Contains(again, "applied to") || !strings.Contains(again, "no change") {
		t.Fatalf("schema apply of schema show: %d\n%s", code, again)
	}
	if again, _ := runTool(t, dir, "schema", "show"); again != out {
		t.Fatalf("the schema changed:\n%s\nthen\n%s", out, again)
	}
	// A change is said, each part of it.
	changed := strings.Replace(out, `"name": "streamers"`, `"name": "streams", "description": "live", "fields": [{"name": "lang", "type": "string"}, {"name": "viewers", "type": "int"}]`, 1)
	if err := os.WriteFile(filepath.Join(dir, "changed.json"), []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	again, code := runTool(t, dir, "schema", "apply", "-config", "changed.json")
	if code != 0 || !strings.Contains(again, `database 2: added fields lang, viewers; name "streamers" → "streams"; description "" → "live"`) {
		t.Fatalf("schema apply of a change: %d\n%s", code, again)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFailedStartsLeaveNoStore: a refused config, a refused schema, a
// token declared twice and an address in use all fail before a store
// file is left behind; an existing store is never removed.
func TestFailedStartsLeaveNoStore(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	good := `{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1}]}`
	for _, c := range []struct {
		name, config, addr, want string
		schemaApplies            bool // schema apply reads no tokens and no address
	}{
		{"a syntax error", `{"tokens":[{"token":"t","role":"write"},]}`, "127.0.0.1:0", "line 1, column 42", false},
		{"a schema the store refuses", `{"tokens":[{"token":"t","role":"write"}],"relation_types":[{"id":3,"database_a":1,"database_b":2}]}`, "127.0.0.1:0", "database 1 not found", false},
		{"a token twice", `{"tokens":[{"token":"same-token","role":"write"},{"token":"same-token","role":"read"}]}`, "127.0.0.1:0", "declared twice", true},
		{"an address in use", good, busy.Addr().String(), "address already in use", true},
	} {
		if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(c.config), 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := runTool(t, dir, "serve", "-config", "c.json", "-addr", c.addr)
		if code == 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, %q; want %q", c.name, code, out, c.want)
		}
		if strings.Count(out, "config:") > 1 {
			t.Errorf("%s: a repeated prefix: %q", c.name, out)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "relgraph.db*")); len(left) > 0 {
			t.Fatalf("%s: left %v behind", c.name, left)
		}
		out, code = runTool(t, dir, "schema", "apply", "-config", "c.json")
		left, _ := filepath.Glob(filepath.Join(dir, "relgraph.db*"))
		if (code == 0) != c.schemaApplies || code != 0 && len(left) > 0 {
			t.Fatalf("schema apply with %s: exit %d %q, left %v", c.name, code, out, left)
		}
		os.Remove(filepath.Join(dir, "relgraph.db"))
		os.Remove(filepath.Join(dir, "relgraph.db-wal"))
	}
	// A store that exists stays, whatever fails.
	if out, code := runTool(t, dir, "schema", "apply", "-config", "c.json"); code != 0 {
		t.Fatalf("schema apply: %d %s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"tokens":[{"token":"t","role":"write"}],"relation_types":[{"id":3,"database_a":1,"database_b":2}]}`), 0o600)
	if _, code := runTool(t, dir, "serve", "-config", "bad.json", "-addr", "127.0.0.1:0"); code == 0 {
		t.Fatal("a refused schema served")
	}
	if _, err := os.Stat(filepath.Join(dir, "relgraph.db")); err != nil {
		t.Fatalf("an existing store was removed: %v", err)
	}
}

// TestToolsNameWhatIsWrong: the tools refuse a missing store, a missing
// or misspelt flag, and conflicting flags, naming them, before touching
// any file.
func TestToolsNameWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(`{"email":"a@x.io"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "-db-id", "1", "in.jsonl"}, 1, "no store at relgraph.db"},
		{[]string{"export", "-db-id", "1"}, 1, "no store at relgraph.db"},
		{[]string{"import", "in.jsonl"}, 2, "give -db-id"},
		{[]string{"import", "-db-id", "1", "-matching", "emial", "in.jsonl"}, 2, `-matching "emial"`},
		{[]string{"import", "-db-id", "1", "-matching", "custom", "in.jsonl"}, 2, "-matching custom needs -field"},
		{[]string{"import", "-db-id", "1"}, 2, "the file to import is missing"},
		{[]string{"migrate", "-from", "a.db"}, 2, "-to is required"},
		{[]string{"schema", "apply"}, 2, "-config is required"},
		{[]string{"backup", "-to", "b.db", "-server", "127.0.0.1:8080", "-token", "t"}, 2, "http://127.0.0.1:8080"},
		{[]string{"backup", "-to", "b.db", "-server", "http://127.0.0.1:8080", "-db", "x.db", "-token", "t"}, 2, "-db and -server exclude each other"},
		{[]string{"serve", "-log-format", "yaml"}, 2, `-log-format "yaml"`},
		{[]string{"serve", "-example", "-addr", "127.0.0.1:0", "-db", "nodir/x.db"}, 1, "serve: open nodir/x.db: no such file or directory"},
		{[]string{"export", "-db-id", "1", "-db", "."}, 1, "export: open .: a directory, not a store file"},
	} {
		out, code := runTool(t, dir, c.args...)
		if code != c.code || !strings.Contains(out, c.want) || strings.Count(out, "open ") > 1 {
			t.Errorf("relgraph %s: exit %d, %q; want exit %d and %q", strings.Join(c.args, " "), code, out, c.code, c.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.db*")); len(left) > 0 {
		t.Fatalf("the refused commands left %v", left)
	}
}

// TestServeFlagsFromTheEnvironment: RELGRAPH_DB and RELGRAPH_LOG_FORMAT
// stand for -db and -log-format; a bad value names its variable.
func TestServeFlagsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RELGRAPH_DB", "from-env.db")
	t.Setenv("RELGRAPH_LOG_FORMAT", "json")
	srv := startServer(t, dir, "-example")
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "from-env.db")); err != nil {
		t.Fatalf("RELGRAPH_DB: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\{"time":.*"msg":`).MatchString(srv.stderr.String()) {
		t.Fatalf("RELGRAPH_LOG_FORMAT=json: no JSON log line in\n%s", srv.stderr)
	}
	t.Setenv("RELGRAPH_READ_TIMEOUT", "soon")
	if out, code := runTool(t, dir, "serve", "-example", "-addr", "127.0.0.1:0"); code != 2 || !strings.Contains(out, "RELGRAPH_READ_TIMEOUT") {
		t.Fatalf("a bad RELGRAPH_READ_TIMEOUT: %d %q", code, out)
	}
}

// TestVersion: relgraph version names the module's version and Go's.
func TestVersion(t *testing.T) {
	out, code := runTool(t, t.TempDir(), "version")
	if code != 0 || !regexp.MustCompile(`^relgraph \S+ .*go1\.\d+`).MatchString(out) {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestFailedStartsRemoveNothing: a failed start never removes a file it
// did not make: the log of a store whose file was moved away (it holds
// acknowledged writes), or a symlink that points nowhere yet.
func TestFailedStartsRemoveNothing(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "-example", "-db", "s.db")
	srv.stop(t)
	// A store that crashed keeps writes in its log; move its file away.
	if err := os.Rename(filepath.Join(dir, "s.db"), filepath.Join(dir, "moved.db")); err != nil {
		t.Fatal(err)
	}
	log := []byte("a log holding acknowledged writes")
	if err := os.WriteFile(filepath.Join(dir, "s.db-wal"), log, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "serve", "-example", "-db", "s.db", "-addr", "127.0.0.1:0"); code == 0 {
		t.Fatalf("serve beside a foreign log: %s", out)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "s.db-wal")); err != nil || string(got) != string(log) {
		t.Fatalf("the log after a failed start: %q %v", got, err)
	}
	// A symlink to a file not made yet, and a config that is refused.
	if err := os.Symlink(filepath.Join(dir, "vol", "real.db"), filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	bad := `{"tokens":[{"token":"t","role":"write"}],"relation_types":[{"id":3,"database_a":1,"database_b":2}]}`
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"serve", "-config", "bad.json", "-db", "link.db", "-addr", "127.0.0.1:0"}, {"schema", "apply", "-config", "bad.json", "-db", "link.db"}} {
		if out, code := runTool(t, dir, args...); code == 0 || !strings.Contains(out, "database 1 not found") {
			t.Fatalf("%v: %d %s", args, code, out)
		}
		if _, err := os.Lstat(filepath.Join(dir, "link.db")); err != nil {
			t.Fatalf("%v removed the symlink: %v", args, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "vol")); err == nil {
			t.Fatalf("%v made the symlink's target", args)
		}
	}
	if out, code := runTool(t, dir, "serve", "-example", "-db", "", "-addr", "127.0.0.1:0"); code != 2 || !strings.Contains(out, "-db is empty") {
		t.Fatalf("serve -db '': %d %s", code, out)
	}
}

// TestExampleRefusesAUsersStore: serve -example on a store of one's own
// (the first run's relgraph.db, the default -db) is refused and leaves
// it as it was: the example's placeholder write tokens and its
// databases never reach a user's data.
func TestExampleRefusesAUsersStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1,"name":"customers","fields":[{"name":"CRM_ID","type":"int"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "schema", "apply", "-config", "c.json"); code != 0 {
		t.Fatalf("schema apply: %s", out)
	}
	before, _ := runTool(t, dir, "schema", "show")
	out, code := runTool(t, dir, "serve", "-example", "-addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(out, "not an example store") {
		t.Fatalf("serve -example on the user's store: %d %s", code, out)
	}
	if after, _ := runTool(t, dir, "schema", "show"); after != before {
		t.Fatalf("the store changed:\n%s\n%s", before, after)
	}
	// Its own file, made and opened again, is served.
	srv := startServer(t, dir, "-example", "-db", "example.db")
	srv.stop(t)
	srv = startServer(t, dir, "-example", "-db", "example.db")
	srv.stop(t)
}
