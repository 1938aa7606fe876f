package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Faults a real disk produces, through the real tools: a store whose
// log was damaged after a crash, a full disk, and destinations that
// hold a user's file.

// call posts a JSON body to a running server's endpoint with the
// example's write token and returns the status and the answer.
func call(url, endpoint string, body map[string]any) (int, map[string]any, error) {
	body["token"] = exampleTokens[0]
	b, _ := json.Marshal(body)
	resp, err := http.Post(url+"/api/v1.1/"+endpoint, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var ans map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, ans, nil
}

// crashedStore serves dir/s.db, imports n profiles one by one (each
// acknowledged), then kills the server: the log holds what no
// checkpoint took yet. It returns the emails.
func crashedStore(t *testing.T, dir string, n int) []string {
	t.Helper()
	srv := startServer(t, dir, "-example", "-db", "s.db")
	var emails []string
	for i := range n {
		email := fmt.Sprintf("crash%d@x.io", i)
		code, ans, err := call(srv.url, "profiles/import", map[string]any{"db_id": 1, "matching": "email", "email": email, "data": map[string]any{}})
		if err != nil || code != 200 {
			t.Fatalf("import %d: %d %v %v", i, code, ans, err)
		}
		emails = append(emails, email)
	}
	srv.cmd.Process.Kill()
	<-srv.done
	if _, err := os.Stat(filepath.Join(dir, "s.db-wal")); err != nil {
		t.Fatalf("a killed server left no log: %v", err)
	}
	return emails
}

// exported runs export, which must succeed, and returns the emails of
// the profiles it wrote.
func exported(t *testing.T, dir string) map[string]bool {
	t.Helper()
	cmd := exec.Command(binary, "export", "-db", "s.db", "-db-id", "1")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("export: %v %s", err, out)
	}
	emails := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var p struct{ Email string }
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		emails[p.Email] = true
	}
	return emails
}

// TestAFlippedLogHeaderLosesNothing: a flipped bit in a region header of
// a crashed store's log made check pass while export lacked hundreds of
// acknowledged imports. The header is not needed to read the records:
// check passes, export and the server have every one.
func TestAFlippedLogHeaderLosesNothing(t *testing.T) {
	dir := t.TempDir()
	emails := crashedStore(t, dir, 300)
	log := filepath.Join(dir, "s.db-wal")
	f, err := os.OpenFile(log, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	for _, off := range []int64{30, 64<<20 + 30} { // each region's header, where the file reaches it
		if off < info.Size() {
			b := make([]byte, 1)
			f.ReadAt(b, off)
			b[0] ^= 0x04
			f.WriteAt(b, off)
		}
	}
	f.Close()
	if out, code := runTool(t, dir, "check", "-db", "s.db"); code != 0 {
		t.Fatalf("check after a flipped header: %d %s", code, out)
	}
	out := exported(t, dir)
	for _, e := range emails {
		if !out[e] {
			t.Fatalf("export lacks %s after a flipped header", e)
		}
	}
	srv := startServer(t, dir, "-example", "-db", "s.db")
	code, ans, err := call(srv.url, "profiles/get", map[string]any{"db_id": 1, "email": emails[len(emails)-1]})
	if err != nil || code != 200 {
		t.Fatalf("the server lacks the last import: %d %v %v", code, ans, err)
	}
	srv.stop(t)
}

// TestAMissingOrCutLogIsRefusedByEveryTool: a crashed store whose log
// was deleted or cut short lost its acknowledged writes silently, and
// check passed. Every tool refuses it now, naming what is lost, and
// recover -accept-loss is the one way to open it.
func TestAMissingOrCutLogIsRefusedByEveryTool(t *testing.T) {
	for _, tc := range []struct {
		name, says string
		damage     func(log string) error
	}{
		{"deleted", "the log file is missing", os.Remove},
		{"cut to a few bytes", "10 bytes long", func(log string) error { return os.Truncate(log, 10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			crashedStore(t, dir, 20)
			log := filepath.Join(dir, "s.db-wal")
			if err := tc.damage(log); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"check", "-db", "s.db"},
				{"export", "-db", "s.db", "-db-id", "1"},
				{"get", "-db", "s.db", "-db-id", "1", "-email", "crash0@x.io"},
				{"backup", "-db", "s.db", "-to", "copy.db"},
				{"compact", "-db", "s.db", "-to", "compact.db"},
				{"serve", "-example", "-db", "s.db", "-addr", "127.0.0.1:0"},
				{"recover", "-db", "s.db"},
			} {
				out, code := runTool(t, dir, args...)
				if code != 1 || !strings.Contains(out, tc.says) || !strings.Contains(out, "accept-loss") {
					t.Fatalf("%v on a damaged log: %d %s", args, code, out)
				}
			}
			for _, made := range []string{"copy.db", "compact.db"} {
				if _, err := os.Stat(filepath.Join(dir, made)); err == nil {
					t.Fatalf("a refused tool left %s behind", made)
				}
			}
			out, code := runTool(t, dir, "recover", "-db", "s.db", "-accept-loss")
			if code != 0 || !strings.Contains(out, "recovered: kept the records up to") || !strings.Contains(out, "dropped any record after") {
				t.Fatalf("recover -accept-loss: %d %s", code, out)
			}
			if out, code := runTool(t, dir, "check", "-db", "s.db"); code != 0 {
				t.Fatalf("check after recover: %d %s", code, out)
			}
			if out, code := runTool(t, dir, "recover", "-db", "s.db"); code != 0 || !strings.Contains(out, "needs no repair") {
				t.Fatalf("recover of a sound store: %d %s", code, out)
			}
		})
	}
}

// TestNoToolRemovesAFileItDidNotMake: a tool that refuses a destination
// or a store leaves the user's file as it was (compact deleted it), and
// serve moves a user's file at a closed store's log path aside whole.
func TestNoToolRemovesAFileItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "-example", "-db", "s.db")
	precious := []byte("precious user data\n")
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), precious, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"p.txt", "p.txt-wal", "new.db-wal"} {
		write(name)
	}
	out, code := runTool(t, dir, "backup", "-server", srv.url, "-token", exampleTokens[0], "-to", "p.txt")
	if code == 0 {
		t.Fatalf("backup -server onto a user's file: %s", out)
	}
	srv.stop(t)
	for _, args := range [][]string{
		{"compact", "-db", "s.db", "-to", "p.txt"},
		{"backup", "-db", "s.db", "-to", "p.txt"},
		{"migrate", "-from", "s.db", "-to", "p.txt"},
		{"export", "-db", "p.txt", "-db-id", "1"},
		{"check", "-db", "p.txt"},
		{"import", "-db", "p.txt", "-db-id", "1", "p.txt"},
		{"recover", "-db", "p.txt", "-accept-loss"},
		{"schema", "apply", "-config", "p.txt", "-db", "p.txt"},
		{"serve", "-example", "-db", "p.txt", "-addr", "127.0.0.1:0"},
		{"serve", "-example", "-db", "new.db", "-addr", "127.0.0.1:0"}, // its log name holds a user's file
	} {
		if out, code := runTool(t, dir, args...); code == 0 {
			t.Fatalf("%v succeeded: %s", args, out)
		}
		for _, name := range []string{"p.txt", "p.txt-wal", "new.db-wal"} {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, precious) {
				t.Fatalf("%v: %s became %q (%v)", args, name, got, err)
			}
		}
	}
	if out, _ := runTool(t, dir, "compact", "-db", "s.db", "-to", "p.txt"); !strings.Contains(out, "already exists") {
		t.Fatalf("compact onto an existing file says: %s", out)
	}
	// s.db was closed cleanly: its store file holds every write, and a
	// user's file at its log path is moved aside whole, with a warning.
	write("s.db-wal")
	if out, code := runTool(t, dir, "check", "-db", "s.db"); code != 0 {
		t.Fatalf("check beside a user's file at the log path: %s", out)
	}
	if out, code := runTool(t, dir, "recover", "-db", "s.db"); code != 0 || !strings.Contains(out, "not recognizably its log") {
		t.Fatalf("recover beside a user's file at the log path: %s", out)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "s.db-wal")); err != nil || !bytes.Equal(got, precious) {
		t.Fatalf("check or recover changed the user's file: %q (%v)", got, err)
	}
	srv = startServer(t, dir, "-example", "-db", "s.db")
	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), "moved aside whole") {
		t.Fatalf("serve moved the user's file without a word:\n%s", srv.stderr)
	}
	moved, err := filepath.Glob(filepath.Join(dir, "s.db-wal.unrecognized-*"))
	if err != nil || len(moved) != 1 {
		t.Fatalf("the user's file moved aside: %v %v", moved, err)
	}
	if got, err := os.ReadFile(moved[0]); err != nil || !bytes.Equal(got, precious) {
		t.Fatalf("the user's file, moved aside, became %q (%v)", got, err)
	}
}

// TestFullDiskDuringBulkImports: on a 64 MiB tmpfs, bulk imports and
// single imports until the disk is full; then a kill, and the disk given
// room. Every batch answered with success is there, whole; every batch
// answered with an error is absent, whole; every acknowledged single
// import is there, and check passes. (A batch once got HTTP 500 while
// stored, and later writes were lost behind a gap in the log.) It needs
// root, to mount the tmpfs.
func TestFullDiskDuringBulkImports(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	srv := startServer(t, mnt, "-example", "-db", "s.db")
	var okBatches, failedBatches [][]string
	var singles []string
	fullSeen := 0
	for b := 0; fullSeen < 6 && b < 200; b++ {
		var emails []string
		var data []any
		for i := range 5000 {
			e := fmt.Sprintf("b%d-%d@x.io", b, i)
			emails = append(emails, e)
			data = append(data, map[string]any{"email": e, "_fname": strings.Repeat("n", 200)})
		}
		code, ans, err := call(srv.url, "profiles/import_batch", map[string]any{"db_id": 1, "matching": "email", "data": data})
		if err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		results, _ := ans["result"].([]any)
		if code == 200 && len(results) > 0 {
			if r, _ := results[0].(map[string]any); r["error"] != 0.0 {
				t.Fatalf("batch %d: %v", b, r)
			}
		}
		if code == 200 {
			okBatches = append(okBatches, emails)
		} else {
			failedBatches = append(failedBatches, emails)
			fullSeen++
			t.Logf("batch %d: %d %v", b, code, ans["error_text"])
		}
		for i := range 3 {
			e := fmt.Sprintf("s%d-%d@x.io", b, i)
			code, _, err := call(srv.url, "profiles/import", map[string]any{"db_id": 1, "matching": "email", "email": e, "data": map[string]any{}})
			if err == nil && code == 200 {
				singles = append(singles, e)
			} else {
				fullSeen++
			}
		}
	}
	if len(failedBatches) == 0 || len(okBatches) == 0 {
		t.Fatalf("%d batches stored, %d refused: the disk never filled", len(okBatches), len(failedBatches))
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	<-srv.done
	if out, err := exec.Command("mount", "-o", "remount,size=1g", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	time.Sleep(100 * time.Millisecond)
	if out, code := runTool(t, mnt, "check", "-db", "s.db"); code != 0 {
		t.Fatalf("check after the disk was full: %d %s", code, out)
	}
	out := exported(t, mnt)
	for _, batch := range okBatches {
		for _, e := range batch {
			if !out[e] {
				t.Fatalf("%s of a batch answered with success is missing", e)
			}
		}
	}
	for _, batch := range failedBatches {
		for _, e := range batch {
			if out[e] {
				t.Fatalf("%s of a batch answered with an error is stored", e)
			}
		}
	}
	for _, e := range singles {
		if !out[e] {
			t.Fatalf("acknowledged single import %s is missing", e)
		}
	}
	t.Logf("%d batches stored, %d refused, %d single imports acknowledged", len(okBatches), len(failedBatches), len(singles))
}

// TestServeLogsWhatRecoveryDid: a server started on a store a kill left
// with writes in its log says that it replayed them, and how many.
func TestServeLogsWhatRecoveryDid(t *testing.T) {
	dir := t.TempDir()
	crashedStore(t, dir, 20)
	srv := startServer(t, dir, "-example", "-db", "s.db")
	srv.stop(t)
	log := srv.stderr.String()
	m := regexp.MustCompile(`recovered the store.* records=(\d+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no word of the recovery:\n%s", log)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 {
		t.Fatalf("recovered %s records", m[1])
	}
	// A clean start says nothing of it.
	srv = startServer(t, dir, "-example", "-db", "s.db")
	srv.stop(t)
	if strings.Contains(srv.stderr.String(), "recovered the store") {
		t.Fatalf("a clean start spoke of recovery:\n%s", srv.stderr)
	}
}
