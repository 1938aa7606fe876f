package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// These tests run the real binary as a user would.

var binary string

// The example mode's set-up, as the README states it.
var (
	exampleTokens = []string{"abcdefghijklmnqrstuvwxyz", "8d08f4ea57c74916909e9d324c20a6bc", "8a28168486844c8bae2673a51d4433ff"}
	exampleA      = "5d63dbdb439e7306b596c5d0"
	exampleB      = "5d441038439e7363f3c26539"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relgraph-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "relgraph")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(p string) {
	s.Write([]byte(p))
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs "relgraph serve" on a free port of 127.0.0.1 and
// waits for it to say where it listens.
func startServer(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	found := make(chan string, 1)
	go func() {
		for lines.Scan() {
			line := lines.Text()
			s.stdout.WriteString(line + "\n")
			if m := regexp.MustCompile(`on (https?://\S+)`).FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-found:
	case err := <-s.done:
		t.Fatalf("server exited: %v\n%s", err, s.stderr)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.stderr)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop on SIGTERM")
	}
	if !strings.Contains(s.stdout.String(), "store closed") {
		t.Fatalf("no clean close:\n%s", s.stdout)
	}
}

func runTool(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// readmeCurl returns the README's curl command with the server's URL.
func readmeCurl(t *testing.T, url string) string {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sh\n(curl .*?)\n```").FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no curl block in the README")
	}
	return strings.ReplaceAll(m[1], "http://127.0.0.1:8080", url)
}

func TestServeExampleAndTheREADMECurlLine(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	srv := startServer(t, dir, "-example")
	out, err := exec.Command("bash", "-c", readmeCurl(t, srv.url)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("curl got %s", out)
	}
	if got["error"] != 0.0 || got["profile_a"] != exampleA || got["profile_b"] != exampleB || got["relation_id"] != 3.0 {
		t.Fatalf("README request answered %s", out)
	}
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	// /metrics counts the request, and the commit it made.
	resp, err = http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`relgraph_http_requests_total{code="200",endpoint="relations/edit"} 1`, "relgraph_log_fsync_seconds_count", "relgraph_store_file_bytes"} {
		if resp.StatusCode != 200 || !strings.Contains(string(scraped), want) {
			t.Fatalf("/metrics: %d, no %q in\n%s", resp.StatusCode, want, scraped)
		}
	}
	// The token and body are never logged. (stderr is read after the
	// process has exited: until then its copy may lag behind stdout.)
	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), "EXAMPLE MODE") {
		t.Fatalf("example mode not announced:\n%s", srv.stderr)
	}
	if strings.Contains(srv.stderr.String()[strings.Index(srv.stderr.String(), "!\n\n")+1:], "user_like") {
		t.Fatalf("a body was logged:\n%s", srv.stderr)
	}
	logged := srv.stderr.String()
	if i := strings.LastIndex(logged, "Never use -example"); i >= 0 {
		logged = logged[i:]
	}
	if strings.Contains(logged, exampleTokens[0]) {
		t.Fatalf("a token was logged:\n%s", logged)
	}
	// Restarting on the same file applies the set-up again, changing nothing.
	srv = startServer(t, dir, "-example")
	srv.stop(t)
	if out, code := runTool(t, dir, "check"); code != 0 {
		t.Fatalf("check after serving: %d\n%s", code, out)
	}
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	for cfg, want := range map[string]string{
		`{"tokens":[{"token":"t","role":"write"}],"databse":[]}`:                                                 `unknown field "databse"`,
		`{"tokens":[{"token":"t","role":"admin"}]}`:                                                              `role must be "read" or "write"`,
		`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1,"fields":[{"name":"x","type":"blob"}]}]}`: `unknown type "blob"`,
		`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":"one"}]}`:                                   `databases.id`,
		`{"databases":[]}`: "no tokens",
	} {
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := runTool(t, dir, "serve", "-config", path, "-addr", "127.0.0.1:0")
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("config %s: exit %d, output %q, want %q", cfg, code, out, want)
		}
	}
}

func TestToolsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "-example")
	// A hot backup while serving, with and without a write token.
	if out, code := runTool(t, dir, "backup", "-server", srv.url, "-token", "wrong", "-to", "bad.db"); code == 0 || !strings.Contains(out, "403") {
		t.Fatalf("backup with a wrong token: %d %s", code, out)
	}
	if out, code := runTool(t, dir, "backup", "-server", srv.url, "-token", exampleTokens[0], "-to", "hot.db"); code != 0 {
		t.Fatalf("hot backup: %d %s", code, out)
	}
	// Tools refuse a served file clearly.
	if out, code := runTool(t, dir, "check"); code == 0 || !strings.Contains(out, "locked") {
		t.Fatalf("check on a served file: %d %s", code, out)
	}
	srv.stop(t)
	lines := `{"email":"a@x.io","CRM_ID":1,"interests":"x, y"}
{"email":"b@x.io","phones":["+1 555 000 0002"]}
{"email":"not-an-email"}
not json
{"email":"a@x.io","CRM_ID":"two"}
`
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	// Bad lines are reported in order, and make the exit status 1.
	out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "in.jsonl")
	l3, l4, l5 := strings.Index(out, "line 3: "), strings.Index(out, "line 4: "), strings.Index(out, "line 5: ")
	if code != 1 || !strings.Contains(out, "5 lines: 2 created, 0 updated, 3 failed") || l3 < 0 || l4 < l3 || l5 < l4 {
		t.Fatalf("import: %d\n%s", code, out)
	}
	// -max-errors stops at the first bad line (line 4; line 3's fault
	// is the store's, found as the batch before line 4 commits); -skip
	// resumes past it.
	out, code = runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "-max-errors", "1", "in.jsonl")
	if code != 1 || !strings.Contains(out, "too many bad lines") || strings.Contains(out, "line 5: ") {
		t.Fatalf("import -max-errors 1: %d\n%s", code, out)
	}
	out, code = runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "-skip", "4", "in.jsonl")
	if code != 1 || !strings.Contains(out, "5 lines: 0 created, 0 updated, 1 failed, 4 skipped") || strings.Contains(out, "line 3: ") {
		t.Fatalf("import -skip 4: %d\n%s", code, out)
	}
	csvIn := "email,phones,CRM_ID,interests\nc@x.io,+1 555 000 0003;+1 555 000 0004,3,\"p, q\"\nb@x.io,,5,\n"
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(csvIn), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "in.csv"); code != 0 || !strings.Contains(out, "2 lines: 1 created, 1 updated, 0 failed") {
		t.Fatalf("csv import: %d\n%s", code, out)
	}
	out, code = runTool(t, dir, "get", "-db-id", "1", "-phone", "+15550000004")
	if code != 0 || !strings.Contains(out, `"email": "c@x.io"`) || !strings.Contains(out, `"CRM_ID": 3`) {
		t.Fatalf("get: %d\n%s", code, out)
	}
	// A custom field's value is read by its declared type (int here).
	if out, code := runTool(t, dir, "get", "-db-id", "1", "-field", "CRM_ID", "-value", "3"); code != 0 || !strings.Contains(out, `"email": "c@x.io"`) {
		t.Fatalf("get by an int field: %d\n%s", code, out)
	}
	// A phone without its country code needs a region, which the
	// message names and -phone-region gives.
	if err := os.WriteFile(filepath.Join(dir, "local.jsonl"), []byte(`{"email":"d@x.io","phones":["202 555 0143"]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "local.jsonl"); code != 1 || !strings.Contains(out, "-phone-region") {
		t.Fatalf("import of a local phone: %d\n%s", code, out)
	}
	if out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "-phone-region", "US", "local.jsonl"); code != 0 || !strings.Contains(out, "read in region US") {
		t.Fatalf("import -phone-region US: %d\n%s", code, out)
	}
	// The region is now the database's: every tool reads phones alike
	// without the flag, and a conflicting flag is refused.
	if out, code := runTool(t, dir, "get", "-db-id", "1", "-phone", "(202) 555-0143"); code != 0 || !strings.Contains(out, `"email": "d@x.io"`) {
		t.Fatalf("get without -phone-region: %d\n%s", code, out)
	}
	if out, code := runTool(t, dir, "import", "-db-id", "1", "-matching", "email", "-phone-region", "DE", "local.jsonl"); code == 0 || !strings.Contains(out, "reads phones in region US") {
		t.Fatalf("import -phone-region DE: %d\n%s", code, out)
	}
	if out, code := runTool(t, dir, "get", "-db-id", "1", "-email", "zz@x.io"); code != 1 || !strings.Contains(out, "no profile") {
		t.Fatalf("get missing: %d\n%s", code, out)
	}
	// export → import into a fresh file gives the same profiles: the
	// four imported, and the example set-up's seven of database 1.
	exported, code := runTool(t, dir, "export", "-db-id", "1")
	if code != 0 || strings.Count(exported, "\n") != 11 {
		t.Fatalf("export: %d\n%s", code, exported)
	}
	if err := os.WriteFile(filepath.Join(dir, "out.jsonl"), []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), []byte(`{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1,"fields":[{"name":"CRM_ID","type":"int"},{"name":"interests","type":"tags"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "schema", "apply", "-db", "copy.db", "-config", "schema.json"); code != 0 || !strings.Contains(out, "created copy.db") {
		t.Fatalf("schema apply: %d\n%s", code, out)
	}
	if out, code := runTool(t, dir, "import", "-db", "copy.db", "-db-id", "1", "out.jsonl"); code != 0 || !strings.Contains(out, "11 lines: 11 created") {
		t.Fatalf("re-import: %d\n%s", code, out)
	}
	again, _ := runTool(t, dir, "export", "-db", "copy.db", "-db-id", "1")
	if again != exported {
		t.Fatalf("export of the copy differs:\n%s\nvs\n%s", again, exported)
	}
	// check, compact, and the hot backup all pass check.
	if out, code := runTool(t, dir, "compact", "-to", "small.db"); code != 0 || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %d %s", code, out)
	}
	for _, f := range []string{"relgraph.db", "small.db", "hot.db"} {
		if out, code := runTool(t, dir, "check", "-db", f); code != 0 || !strings.Contains(out, "ok: no violations") {
			t.Fatalf("check %s: %d %s", f, code, out)
		}
	}
}

func TestCheckExitsOneOnViolations(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "-example")
	srv.stop(t)
	// Damage every copy of a property name in the file: the live schema
	// and the stored relation (the documentation's edit) among them.
	b, err := os.ReadFile(filepath.Join(dir, "relgraph.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte("exr")) == 0 {
		t.Fatal("property name not found in the file")
	}
	b = bytes.ReplaceAll(b, []byte("exr"), []byte("eXr"))
	if err := os.WriteFile(filepath.Join(dir, "bad.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runTool(t, dir, "check", "-db", "bad.db")
	if code != 1 {
		t.Fatalf("check of a damaged file: exit %d\n%s", code, out)
	}
}

// TestSlowClientsAreCutOff: a client that never finishes its headers is
// disconnected after the read-header timeout; the server goes on.
func TestSlowClientsAreCutOff(t *testing.T) {
	srv := startServer(t, t.TempDir(), "-example", "-read-header-timeout", "300ms")
	addr := strings.TrimPrefix(srv.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /api/v1.1/relations/edit HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn) // returns when the server closes
	if err != nil {
		t.Fatalf("the slow connection was not closed: %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("closed after %v", waited)
	}
	resp, err := http.Get(srv.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server after a slow client: %v %v", resp, err)
	}
	srv.stop(t)
}

// TestTokensFromEnvironment: RELGRAPH_TOKENS adds tokens with roles.
func TestTokensFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	if err := os.WriteFile(cfg, []byte(`{"databases":[{"id":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RELGRAPH_TOKENS", "w-token:write, r-token:read")
	srv := startServer(t, dir, "-config", cfg)
	post := func(token, endpoint, body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/api/v1.1/"+endpoint, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("w-token", "profiles/import", `{"db_id":1,"data":{"email":"a@x.io"}}`); code != 200 {
		t.Fatalf("write token: %d", code)
	}
	if code := post("r-token", "profiles/get", `{"db_id":1,"email":"a@x.io"}`); code != 200 {
		t.Fatalf("read token reading: %d", code)
	}
	if code := post("r-token", "profiles/delete", `{"db_id":1,"email":"a@x.io"}`); code != 403 {
		t.Fatalf("read token writing: %d", code)
	}
	srv.stop(t)
	t.Setenv("RELGRAPH_TOKENS", "broken")
	if out, code := runTool(t, dir, "serve", "-config", cfg, "-addr", "127.0.0.1:0"); code == 0 || !strings.Contains(out, "not token:role") || strings.Contains(out, "broken") {
		t.Fatalf("bad RELGRAPH_TOKENS: %d %q", code, out)
	}
}

// TestMigrateFileToFile copies a served example store into a new file:
// digests match, check passes; an existing target file (a store, or
// empty) is refused and left as it was, and a URL
// is refused by this build with a message saying which build opens it.
func TestMigrateFileToFile(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "-example")
	srv.stop(t)
	out, code := runTool(t, dir, "migrate", "-from", "relgraph.db", "-to", "copy.db")
	if code != 0 || !strings.Contains(out, "digests match") {
		t.Fatalf("migrate: %d %s", code, out)
	}
	if out, code := runTool(t, dir, "migrate", "-from", "relgraph.db", "-to", "copy.db"); code == 0 || !strings.Contains(out, "copies into a new file") {
		t.Fatalf("migrate into an existing store: %d %s", code, out)
	}
	// An empty file is a user's too: it stays empty, never becomes a store.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "migrate", "-from", "relgraph.db", "-to", "empty.db"); code == 0 || !strings.Contains(out, "copies into a new file") {
		t.Fatalf("migrate into an existing empty file: %d %s", code, out)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Fatalf("migrate changed an existing empty file: %v %v", fi, err)
	}
	if out, code := runTool(t, dir, "migrate", "-from", "relgraph.db", "-to", "etcd://127.0.0.1:1/x"); code == 0 || !strings.Contains(out, "kv/etcd/cmd/relgraph") {
		t.Fatalf("migrate to a URL in the file-only build: %d %s", code, out)
	}
}

// damagedStore writes a store of a few dozen pages with the README's
// example schema, profiles with every kind of index entry, and
// relations; it returns the file's bytes.
func damagedStore(t *testing.T, path string) []byte {
	t.Helper()
	s, err := relgraph.Open(path, &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags}}}))
	must(s.PutDatabase(ctx, relgraph.Database{ID: 2}))
	must(s.PutRelationType(ctx, relgraph.RelationType{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt}, {Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 3}}}))
	var bs []relgraph.ProfileID
	for range 10 {
		b, _, err := s.ImportProfile(ctx, 2, relgraph.Locator{}, relgraph.ProfileData{})
		must(err)
		bs = append(bs, b)
	}
	for i := range 80 {
		a, _, err := s.ImportProfile(ctx, 1, relgraph.Locator{}, relgraph.ProfileData{Email: relgraph.Ptr(fmt.Sprintf("p%d@x.io", i)),
			Phones: &[]string{fmt.Sprintf("+1555000%04d", i)}, Fields: map[string]any{"CRM_ID": i, "interests": []string{"a", "b"}}})
		must(err)
		for j := range 3 {
			_, err := s.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{ProfileID: a.String()},
				B: relgraph.Locator{ProfileID: bs[(i+j)%len(bs)].String()}, Weights: map[string]any{"user_like": i, "donate": i * j}})
			must(err)
		}
	}
	must(s.Close())
	b, err := os.ReadFile(path)
	must(err)
	return b
}

// runDamaged runs a tool on a damaged file: it must end with exit 0 or
// 1, never by a signal, a panic or a usage error, and a failure must
// say something.
func runDamaged(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("%v: killed by %v\n%s", args, ee.ProcessState.Sys().(syscall.WaitStatus).Signal(), out)
	} else if err != nil && !ok {
		t.Fatal(err)
	}
	code := cmd.ProcessState.ExitCode()
	if code > 1 || bytes.Contains(out, []byte("panic")) || bytes.Contains(out, []byte("goroutine ")) {
		t.Fatalf("%v: exit %d\n%s", args, code, out)
	}
	if code == 1 && len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("%v: exit 1 without a word", args)
	}
	return string(out), code
}

// TestDamagedFilesThroughTheTools cuts a store at every page boundary
// and flips bytes in its pages, then runs check, export and serve on
// each copy (and compact on the flips). A cut into the pages in use is
// refused by all three (exit
// 1, with the reason); a cut in the file's unused tail, or a flip in
// unused space, changes nothing that export shows; anything else check
// reports (exit 1). Never a panic, a signal or exit 2.
func TestDamagedFilesThroughTheTools(t *testing.T) {
	dir := t.TempDir()
	base := damagedStore(t, filepath.Join(dir, "base.db"))
	want, code := runDamaged(t, dir, "export", "-db", "base.db", "-db-id", "1")
	if code != 0 || strings.Count(want, "\n") != 80 {
		t.Fatalf("export of the undamaged store: %d\n%s", code, want)
	}
	const page = 4096
	used := 0
	for n := page; n < len(base); n += page {
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.WriteFile(filepath.Join(dir, "cut.db"), base[:n], 0o600))
		out, code := runDamaged(t, dir, "check", "-db", "cut.db")
		if code == 0 {
			if got, _ := runDamaged(t, dir, "export", "-db", "cut.db", "-db-id", "1"); got != want {
				t.Fatalf("cut to %d bytes: check passed, export differs", n)
			}
			continue
		}
		if !strings.Contains(out, "truncated") {
			t.Fatalf("cut to %d bytes: check said %s", n, out)
		}
		used = n + page
		for _, args := range [][]string{{"export", "-db", "cut.db", "-db-id", "1"}, {"serve", "-db", "cut.db", "-example", "-addr", "127.0.0.1:0"}} {
			if out, code := runDamaged(t, dir, args...); code != 1 || !strings.Contains(out, "truncated") {
				t.Fatalf("cut to %d bytes: %v: exit %d\n%s", n, args, code, out)
			}
		}
	}
	if used < 20*page {
		t.Fatalf("only %d bytes of pages in use", used)
	}
	reported := 0
	for i := range 60 {
		b := append([]byte{}, base...)
		at := (i*7919*131 + 17) % used
		b[at] ^= byte(1 + i%255)
		if err := os.WriteFile(filepath.Join(dir, "flip.db"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, checked := runDamaged(t, dir, "check", "-db", "flip.db")
		got, exported := runDamaged(t, dir, "export", "-db", "flip.db", "-db-id", "1")
		if checked == 0 && (exported != 0 || got != want) {
			t.Fatalf("flip at byte %d: check passed, but export gave exit %d\n%s", at, exported, got)
		}
		os.Remove(filepath.Join(dir, "small.db"))
		if _, compacted := runDamaged(t, dir, "compact", "-db", "flip.db", "-to", "small.db"); compacted != checked {
			t.Fatalf("flip at byte %d: check exit %d, compact exit %d", at, checked, compacted)
		}
		if checked == 1 {
			reported++
		}
	}
	if reported == 0 {
		t.Fatal("no flip was reported")
	}
	t.Logf("%d cuts, 60 flips (%d reported)", len(base)/page-1, reported)
}

// hostileBody is 10 MiB of empty objects under one key, without a
// token: decoded into a tree it would take hundreds of MiB.
func hostileBody() []byte {
	const size = 10<<20 - 64
	b := make([]byte, 0, size)
	b = append(b, `{"data":[`...)
	for len(b) < size-8 {
		b = append(b, "{},"...)
	}
	return append(b, "{}]}"...)
}

// peakRSS reads the process's high water mark of resident memory, MiB.
func peakRSS(t testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Skip("no VmHWM in /proc")
	}
	var kb float64
	fmt.Sscan(string(m[1]), &kb)
	return kb / 1024
}

// sendHostile posts the hostile body n times at once and returns how
// many answers had each status (0: the connection failed).
func sendHostile(t testing.TB, url string, n int) map[int]int {
	body := hostileBody()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := 0
			resp, err := http.Post(url+"/api/v1.1/relations/edit", "application/json", bytes.NewReader(body))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

// TestHostileBodiesWithoutAToken: 4 and then 64 clients at once send
// 10 MiB bodies of empty objects without a token. Every one is answered
// 401, or 503 when there is no room to read it; the server lives on.
// The peak memory it took is logged (BenchmarkHostileBodies measures it).
func TestHostileBodiesWithoutAToken(t *testing.T) {
	srv := startServer(t, t.TempDir(), "-example")
	for _, n := range []int{4, 64} {
		codes := sendHostile(t, srv.url, n)
		for code, count := range codes {
			if code != 401 && code != 503 {
				t.Errorf("%d clients: %d answers with status %d (all: %v)", n, count, code, codes)
			}
		}
		if codes[401] == 0 {
			t.Errorf("%d clients: no body was read and refused: %v", n, codes)
		}
		t.Logf("%d clients: %v; peak RSS so far %.0f MiB", n, codes, peakRSS(t, srv.cmd.Process.Pid))
	}
	if resp, err := http.Get(srv.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the server after the hostile bodies: %v %v", resp, err)
	}
	srv.stop(t)
}

// BenchmarkHostileBodies reports the server's peak RSS after 4 clients
// at once sent 10 MiB bodies of empty objects without a token, then
// after 64 (the target: under 200 MiB for 4).
func BenchmarkHostileBodies(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		cmd := exec.Command(binary, "serve", "-example", "-addr", "127.0.0.1:0")
		cmd.Dir = dir
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		url := regexp.MustCompile(`http://\S+`).FindString(line)
		if url == "" {
			b.Fatalf("no address in %q", line)
		}
		sendHostile(b, url, 4)
		b.ReportMetric(peakRSS(b, cmd.Process.Pid), "peakRSS-MiB-4clients")
		sendHostile(b, url, 64)
		b.ReportMetric(peakRSS(b, cmd.Process.Pid), "peakRSS-MiB-64clients")
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}

// ctx is the context of the tests' store calls: they are not cancelled.
var ctx = context.Background()
