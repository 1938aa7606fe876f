package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
)

// TestHeaderTokenIsCheckedBeforeTheBody: a wrong Authorization header
// is answered while the client is still sending its body.
func TestHeaderTokenIsCheckedBeforeTheBody(t *testing.T) {
	e := newEnv(t)
	body, w := io.Pipe()
	defer w.Close()
	go w.Write([]byte(`{"rel_id":3,`)) // and never more
	req, _ := http.NewRequest(http.MethodPost, e.url+Prefix+"relations/edit", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer wrong")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	select {
	case resp := <-done:
		if resp == nil || resp.StatusCode != 403 {
			t.Fatalf("answer %v", resp)
		}
		resp.Body.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("no answer before the body ended")
	}
}

// TestBodyValuesAreBounded: an authorized body of many empty objects
// is refused before it is decoded into a tree.
func TestBodyValuesAreBounded(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.MaxValues = 100 })
	many := `{"token":"` + writeToken + `","rel_id":3,"weights":[` + strings.Repeat(`{},`, 200) + `{}]}`
	r := e.post("relations/edit", "application/json", many)
	if r.status != 400 || !strings.Contains(r.body["error_text"].(string), "more than 100 values") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	xmlMany := `<xml><token>` + writeToken + `</token><rel_id>3</rel_id><weights>` + strings.Repeat(`<a/>`, 200) + `</weights></xml>`
	r = e.post("relations/edit", "application/xml", xmlMany)
	if r.status != 400 || !strings.Contains(r.body["error_text"].(string), "more than 100 values") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

// TestBodyMemoryIsBounded: while one body of unknown length holds all
// the room for bodies, another request waits BusyWait and is answered
// 503 with Retry-After; once the first is done, requests go through.
func TestBodyMemoryIsBounded(t *testing.T) {
	e := newEnvWith(t, func(c *Config) {
		c.MaxBodyBytes, c.BodyMemory, c.BusyWait = 4096, 4096, 200*time.Millisecond
	})
	body, w := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, e.url+Prefix+"relations/get_counter", body)
	req.Header.Set("Content-Type", "application/json")
	first := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	w.Write([]byte(`{"token":"` + writeToken + `",`))
	time.Sleep(100 * time.Millisecond) // the first request holds the room
	r := e.post("relations/get_counter", "application/json", `{"token":"`+writeToken+`","rel_id":3,"profile_id":"`+profileA+`"}`)
	if r.status != 503 {
		t.Fatalf("while the room is held: %d %s", r.status, r.raw)
	}
	w.Write([]byte(`"rel_id":3,"profile_id":"` + profileA + `"}`))
	w.Close()
	if code := <-first; code != 200 {
		t.Fatalf("the first request: %d", code)
	}
	if r := e.post("relations/get_counter", "application/json", `{"token":"`+writeToken+`","rel_id":3,"profile_id":"`+profileA+`"}`); r.status != 200 {
		t.Fatalf("after: %d %s", r.status, r.raw)
	}
}

// TestTokenInTheURL: the platform's ?token= works, and is checked
// before the body like the header's.
func TestTokenInTheURL(t *testing.T) {
	e := newEnv(t)
	r := e.post("relations/get_counter?token="+readToken, "application/json", `{"rel_id":3,"profile_id":"`+profileA+`"}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = e.post("relations/edit?token=nope", "application/json", `{}`)
	if r.status != 403 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

// TestClientThatHangsUpIsNotApplied: a request whose client gives up
// while its write waits in the commit queue is dropped from the queue,
// never applied.
func TestClientThatHangsUpIsNotApplied(t *testing.T) {
	var logs syncBuffer
	e := newEnvWith(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	release, started, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- e.store.Update(ctx, func(*relgraph.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	client := &http.Client{Timeout: 500 * time.Millisecond}
	_, err := client.Post(e.url+Prefix+"profiles/import?token="+writeToken, "application/json",
		strings.NewReader(`{"db_id":1,"email":"gone@x.io","data":{}}`))
	if err == nil {
		t.Fatal("the request was answered while the committer was held")
	}
	// The handler returns, and logs, once the server saw the client go
	// and the write left the queue.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "status=499"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the request did not end with 499:\n%s", logs.String())
		}
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Match(ctx, 1, relgraph.Locator{Email: "gone@x.io"}); !errors.Is(err, relgraph.ErrNotFound) {
		t.Fatalf("the abandoned request was applied: %v", err)
	}
}
