package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// TestBodyMemoryIsBounded: bodies hold the memory budget for the bytes
// they have sent (4 KiB chunks here). A slow client that has sent a
// little holds a little, so others go through; bodies that fill the
// budget make the next request wait BusyWait and answer 503 with
// Retry-After; once they are done, requests go through again.
func TestBodyMemoryIsBounded(t *testing.T) {
	e := newEnvWith(t, func(c *Config) {
		c.MaxBodyBytes, c.BodyMemory, c.BusyWait = 16<<10, 16<<10, 200*time.Millisecond
	})
	counter := `{"token":"` + writeToken + `","rel_id":3,"profile_id":"` + profileA + `"}`
	// slow starts a request of a body of size bytes over a raw
	// connection (no client buffering in between), sends the first sent
	// bytes, and returns what sends the rest and reads the status.
	slow := func(size, sent int) (finish func() string) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		head := `{"token":"` + writeToken + `","pad":"`
		body := head + strings.Repeat("x", size-len(head)-2) + `"}`
		fmt.Fprintf(conn, "POST %srelations/get_counter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", Prefix, len(body), body[:sent])
		time.Sleep(100 * time.Millisecond) // read, and its room held
		return func() string {
			defer conn.Close()
			conn.Write([]byte(body[sent:]))
			status, _ := bufio.NewReader(conn).ReadString('\n')
			return status
		}
	}
	// A slow body that has sent little does not hold the others up.
	finish := slow(8000, 10)
	if r := e.post("relations/get_counter", "application/json", counter); r.status != 200 {
		t.Fatalf("beside a slow small body: %d %s", r.status, r.raw)
	}
	if status := finish(); !strings.Contains(status, "400") { // "pad" is not a parameter
		t.Fatalf("the slow request: %s", status)
	}
	// One that has sent 12.5 KB holds four 4 KiB chunks: all of it. A
	// second slow body then reads on past the budget (the overdraft),
	// and while it holds that too, a third request finds no room: 503.
	finish = slow(16000, 12800)
	finishOver := slow(8000, 4000)
	if r := e.post("relations/get_counter", "application/json", counter); r.status != 503 || r.code() != "503" {
		finishOver()
		finish()
		t.Fatalf("while the room and the overdraft are held: %d %s", r.status, r.raw)
	}
	if status := finishOver(); !strings.Contains(status, "400") {
		finish()
		t.Fatalf("the request on the overdraft: %s", status)
	}
	// The overdraft free again, a request is answered beside the body
	// that still holds the whole budget.
	if r := e.post("relations/get_counter", "application/json", counter); r.status != 200 {
		finish()
		t.Fatalf("on the overdraft: %d %s", r.status, r.raw)
	}
	if status := finish(); !strings.Contains(status, "400") {
		t.Fatalf("the large request: %s", status)
	}
	if r := e.post("relations/get_counter", "application/json", counter); r.status != 200 {
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

// TestBodiesThatEachHoldPartOfTheBudgetAllFinish: 32 bodies of 64 KiB
// arrive together against a budget of 64 KiB taken 4 KiB at a time, so
// that every chunk is soon held by a body that waits for more. Without
// the overdraft they waited on each other until all were refused (a
// wait that runs out is a refusal); with it every body is read whole.
func TestBodiesThatEachHoldPartOfTheBudgetAllFinish(t *testing.T) {
	const size, readers = 64 << 10, 32
	l := newLimits(size, 10*time.Second)
	errs := make(chan error, readers)
	for range readers {
		pr, pw := io.Pipe()
		go func() {
			piece := make([]byte, 1<<10)
			for sent := 0; sent < size; sent += len(piece) {
				if _, err := pw.Write(piece); err != nil {
					return
				}
			}
			pw.Close()
		}()
		go func() {
			b := &budgeted{r: pr, l: l, ctx: t.Context()}
			got, err := io.ReadAll(b)
			b.release()
			pr.Close()
			if err == nil && len(got) != size {
				err = fmt.Errorf("read %d bytes of %d", len(got), size)
			}
			errs <- err
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Errorf("a body: %v", err)
		}
	}
	if taken, _ := l.take(size); !taken {
		t.Error("the budget was not given back whole")
	}
}

// TestIdleBodiesHoldNoBudget: connections that send their headers and
// then nothing (no byte of the body) hold no body memory: twenty of
// them, more than the budget has chunks, do not make a request wait.
// (Before, each took a chunk, and a request past them got 503.)
func TestIdleBodiesHoldNoBudget(t *testing.T) {
	e := newEnvWith(t, func(c *Config) {
		c.MaxBodyBytes, c.BodyMemory, c.BusyWait = 16<<10, 16<<10, 200*time.Millisecond
	})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 20 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "POST %srelations/get_counter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", Prefix)
	}
	time.Sleep(100 * time.Millisecond) // their handlers wait in Read
	counter := `{"token":"` + writeToken + `","rel_id":3,"profile_id":"` + profileA + `"}`
	if r := e.post("relations/get_counter", "application/json", counter); r.status != 200 {
		t.Fatalf("beside 20 idle bodies: %d %s", r.status, r.raw)
	}
}
