package etcd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/internal/cli"
)

// TestMigrateAndServeFromEtcd: a store file is migrated into etcd with
// the command (digests compared, Check run), then the etcd build of the
// command serves it as a real process, answering the documentation's
// overwrite request.
func TestMigrateAndServeFromEtcd(t *testing.T) {
	c := startCluster(t, 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "relgraph.db")
	s, err := relgraph.Open(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema(t, s)
	for _, id := range []string{"5d63dbdb439e7306b596c5d0"} {
		if _, err := s.RestoreProfile(ctx, 1, mustID(t, id), relgraph.ProfileData{Email: relgraph.Ptr("a@x.io")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RestoreProfile(ctx, 2, mustID(t, "5d441038439e7363f3c26539"), relgraph.ProfileData{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Overwrite(ctx, relgraph.RelationRequest{RelationType: 3, A: relgraph.Locator{Email: "a@x.io"},
		B: relgraph.Locator{ProfileID: "5d441038439e7363f3c26539"}, Weights: map[string]any{"user_like": 5}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	url := "etcd://" + strings.TrimPrefix(c.clients[0], "http://") + "/" + strings.TrimSuffix(newPrefix(), "/")
	var out, errOut bytes.Buffer
	if code := cli.Run([]string{"migrate", "-from", file, "-to", url}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "digests match") {
		t.Fatalf("migrate: %d %s %s", code, out.String(), errOut.String())
	}

	bin := filepath.Join(t.TempDir(), "relgraph-etcd")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/relgraph").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	cfg := filepath.Join(dir, "c.json")
	if err := os.WriteFile(cfg, []byte(`{"tokens":[{"token":"w","role":"write"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "-db", url, "-config", cfg, "-addr", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	addr := ""
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" && time.Now().Before(deadline) && lines.Scan() {
		if m := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("the etcd server did not start: %s", errOut.String())
	}
	body := `{"token":"w","rel_id":3,"profile_a":{"profile_id":"5d63dbdb439e7306b596c5d0"},"profile_b":{"profile_id":"5d441038439e7363f3c26539"},"weights":{"user_like":2,"donate":343}}`
	resp, err := http.Post(addr+"/api/v1.1/relations/edit", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if answer["error"] != 0.0 || answer["created"] != false || answer["profile_a"] != "5d63dbdb439e7306b596c5d0" {
		t.Fatalf("overwrite over HTTP on etcd: %v", answer)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for lines.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exit: %v\n%s", err, errOut.String())
	}
	// The write is in etcd.
	s2, err := relgraph.Open(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	cnt, err := s2.Counter(ctx, 3, relgraph.Locator{ProfileID: "5d63dbdb439e7306b596c5d0"})
	if err != nil || cnt.Props["user_like"].Sum != int64(2) || fmt.Sprint(cnt.Props["donate"].Top[0].Value) != "343" {
		t.Fatalf("counter on etcd after serving: %+v %v", cnt, err)
	}
	check(t, s2)
}

// mustID parses a profile id.
func mustID(t testing.TB, s string) relgraph.ProfileID {
	t.Helper()
	id, err := relgraph.ParseProfileID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
