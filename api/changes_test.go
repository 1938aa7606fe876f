package api

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// feedGet opens the change stream with query q (and the read token).
func (e *env) feedGet(q string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+ChangesPath+"?"+q, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func feedError(t *testing.T, resp *http.Response, status int, text string) {
	t.Helper()
	defer resp.Body.Close()
	var body struct {
		Error     int    `json:"error"`
		ErrorText string `json:"error_text"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != status || body.Error != status || !strings.Contains(body.ErrorText, text) {
		t.Fatalf("got %d %+v, want %d saying %q", resp.StatusCode, body, status, text)
	}
}

func TestChangeStream(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.FeedIdle = 300 * time.Millisecond; c.MaxFeedClients = 1 })
	feedError(t, e.feedGet("since=0"), 400, "change feed is off")
	if err := e.store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	edit := func(like int) {
		e.want(e.postJSON("relations/edit", map[string]any{"token": writeToken, "rel_id": 3,
			"profile_a": map[string]any{"profile_id": profileA}, "profile_b": map[string]any{"profile_id": profileB}, "weights": map[string]any{"user_like": like}}), 0)
	}
	edit(1)
	e.want(e.postJSON("profiles/import", map[string]any{"token": writeToken, "db_id": 1, "data": map[string]any{"email": "new@x.io"}}), 0)
	edit(2)

	// What is kept, and the end.
	resp := e.feedGet("since=0&follow=false")
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/x-ndjson" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	var lines []ChangeJSON
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var c ChangeJSON
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, c)
	}
	resp.Body.Close()
	if len(lines) != 3 {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	first, second, third := lines[0], lines[1], lines[2]
	if first.Seq != 1 || first.Kind != "relation.create" || first.Op != "overwrite" || first.RelID != 3 ||
		first.ProfileA != profileA || first.ProfileB != profileB || first.Before != nil ||
		first.After.(map[string]any)["weights"].(map[string]any)["user_like"] != 1.0 {
		t.Fatalf("first line %+v", first)
	}
	if second.Seq != 2 || second.Kind != "profile.create" || second.Op != "import" || second.DBID != 1 ||
		second.After.(map[string]any)["email"] != "new@x.io" || second.Before != nil {
		t.Fatalf("second line %+v", second)
	}
	if third.Seq != 3 || third.Kind != "relation.update" || third.Before.(map[string]any)["weights"].(map[string]any)["user_like"] != 1.0 {
		t.Fatalf("third line %+v", third)
	}
	if _, err := time.Parse(time.RFC3339Nano, first.Time); err != nil {
		t.Fatal(err)
	}

	// Following: a line arrives as its write commits; the stream ends
	// after FeedIdle without a change; a second stream waits its turn.
	resp = e.feedGet("since=3")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	feedError(t, e.feedGet("since=3"), 503, "too many change streams")
	got := make(chan ChangeJSON)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var c ChangeJSON
			json.Unmarshal(sc.Bytes(), &c)
			got <- c
		}
	}()
	edit(5)
	select {
	case c := <-got:
		if c.Seq != 4 || c.Kind != "relation.update" {
			t.Fatalf("followed %+v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no line for a committed write")
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle stream did not end")
	}
	resp.Body.Close()

	// Paging parameters, limits and errors.
	resp = e.feedGet("since=1&limit=2&follow=true")
	sc = bufio.NewScanner(resp.Body)
	var seqs []uint64
	for sc.Scan() {
		var c ChangeJSON
		json.Unmarshal(sc.Bytes(), &c)
		seqs = append(seqs, c.Seq)
	}
	resp.Body.Close()
	if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 3 {
		t.Fatalf("since=1&limit=2: %v", seqs)
	}
	feedError(t, e.feedGet("since=9"), 400, "past the newest change")
	feedError(t, e.feedGet("since=-1"), 400, "since: a non-negative integer")
	feedError(t, e.feedGet("since=0&follow=maybe"), 400, "follow: true or false")
	feedError(t, e.feedGet("limit=0"), 400, "limit: at least 1")
	req, _ := http.NewRequest(http.MethodGet, e.url+ChangesPath, nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	feedError(t, r, 401, "token missing")
	r, err = http.Post(e.url+ChangesPath+"?token="+readToken, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	feedError(t, r, 405, "use GET")

	// Retention: since before the oldest kept is a 410 naming it.
	if err := e.store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true, MaxChanges: 2}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := e.store.FeedInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Oldest == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not run: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	feedError(t, e.feedGet("since=1"), 410, "the oldest kept is 3")
	resp = e.feedGet("follow=false") // no since: from the oldest kept
	sc = bufio.NewScanner(resp.Body)
	seqs = nil
	for sc.Scan() {
		var c ChangeJSON
		json.Unmarshal(sc.Bytes(), &c)
		seqs = append(seqs, c.Seq)
	}
	resp.Body.Close()
	if len(seqs) != 2 || seqs[0] != 3 {
		t.Fatalf("from the oldest: %v", seqs)
	}
}

// Closing Config.Done (a server shutting down) ends open streams.
func TestChangeStreamEndsAtShutdown(t *testing.T) {
	done := make(chan struct{})
	e := newEnvWith(t, func(c *Config) { c.Done = done })
	if err := e.store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	resp := e.feedGet("since=0")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		bufio.NewReader(resp.Body).ReadString('\n')
	}()
	close(done)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived the server's shutdown")
	}
	resp.Body.Close()
}

// An idle following stream over HTTP/2 stays open past the write stall
// limit and ends only at FeedIdle: the last write's deadline is cleared
// while the stream waits (found by review: HTTP/2 reset the stream
// when a past write's deadline expired, 30 s into any idle wait).
func TestChangeStreamIdleOverHTTP2OutlivesTheStallLimit(t *testing.T) {
	e := newEnv(t)
	if err := e.store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	const stall = 200 * time.Millisecond
	srv := httptest.NewUnstartedServer(New(e.store, Config{
		Tokens:    map[string]Role{readToken: RoleRead},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		FeedStall: stall,
		FeedIdle:  10 * stall,
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+ChangesPath+"?since=0", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Proto, resp.Status)
	}
	if _, _, err := e.store.ImportProfile(ctx, 1, relgraph.Locator{Email: "one@x.io"}, relgraph.ProfileData{}); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	// Idle from here: the stream must end cleanly (EOF), at FeedIdle,
	// not with a reset a stall limit after the last write.
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("an idle HTTP/2 stream ended with %v (%q); want a clean end at FeedIdle", err, rest)
	}
}

// A stream with follow=false ends at the newest change kept when it
// was asked for, while a writer goes on appending (found by review: it
// read page after page as long as the writer kept up). The writer runs
// for the whole read, so with the old rule the stream would chase it;
// the newest change read after the answer's headers arrived bounds
// what the stream may hold.
func TestChangeStreamWithoutFollowEndsAtTheNewestAtItsStart(t *testing.T) {
	e := newEnv(t)
	if err := e.store.SetChangeFeed(ctx, relgraph.FeedConfig{On: true}); err != nil {
		t.Fatal(err)
	}
	items := make([]relgraph.ImportItem, 500)
	for range 5 {
		if _, err := e.store.ImportBatch(ctx, 1, items); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if _, err := e.store.ImportBatch(ctx, 1, items[:50]); err != nil {
				writerDone <- err
				return
			}
		}
	}()
	resp := e.feedGet("since=0&follow=false")
	info, err := e.store.FeedInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var c ChangeJSON
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if c.Seq != last+1 {
			t.Fatalf("seq %d after %d", c.Seq, last)
		}
		last = c.Seq
	}
	resp.Body.Close()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if last < 2500 || last > info.Newest {
		t.Fatalf("the stream ended at %d; 2,500 changes were kept before it, and %d when its headers came", last, info.Newest)
	}
}
