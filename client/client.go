// Package client talks to a running relgraph server (relgraph serve)
// over HTTP or HTTPS: the platform's API calls, answered as decoded
// JSON, and relgraph's own endpoints for tools (backup, export, check,
// schema; api.BackupPath and its siblings). The relgraph command's
// -server mode uses it.
//
// A Client is safe for concurrent use. Every call takes a context and
// returns when it ends. An answer that is not a success is an *Error
// with the server's status and text.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/api"
)

// Client is a relgraph server's address and the token its calls carry.
type Client struct {
	base  string
	token string
	// HTTP is the client calls are made with; nil is
	// http.DefaultClient (which trusts the system's roots, and
	// SSL_CERT_FILE).
	HTTP *http.Client
}

// New returns a client of the server at base (http:// or https://, with
// or without a trailing slash), sending token (Authorization: Bearer).
// A base URL of another form is an error.
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: a base URL such as http://127.0.0.1:8080 or https://relgraph.example.com", base)
	}
	return &Client{base: strings.TrimSuffix(base, "/"), token: token}, nil
}

// Error is an answer that is not a success: its HTTP status and the
// server's error_text (or body).
type Error struct {
	Status int
	Text   string
	// RetryAfter is the wait a busy server (503) asked for; 0 if none.
	RetryAfter time.Duration
}

// Error says the HTTP status and the server's error text.
func (e *Error) Error() string { return fmt.Sprintf("server answered %d: %s", e.Status, e.Text) }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Call posts body as JSON to the platform endpoint (such as
// "profiles/get") and returns the decoded answer (numbers as
// json.Number). A non-zero error is an *Error.
func (c *Client) Call(ctx context.Context, endpoint string, body map[string]any) (map[string]any, error) {
	return c.post(ctx, api.Prefix+endpoint, body)
}

// CallOwn is Call for relgraph's own endpoints (under api.OwnPrefix,
// such as "relations/reverse").
func (c *Client) CallOwn(ctx context.Context, endpoint string, body map[string]any) (map[string]any, error) {
	return c.post(ctx, api.OwnPrefix+endpoint, body)
}

func (c *Client) post(ctx context.Context, path string, body map[string]any) (map[string]any, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, &Error{Status: resp.StatusCode, Text: "an answer that is not JSON: " + err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		text, _ := out["error_text"].(string)
		return nil, &Error{Status: resp.StatusCode, Text: text}
	}
	return out, nil
}

// get does a GET of an admin path and returns the open answer, or an
// *Error for a status other than 200.
func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		e := &Error{Status: resp.StatusCode, Text: strings.TrimSpace(string(msg))}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		return nil, e
	}
	return resp, nil
}

// stream copies an admin path's answer to w.
func (c *Client) stream(ctx context.Context, path string, w io.Writer) (int64, error) {
	resp, err := c.get(ctx, path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// Backup copies the server's store file, consistent as of one moment,
// to w (api.BackupPath, a read token) and returns the bytes copied. A
// copy cut short is caught by relgraph.Verify, not here.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return c.stream(ctx, api.BackupPath, w)
}

// Export copies the server's whole store as JSON Lines (api.WriteStore,
// api.ExportPath, a read token) to w and returns the bytes copied. An
// export cut short ends without a final newline or mid-line.
func (c *Client) Export(ctx context.Context, w io.Writer) (int64, error) {
	return c.stream(ctx, api.ExportPath, w)
}

// Check runs the server's Check (api.CheckPath, a read token) and
// returns its problems, none for a sound store.
func (c *Client) Check(ctx context.Context) ([]string, error) {
	var out struct{ Problems []string }
	if err := c.getJSON(ctx, api.CheckPath, &out); err != nil {
		return nil, err
	}
	return out.Problems, nil
}

// Schema returns the server's databases and relation types
// (api.SchemaPath, a read token).
func (c *Client) Schema(ctx context.Context) ([]relgraph.Database, []relgraph.RelationType, error) {
	var out struct {
		Databases     []relgraph.Database     `json:"databases"`
		RelationTypes []relgraph.RelationType `json:"relation_types"`
	}
	if err := c.getJSON(ctx, api.SchemaPath, &out); err != nil {
		return nil, nil, err
	}
	return out.Databases, out.RelationTypes, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return errors.New("an answer that is not the expected JSON: " + err.Error())
	}
	return nil
}

// Changes reads the server's change feed (api.ChangesPath, a read
// token) after since (-1: from the oldest change kept), calling fn with each change, decoded, and its line
// as sent, in order, until the stream ends: with follow, when the server
// ended it (idle, shutting down, the client stalled), otherwise after
// what the feed keeps. It returns the last seq read (if none, since, or
// with since -1 where the server started the stream): to resume, call
// again from it. A refused request is an *Error (410:
// the changes after since were dropped by retention). fn's error stops
// the read and is returned.
func (c *Client) Changes(ctx context.Context, since int64, follow bool, fn func(ch api.ChangeJSON, line []byte) error) (int64, error) {
	q := url.Values{"follow": {strconv.FormatBool(follow)}}
	if since >= 0 {
		q.Set("since", strconv.FormatInt(since, 10))
	}
	resp, err := c.get(ctx, api.ChangesPath+"?"+q.Encode())
	if err != nil {
		return since, err
	}
	defer resp.Body.Close()
	if since < 0 {
		// Where "the oldest kept" put the stream: a stream that sends
		// nothing still gives the caller a position to resume from.
		if from, err := strconv.ParseInt(resp.Header.Get(api.ChangesSinceHeader), 10, 64); err == nil && from >= 0 {
			since = from
		}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // a line holds two profiles at most
	for sc.Scan() {
		var ch api.ChangeJSON
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&ch); err != nil {
			return since, fmt.Errorf("change after %d: %w", since, err)
		}
		if since >= 0 && ch.Seq != uint64(since)+1 {
			return since, fmt.Errorf("change %d after %d: the stream skipped changes", ch.Seq, since)
		}
		if err := fn(ch, sc.Bytes()); err != nil {
			return int64(ch.Seq), err
		}
		since = int64(ch.Seq)
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return since, err
	}
	return since, ctx.Err()
}
