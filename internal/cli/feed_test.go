package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/relgraph/relgraph"
)

// "relgraph feed -off=false" (a script passing a boolean explicitly)
// keeps the feed on; it had turned it off, dropping every kept change
// (found by review). -on=false -off=false contradict each other.
func TestFeedOffFalseKeepsTheFeedOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := relgraph.Open(path, &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ImportProfile(ctx, 1, relgraph.Locator{Email: "a@x.io"}, relgraph.ProfileData{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var stdout, stderr bytes.Buffer
	code := Run([]string{"feed", "-db", path, "-off=false", "-max-changes", "100"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "change feed: on") {
		t.Errorf("feed -off=false -max-changes 100 printed:\n%s(the feed was turned off and its changes dropped)", stdout.String())
	}
}

// A following "relgraph changes -server" waits out a 503 (every stream
// slot taken, answered with Retry-After) and goes on; it had exited,
// so any reconnect after an idle end could end a long follower (found
// by review).
func TestChangesFollowerWaitsOutA503(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(503)
			w.Write([]byte(`{"error":503,"error_text":"too many change streams open (64): try again later"}`))
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Write([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"profile.create","op":"import","db_id":1,"profile_id":"6b1488ce0000000000000001","before":null,"after":{}}` + "\n"))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := Run([]string{"changes", "-server", srv.URL, "-token", "t", "-since", "0", "-limit", "1"}, &stdout, &stderr)
	if code != 0 || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("follower against a busy server: exit %d, %d line(s), stderr %q; want it to wait Retry-After and go on", code, strings.Count(stdout.String(), "\n"), strings.TrimSpace(stderr.String()))
	}
}

// A change_feed in the config must say on or off: one that only sets
// retention would turn the feed off at every start (found by review).
func TestConfigChangeFeedNeedsOn(t *testing.T) {
	_, err := parseConfig([]byte(`{"change_feed":{"max_changes":10}}`))
	if err == nil || !strings.Contains(err.Error(), "change_feed.on: required") {
		t.Fatalf("change_feed without on: %v", err)
	}
	c, err := parseConfig([]byte(`{"change_feed":{"on":false,"max_changes":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := c.ChangeFeed.feed(); err != nil || cfg.On || cfg.MaxChanges != 10 {
		t.Fatalf("on false: %+v %v", cfg, err)
	}
}
