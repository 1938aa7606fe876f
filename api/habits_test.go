package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

// noRedirects is a client that reports a redirect instead of following
// it, as many clients of a POST do.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

const counterBody = `{"token": "` + writeToken + `", "rel_id": 3, "profile_id": "` + profileA + `", "matching": "profile_id"}`

// TestPathsAsClientsWriteThem: a trailing slash and doubled slashes
// reach the endpoint, answered directly (no redirect), over real HTTP.
func TestPathsAsClientsWriteThem(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{
		"/api/v1.1/relations/get_counter",
		"/api/v1.1/relations/get_counter/",
		"/api/v1.1//relations/get_counter",
		"//api/v1.1/relations//get_counter/",
		"/api/v1.1/relations/./get_counter",
	} {
		req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(counterBody))
		req.Header.Set("Content-Type", "application/json")
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(raw), `"error":0`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, raw)
		}
	}
	r := e.do(mustRequest(t, e.url+"/api/v1.1/relations/get_countr/", "application/json", counterBody))
	if r.status != 404 || !strings.Contains(scalarText(r.body["error_text"]), "unknown endpoint") {
		t.Errorf("a misspelt endpoint with a slash: %d %s", r.status, r.raw)
	}
}

func mustRequest(t *testing.T, url, contentType, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func compress(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser = gzip.NewWriter(&buf)
	if encoding == "deflate" {
		w = zlib.NewWriter(&buf)
	}
	w.Write(body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompressedBodies: gzip and deflate bodies decode (JSON and XML);
// the body limit holds for the decoded size, a bomb is a 413 before it
// is held, a damaged stream is a 400 and an unknown encoding a 415.
func TestCompressedBodies(t *testing.T) {
	e := newEnv(t)
	send := func(encoding, contentType string, body []byte) response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+Prefix+"relations/edit", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Content-Encoding", encoding)
		return e.do(req)
	}
	edit := `{"token": "` + writeToken + `", "rel_id": 3, "matching": "profile_id", "profile_a": {"profile_id": "` + profileA +
		`"}, "profile_b": {"profile_id": "` + profileB + `"}, "weights": {"user_like": 7}}`
	for _, enc := range []string{"gzip", "x-gzip", "GZIP", "deflate"} {
		r := send(enc, "application/json", compress(t, strings.ToLower(strings.TrimPrefix(strings.ToLower(enc), "x-")), []byte(edit)))
		e.want(r, 0)
	}
	xmlEdit := `<xml><token>` + writeToken + `</token><rel_id>3</rel_id><matching>profile_id</matching><profile_a><profile_id>` + profileA +
		`</profile_id></profile_a><profile_b><profile_id>` + profileB + `</profile_id></profile_b><weights><user_like>8</user_like></weights></xml>`
	r := send("gzip", "application/xml", compress(t, "gzip", []byte(xmlEdit)))
	e.want(r, 0)
	if !strings.HasPrefix(r.ctype, "application/xml") {
		t.Errorf("a gzip XML request answered %s", r.ctype)
	}
	page, err := e.store.Relations(ctx, relgraph.RelationsQuery{RelationType: 3, A: relgraph.Locator{ProfileID: profileA}})
	if err != nil || len(page.Items) != 1 || page.Items[0].Weights["user_like"] != int64(8) {
		t.Fatalf("the compressed edits did not land: %+v %v", page, err)
	}
	before, _ := e.store.Digest(ctx)

	// Over the limit once decoded (1 MiB here), though small compressed.
	big := []byte(`{"token": "` + writeToken + `", "pad": "` + strings.Repeat("x", 2<<20) + `"}`)
	if r := send("gzip", "application/json", compress(t, "gzip", big)); r.status != 413 {
		t.Errorf("a body over the limit once decoded: %d %s", r.status, r.raw)
	}
	// A bomb: far more than MaxExpansion times its size, under the limit.
	e2 := newEnvWith(t, func(c *Config) { c.MaxBodyBytes = 64 << 20 })
	bomb := compress(t, "gzip", []byte(`{"pad": "`+strings.Repeat("0", 32<<20)+`"}`))
	req, _ := http.NewRequest(http.MethodPost, e2.url+Prefix+"relations/edit", bytes.NewReader(bomb))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	if r := e2.do(req); r.status != 413 || !strings.Contains(scalarText(r.body["error_text"]), "expands more than") {
		t.Errorf("a decompression bomb (%d bytes): %d %s", len(bomb), r.status, r.raw)
	}
	if r := send("gzip", "application/json", []byte(edit)); r.status != 400 || !strings.Contains(scalarText(r.body["error_text"]), "does not decode") {
		t.Errorf("a body that is not gzip, sent as gzip: %d %s", r.status, r.raw)
	}
	for _, enc := range []string{"br", "zstd", "gzip, br"} {
		r := send(enc, "application/json", []byte(edit))
		if r.status != 415 || !strings.Contains(scalarText(r.body["error_text"]), enc) {
			t.Errorf("Content-Encoding %s: %d %s", enc, r.status, r.raw)
		}
	}
	if after, _ := e.store.Digest(ctx); after != before {
		t.Error("a refused body changed the store")
	}
}

// TestBodiesThatAreNeitherJSONNorXML: a real form body, or any other
// body without a JSON or XML type, is a 415 naming the formats and the
// headers to send; JSON sent as curl -d sends it still works.
func TestBodiesThatAreNeitherJSONNorXML(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", "token=" + writeToken + "&rel_id=3&profile_id=" + profileA},
		{"", "token=" + writeToken},
		{"text/plain", "hello"},
		{"multipart/form-data; boundary=x", "--x\r\n"},
		{"application/octet-stream", "{}"},
	} {
		r := e.do(mustRequest(t, e.url+Prefix+"relations/get_counter", c.ctype, c.body))
		text := scalarText(r.body["error_text"])
		if r.status != 415 || !strings.Contains(text, "application/json") || !strings.Contains(text, "application/xml") {
			t.Errorf("%q body %q: %d %s", c.ctype, c.body, r.status, r.raw)
		}
	}
	// curl -d '{...}' sends JSON as a form: that keeps working.
	e.want(e.do(mustRequest(t, e.url+Prefix+"relations/get_counter", "application/x-www-form-urlencoded", counterBody)), 0)
}

// TestRawDeflate: some clients send Content-Encoding: deflate as raw
// deflate rather than HTTP's zlib format; both decode.
func TestRawDeflate(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write([]byte(counterBody))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.url+Prefix+"relations/get_counter", bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "deflate")
	e.want(e.do(req), 0)
}

// The Content-Types read without parsing are read as their parse reads
// them: each, and each with parameters or in another case (which take
// the parse), gives the same format, for a JSON and an XML body.
func TestContentTypesReadAlike(t *testing.T) {
	for _, ct := range []string{"application/json", "application/xml", "text/xml"} {
		for _, body := range []string{`{"a":1}`, `<a>1</a>`} {
			fast, fastErr := contentFormat(ct, []byte(body))
			for _, parsed := range []string{ct + "; charset=utf-8", strings.ToUpper(ct), ct + " "} {
				slow, slowErr := contentFormat(parsed, []byte(body))
				if fast != slow || (fastErr == nil) != (slowErr == nil) {
					t.Errorf("%q: %v %v; %q: %v %v", ct, fast, fastErr, parsed, slow, slowErr)
				}
			}
		}
	}
}
