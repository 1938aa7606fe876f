package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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
