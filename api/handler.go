// Package api serves relgraph over HTTP in the wire format of the
// customer-data platform's API (docs/spec.md §6): POST /api/v1.1/relations/...
// and /api/v1.1/profiles/..., JSON or XML bodies, token auth, and an
// envelope {"error": code, "error_text": text, ...payload}.
//
// New returns a plain net/http handler that Go programs can mount on
// their own server. Decisions where the platform's pages are silent:
//   - Unknown parameters are refused (400) by name, at every level, so a
//     misspelt key never goes unnoticed.
//   - The response format is the request's, unless the query parameter
//     or body key "format" says json or xml.
//   - The Content-Type must be JSON (application/json) or XML
//     (application/xml, text/xml); without one, or with curl's default
//     application/x-www-form-urlencoded or text/plain, the body's first
//     byte decides ('<' for XML, '{' or '[' for JSON). Any other body or
//     type is a 415 that names the accepted formats and their headers.
//   - Bodies may be compressed (Content-Encoding gzip or deflate); the
//     body limit applies to the decoded size, and a body that expands
//     more than MaxExpansion times is a 413. Other encodings are a 415.
//   - Paths are answered as clients mean them: "//" as "/", a trailing
//     slash dropped, never with a redirect.
//   - A request-level "matching", "field_name" and "resource_id" are
//     the default of each side (profile_a, profile_b) that does not set
//     them.
//   - 500 answers say "internal error" only; the cause is logged. Tokens
//     and bodies are never logged.
package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/relgraph/relgraph"
)

// Role is what a token may do.
type Role int

// Roles: read tokens may call the reads (relations/get,
// relations/get_counter, profiles/get, profiles/list,
// subscriptions/get, databases/list, databases/get,
// databases/fields_get, relgraph's own relations/reverse and admin
// GETs); write tokens may call everything.
const (
	RoleRead Role = iota + 1
	RoleWrite
)

// ParseRole parses "read" or "write".
func ParseRole(s string) (Role, error) {
	switch s {
	case "read":
		return RoleRead, nil
	case "write":
		return RoleWrite, nil
	}
	return 0, errors.New(`role must be "read" or "write", not "` + s + `"`)
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 10 << 20
	DefaultBodyMemory   = 64 << 20
	DefaultBusyWait     = 2 * time.Second
	DefaultMaxValues    = 1 << 19
)

// Config configures the handler.
type Config struct {
	// Tokens maps each accepted token to its role.
	Tokens map[string]Role
	// MaxBodyBytes limits request bodies (413 beyond). Default 10 MiB.
	MaxBodyBytes int64
	// BodyMemory bounds the bytes of request bodies held at once,
	// counted as they arrive, a chunk at a time once the client has
	// sent a byte beyond what it holds (4 KiB first, doubling up to
	// BodyMemory/64 within 4 to 64 KiB; decoded bytes for a compressed
	// body), so an idle or slow client holds little more than it has
	// sent. It counts body bytes, not the process's memory: reading a
	// body grows its buffer ahead of the bytes, and the garbage
	// collector keeps headroom, so peak memory can reach a few times
	// BodyMemory (BenchmarkHostileBodies in cmd/relgraph measures it). When it is spent, one request at a
	// time may read on past it, up to MaxBodyBytes, so that requests
	// holding parts of it cannot starve each other; others wait. A
	// request that finds no room within BusyWait is answered 503 with
	// Retry-After. Default 64 MiB.
	BodyMemory int64
	// BusyWait is how long a request waits for room to read its body or
	// for a decoder. Default 2s.
	BusyWait time.Duration
	// MaxValues bounds the values (objects, lists, scalars) of a decoded
	// body (400 beyond), so that a small body of empty objects cannot
	// decode into a large tree. Default 524,288: an import_batch of
	// 10,000 profiles with a few dozen values each.
	MaxValues int
	// Logger receives one line per request and every internal error.
	// Default slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called once per request when its answer is
	// written: the endpoint (its name under Prefix, such as
	// "relations/edit", or "healthz", "admin/backup", "unknown": a
	// bounded set, fit for a metric's label), the status, the time
	// taken. It must be safe for concurrent use.
	Observe func(endpoint string, status int, elapsed time.Duration)
	// MaxFeedClients bounds the change streams (ChangesPath) open at
	// once; more are answered 503. Default DefaultMaxFeedClients.
	MaxFeedClients int
	// FeedIdle ends a following change stream after this long without
	// a change (the client resumes). Default DefaultFeedIdle.
	FeedIdle time.Duration
	// FeedStall is how long one write of a change stream may take before
	// the connection is cut: a client that stops reading is let go.
	// Default DefaultFeedStall.
	FeedStall time.Duration
	// Done, when closed, ends every open change stream: a server closes
	// it as it shuts down (http.Server.RegisterOnShutdown), since
	// Shutdown waits for the requests under way.
	Done <-chan struct{}
}

// Prefix is the path prefix of every API endpoint.
const Prefix = "/api/v1.1/"

type endpoint struct {
	role Role
	fn   func(h *handler, ctx context.Context, p *params) (map[string]any, error)
}

var endpoints = map[string]endpoint{
	"relations/attach":      {RoleWrite, (*handler).attach},
	"relations/detach":      {RoleWrite, (*handler).detach},
	"relations/strengthen":  {RoleWrite, (*handler).strengthen},
	"relations/edit":        {RoleWrite, (*handler).edit},
	"relations/get":         {RoleRead, (*handler).relationsGet},
	"relations/get_counter": {RoleRead, (*handler).getCounter},
	"profiles/import":       {RoleWrite, (*handler).profileImport},
	"profiles/update":       {RoleWrite, (*handler).profileUpdate},
	"profiles/import_batch": {RoleWrite, (*handler).profileImportBatch},
	"profiles/get":          {RoleRead, (*handler).profileGet},
	"profiles/delete":       {RoleWrite, (*handler).profileDelete},
	"profiles/list":         {RoleRead, (*handler).profilesList},
	"subscriptions/get":     {RoleRead, (*handler).subscriptionsGet},
	"databases/list":        {RoleRead, (*handler).databasesList},
	"databases/get":         {RoleRead, (*handler).databasesGet},
	"databases/fields_get":  {RoleRead, (*handler).databaseFields},
}

type handler struct {
	store  *relgraph.Store
	cfg    Config
	tokens []tokenRole
	log    *slog.Logger
	limits *limits
	// feedSlots holds a token per open change stream.
	feedSlots chan struct{}
}

type tokenRole struct {
	token []byte
	role  Role
}

// New returns the API handler over store. Every write goes through the
// store's group commit, so concurrent requests share commits.
func New(store *relgraph.Store, cfg Config) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.BodyMemory <= 0 {
		cfg.BodyMemory = DefaultBodyMemory
	}
	cfg.BodyMemory = max(cfg.BodyMemory, cfg.MaxBodyBytes) // room for one body of the limit
	if cfg.BusyWait <= 0 {
		cfg.BusyWait = DefaultBusyWait
	}
	if cfg.MaxValues <= 0 {
		cfg.MaxValues = DefaultMaxValues
	}
	if cfg.MaxFeedClients <= 0 {
		cfg.MaxFeedClients = DefaultMaxFeedClients
	}
	if cfg.FeedStall <= 0 {
		cfg.FeedStall = DefaultFeedStall
	}
	if cfg.FeedIdle <= 0 {
		cfg.FeedIdle = DefaultFeedIdle
	}
	h := &handler{store: store, cfg: cfg, log: cfg.Logger, limits: newLimits(cfg.BodyMemory, cfg.BusyWait),
		feedSlots: make(chan struct{}, cfg.MaxFeedClients)}
	if h.log == nil {
		h.log = slog.Default()
	}
	for t, r := range cfg.Tokens {
		h.tokens = append(h.tokens, tokenRole{[]byte(t), r})
	}
	return h
}

// apiError is an error answer: its code and text.
type apiError struct {
	code int
	text string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	format := JSON
	status := 200
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // an answer under way is cut: the server closes the connection
			}
			h.log.Error("handler panic", "path", r.URL.Path, "panic", p)
			status = 500
			h.writeEnvelope(w, format, 500, map[string]any{"error": 500, "error_text": "internal error"})
		}
		elapsed := time.Since(start)
		// Typed attributes: the same line as Info's key-value pairs,
		// without boxing each value on every request.
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Duration("duration", elapsed))
		if h.cfg.Observe != nil {
			h.cfg.Observe(endpointLabel(r.URL.Path), status, elapsed)
		}
	}()
	switch p := cleanPath(r.URL.Path); {
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
		return
	case isAdmin(p):
		status = h.admin(w, r, p)
		return
	case p == ChangesPath:
		status = h.changes(w, r)
		return
	}
	var out map[string]any
	format, out, status = h.serve(w, r)
	if _, streams := out[streamKey].(*relationStream); streams && status == 200 {
		status = h.writeStream(r.Context(), w, format, out)
		return
	}
	status = h.writeEnvelope(w, format, status, out)
}

// lookupEndpoint finds the endpoint of a cleaned path: the platform's
// under Prefix, relgraph's own under OwnPrefix.
func lookupEndpoint(p string) (endpoint, bool) {
	if name, ok := strings.CutPrefix(p, Prefix); ok {
		ep, known := endpoints[name]
		return ep, known
	}
	if name, ok := strings.CutPrefix(p, OwnPrefix); ok {
		ep, known := ownEndpoints[name]
		return ep, known
	}
	return endpoint{}, false
}

// endpointLabel names a request's endpoint from a bounded set.
func endpointLabel(path string) string {
	p := cleanPath(path)
	if p == "/healthz" {
		return "healthz"
	}
	if label, ok := adminLabels[p]; ok {
		return label
	}
	if p == ChangesPath {
		return "relgraph/changes"
	}
	if _, known := lookupEndpoint(p); known {
		if name, ok := strings.CutPrefix(p, Prefix); ok {
			return name
		}
		return "relgraph/" + strings.TrimPrefix(p, OwnPrefix)
	}
	return "unknown"
}

// serve handles one API request and returns the response format, body
// and HTTP status.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) (Format, map[string]any, int) {
	format := requestFormat(r)
	fail := func(code int, text string) (Format, map[string]any, int) {
		return format, map[string]any{"error": code, "error_text": text}, code
	}
	ep, known := lookupEndpoint(cleanPath(r.URL.Path))
	if !known {
		return fail(404, "unknown endpoint "+truncate(r.URL.Path))
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(405, "method "+r.Method+" not allowed: use POST")
	}
	// Refused before its body is read, a request's connection is closed
	// after the answer: the server would otherwise read the body first.
	refuse := func(code int, text string) (Format, map[string]any, int) {
		w.Header().Set("Connection", "close")
		return fail(code, text)
	}
	// A token in the header (or, as the platform allows, the URL) is
	// checked before the body is read.
	headerToken := bearerToken(r.Header.Get("Authorization"))
	if headerToken == "" {
		headerToken = queryValue(r, "token")
	}
	if headerToken != "" {
		if e := h.authorize(headerToken, ep.role); e != nil {
			return refuse(e.code, e.text)
		}
	}
	encoding, err := bodyEncoding(r)
	if err != nil {
		return refuse(415, err.Error())
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return refuse(413, "body larger than the limit of "+strconv.FormatInt(h.cfg.MaxBodyBytes, 10)+" bytes")
	}
	budget := &budgeted{l: h.limits, ctx: r.Context()}
	defer budget.release()
	body, err := readBody(w, r, encoding, h.cfg.MaxBodyBytes, budget)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return refuse(413, "body larger than the limit of "+strconv.FormatInt(h.cfg.MaxBodyBytes, 10)+" bytes")
		case errors.Is(err, errExpansion):
			return refuse(413, err.Error())
		case errors.Is(err, errBusyBody):
			w.Header().Set("Retry-After", "1")
			return refuse(errBusy.code, errBusy.text)
		}
		return fail(400, "reading the body: "+err.Error())
	}
	bodyFormat, err := contentFormat(r.Header.Get("Content-Type"), body)
	if err != nil {
		return fail(415, err.Error())
	}
	urlFormat := queryValue(r, "format")
	if urlFormat == "" {
		format = bodyFormat
	} else if _, ok := formatNamed(urlFormat); !ok {
		return fail(400, `parameter format (in the URL): expected "json" or "xml", not `+strconv.Quote(truncate(urlFormat)))
	}
	if !utf8.Valid(body) {
		return fail(400, errBadBody.Error()+": body is not valid UTF-8")
	}
	// The body's token is found by a scan that builds nothing; only an
	// authorized request is decoded.
	var bodyToken string
	var values int
	if bodyFormat == XML {
		bodyToken, values, err = scanXML(body)
	} else {
		bodyToken, values, err = scanJSON(body)
	}
	if err != nil {
		return fail(400, err.Error())
	}
	if headerToken == "" || bodyToken != "" {
		if e := h.authorize(bodyToken, ep.role); e != nil {
			return fail(e.code, e.text)
		}
	}
	if values > h.cfg.MaxValues {
		return fail(400, fmt.Sprintf("%v: more than %d values", errBadBody, h.cfg.MaxValues))
	}
	if e := h.limits.startDecode(r.Context()); e != nil {
		return fail(e.code, e.text)
	}
	var tree map[string]any
	if bodyFormat == XML {
		tree, err = decodeXML(body, h.cfg.MaxValues)
	} else {
		tree, err = decodeScannedJSON(body)
	}
	h.limits.endDecode()
	if err != nil {
		return fail(400, err.Error())
	}
	p := newParams("", tree)
	p.xml = bodyFormat == XML
	p.get("token") // authorized above
	if f, _ := p.str("format"); f != "" {
		named, ok := formatNamed(f)
		if !ok {
			return fail(400, `parameter format: expected "json" or "xml", not `+strconv.Quote(truncate(f)))
		}
		if urlFormat == "" {
			format = named
		}
	}
	p.answer = format
	out, err := ep.fn(h, r.Context(), p)
	if err != nil {
		code := statusOf(err)
		if code == 500 {
			h.log.Error("internal error", "path", r.URL.Path, "error", err)
			return fail(500, "internal error")
		}
		return fail(code, err.Error())
	}
	out["error"] = 0
	if _, set := out["error_text"]; !set {
		out["error_text"] = ""
	}
	return format, out, 200
}

// authorize checks the token in constant time against every configured
// token.
func (h *handler) authorize(token string, need Role) *apiError {
	if token == "" {
		return &apiError{401, "token missing: send it as the token parameter or an Authorization: Bearer header"}
	}
	var role Role
	for _, t := range h.tokens {
		if subtle.ConstantTimeCompare(t.token, []byte(token)) == 1 {
			role = t.role
		}
	}
	switch {
	case role == 0:
		return &apiError{403, "token invalid"}
	case role < need:
		return &apiError{403, "token not allowed: this endpoint needs a write token"}
	}
	return nil
}

// bearerToken is the token of an Authorization header of the Bearer
// scheme (its name in any case); another scheme carries none.
func bearerToken(header string) string {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// formatNamed reads a format parameter: json or xml, in any case.
func formatNamed(s string) (Format, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "json":
		return JSON, true
	case "xml":
		return XML, true
	}
	return JSON, false
}

// queryValue is the URL's parameter name, or "": a URL without a query
// is not parsed (an empty map each time).
func queryValue(r *http.Request, name string) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get(name)
}

func requestFormat(r *http.Request) Format {
	if f, ok := formatNamed(queryValue(r, "format")); ok {
		return f
	}
	if f, err := contentFormat(r.Header.Get("Content-Type"), nil); err == nil {
		return f
	}
	return JSON
}

// contentFormat is the body's format by its Content-Type. Without one,
// and with the types clients send by default (curl -d sends
// application/x-www-form-urlencoded; some send text/plain), the body
// decides: JSON starts with '{' or '[', XML with '<'. Anything else,
// such as a real form body, is refused naming what is accepted.
func contentFormat(contentType string, body []byte) (Format, error) {
	switch contentType { // what clients send, without parsing it
	case "application/json":
		return JSON, nil
	case "application/xml", "text/xml":
		return XML, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		trimmed := strings.TrimLeft(string(body[:min(len(body), 64)]), " \t\r\n\ufeff")
		switch {
		case strings.HasPrefix(trimmed, "<"):
			return XML, nil
		case strings.HasPrefix(trimmed, "{"), strings.HasPrefix(trimmed, "["), body == nil:
			return JSON, nil
		}
		what := "a body of type " + truncate(mt)
		if contentType == "" {
			what = "a body without a Content-Type"
		}
		return JSON, errors.New(what + " that is neither JSON nor XML: send a JSON object with Content-Type: application/json, or XML with Content-Type: application/xml")
	}
	if err != nil {
		return JSON, errors.New("malformed Content-Type " + truncate(contentType) + ": use application/json or application/xml")
	}
	switch mt {
	case "application/json":
		return JSON, nil
	case "application/xml", "text/xml":
		return XML, nil
	}
	return JSON, errors.New("unsupported Content-Type " + truncate(mt) + ": use application/json or application/xml")
}

// The Content-Type values of the answers (writeEnvelope).
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	xmlContentType  = []string{"application/xml; charset=utf-8"}
)

// cleanPath is the request path as clients mean it: runs of slashes as
// one (a base URL ending in "/" joined with "/relations/..."), without a
// trailing slash, and dot segments resolved. The handler answers the
// cleaned path itself, never with a redirect: clients do not follow
// redirects of a POST, or send the body twice.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	return path.Clean(p)
}

// envelopes pools the buffers answers are encoded into; one that grew
// past maxPooledEnvelope (a large page) is left to the collector.
var envelopes = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledEnvelope = 1 << 20

// writeEnvelope encodes the answer, then sends it with its status. An
// answer that cannot be encoded is logged and sent as a 500. It returns
// the status sent.
//
// The Content-Type's value is shared by every answer (Header.Set would
// allocate it each time): nothing changes a header value in place, and
// an Add appends to a full slice, which copies it.
func (h *handler) writeEnvelope(w http.ResponseWriter, f Format, status int, body map[string]any) int {
	buf := envelopes.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledEnvelope {
			buf.Reset()
			envelopes.Put(buf)
		}
	}()
	encode, contentType := encodeJSON, jsonContentType
	if f == XML {
		encode, contentType = encodeXML, xmlContentType
	}
	w.Header()["Content-Type"] = contentType
	if err := encode(buf, body); err != nil {
		h.log.Error("encoding the answer", "error", err)
		buf.Reset()
		status = 500
		encode(buf, map[string]any{"error": 500, "error_text": "internal error"})
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return status
}
