package api

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/kv"
	"github.com/relgraph/relgraph/kv/bolt"
	"github.com/relgraph/relgraph/kv/wal"
)

// ctx is the context of the tests' direct store calls.
var ctx = context.Background()

const (
	writeToken = "abcdefghijklmnqrstuvwxyz"
	docToken2  = "8d08f4ea57c74916909e9d324c20a6bc"
	docToken3  = "8a28168486844c8bae2673a51d4433ff"
	readToken  = "read-only-token"
	profileA   = "5d63dbdb439e7306b596c5d0"
	profileB   = "5d441038439e7363f3c26539"
)

type env struct {
	t      testing.TB
	store  *relgraph.Store
	engine kv.Engine // beneath the store, to plant damage as a disk fault would
	url    string
}

// newEnv serves the handler on a real listener on 127.0.0.1 over a store
// with the README's example set-up.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// openEngine opens the engine the tests' stores run on: the one
// relgraph.Open gives a store file (bbolt behind its log, synced, its
// commits asynchronous), opened here so that tests can reach beneath
// the store. TestWireOnPlainBbolt runs some tests on plain bbolt too.
var openEngine = func(path string) (kv.Engine, error) {
	return wal.Open(path, index.All, kv.Options{}, wal.Config{})
}

// newEnvWith is newEnv with a change to the handler's config.
func newEnvWith(t testing.TB, change func(*Config)) *env {
	t.Helper()
	engine, err := openEngine(filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := relgraph.OpenEngine(engine, &relgraph.Options{StrictMode: true})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags}, {Name: "vip", Type: relgraph.FieldBool}}}))
	must(s.PutDatabase(ctx, relgraph.Database{ID: 2, Fields: []relgraph.Field{{Name: "nickname", Type: relgraph.FieldString}}}))
	must(s.PutDatabase(ctx, relgraph.Database{ID: 9}))
	must(s.PutRelationType(ctx, relgraph.RelationType{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "user_like", Type: relgraph.PropInt, Aggregate: relgraph.AggSum},
		{Name: "donate", Type: relgraph.PropInt, Aggregate: relgraph.AggTop, Top: 10},
		{Name: "is_online", Type: relgraph.PropBool, Aggregate: relgraph.AggCount},
	}}))
	must(s.PutRelationType(ctx, relgraph.RelationType{ID: 2, DatabaseA: 1, DatabaseB: 9, Properties: []relgraph.Property{{Name: "exr", Type: relgraph.PropInt}}}))
	for _, p := range []struct {
		db uint32
		id string
	}{{1, profileA}, {2, profileB}, {1, "669e6968ebf4ac52b623a997"}, {9, "6751b8f1c5e3db9bcb75befa"}} {
		id, err := relgraph.ParseProfileID(p.id)
		must(err)
		_, err = s.RestoreProfile(ctx, p.db, id, relgraph.ProfileData{})
		must(err)
	}
	_, err = s.Attach(ctx, relgraph.RelationRequest{RelationType: 2, A: relgraph.Locator{ProfileID: "669e6968ebf4ac52b623a997"},
		B: relgraph.Locator{ProfileID: "6751b8f1c5e3db9bcb75befa"}, Weights: map[string]any{"exr": 11323123}})
	must(err)
	cfg := Config{
		Tokens:       map[string]Role{writeToken: RoleWrite, docToken2: RoleWrite, docToken3: RoleWrite, readToken: RoleRead},
		MaxBodyBytes: 1 << 20,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if change != nil {
		change(&cfg)
	}
	h := New(s, cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if problems, err := s.Check(ctx); err != nil || len(problems) > 0 {
			t.Errorf("check: %v %v", problems, err)
		}
		s.Close()
	})
	return &env{t: t, store: s, engine: engine, url: srv.URL}
}

type response struct {
	status int
	ctype  string
	raw    []byte
	body   map[string]any // decoded JSON, or XML as a tree
}

func (e *env) post(endpoint, contentType, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+Prefix+endpoint, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), raw: raw}
	if strings.HasPrefix(r.ctype, "application/xml") {
		r.body, err = decodeXML(raw, DefaultMaxValues)
	} else {
		r.body, err = decodeJSON(raw)
	}
	if err != nil {
		e.t.Fatalf("answer does not decode: %v\n%s", err, raw)
	}
	return r
}

func (e *env) postJSON(endpoint string, body map[string]any) response {
	e.t.Helper()
	if _, set := body["token"]; !set {
		body["token"] = writeToken
	}
	b, _ := json.Marshal(body)
	return e.post(endpoint, "application/json", string(b))
}

func (r response) code() string { return scalarText(r.body["error"]) }

func (e *env) want(r response, code int) {
	e.t.Helper()
	if r.status != max(code, 200) || r.code() != itoa(code) {
		e.t.Fatalf("status %d, error %v, want %d: %s", r.status, r.body["error"], code, r.raw)
	}
	if _, ok := r.body["error_text"]; !ok {
		e.t.Fatalf("no error_text in %s", r.raw)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (e *env) digest() string {
	e.t.Helper()
	d, err := e.store.Digest(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func example(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocumentedExamples sends the platform documentation's requests
// byte for byte and compares the answers with its documented answers.
func TestDocumentedExamples(t *testing.T) {
	e := newEnv(t)
	sameAs := func(r response, file string) {
		t.Helper()
		var want map[string]any
		if strings.HasSuffix(file, ".xml") {
			var err error
			if want, err = decodeXML([]byte(example(t, file)), DefaultMaxValues); err != nil {
				t.Fatal(err)
			}
		} else {
			dec := json.NewDecoder(strings.NewReader(example(t, file)))
			dec.UseNumber()
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
		}
		got := normalizeXXH(r.body)
		for k, v := range want {
			if !equalTrees(got[k], normalizeXXH(map[string]any{"x": v})["x"]) {
				t.Fatalf("%s: key %q is %v, documented %v\nanswer: %s", file, k, got[k], v, r.raw)
			}
		}
	}
	r := e.post("relations/get_counter", "application/json", example(t, "get_counter.request.json"))
	e.want(r, 0)
	sameAs(r, "get_counter_empty.response.json")

	r = e.post("relations/edit", "application/json", example(t, "edit.request.json"))
	e.want(r, 0)
	sameAs(r, "edit.response.json")
	if r.body["created"] != true {
		t.Fatalf("edit did not create: %s", r.raw)
	}
	r = e.post("relations/edit", "application/xml", example(t, "edit.request.xml"))
	e.want(r, 0)
	sameAs(r, "edit.response.xml")

	r = e.post("relations/get_counter", "application/json", example(t, "get_counter.request.json"))
	e.want(r, 0)
	sameAs(r, "get_counter.response.json")
	r = e.post("relations/get_counter", "application/json", example(t, "get_counter_matching.request.json"))
	e.want(r, 0)
	sameAs(r, "get_counter.response.json")

	r = e.post("relations/get", "application/json", example(t, "get.request.json"))
	e.want(r, 0)
	sameAs(r, "get.response.json")
	r = e.post("relations/get", "application/xml", example(t, "get.request.xml"))
	e.want(r, 0)
	if items := asList(r.body["data"]); len(items) != 1 || items[0].(map[string]any)["db_b"] != "9" {
		t.Fatalf("XML get: %s", r.raw)
	}

	r = e.post("relations/strengthen", "application/json", example(t, "strengthen.request.json"))
	e.want(r, 0)
	c, err := e.store.Counter(ctx, 3, relgraph.Locator{ProfileID: profileA})
	if err != nil || c.Props["user_like"].Sum != int64(0) || c.Props["donate"].Top[0].Value != int64(0) {
		t.Fatalf("after strengthen: %+v %v", c, err)
	}
	r = e.post("relations/detach", "application/json", example(t, "detach.request.json"))
	e.want(r, 0)
	sameAs(r, "detach.response.json")
	r = e.post("relations/detach", "application/json", example(t, "detach.request.json"))
	e.want(r, 404)
}

// asList reads an XML answer's list as the platform writes it: one
// element per item, so one item reads as that item.
func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// normalizeXXH replaces each 16-hex xxh value by the placeholder of the
// documented answers after checking it is the right hash.
func normalizeXXH(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			out[k] = normalizeXXH(x)
		case []any:
			l := make([]any, len(x))
			for i, item := range x {
				if im, ok := item.(map[string]any); ok {
					l[i] = normalizeXXH(im)
				} else {
					l[i] = item
				}
			}
			out[k] = l
		default:
			if strings.HasPrefix(k, "xxh") || k == "profile_xxh" {
				idKey := map[string]string{"xxh_a": "profile_id_a", "xxh_b": "profile_id_b", "profile_xxh": "profile_id"}[k]
				if id, err := relgraph.ParseProfileID(scalarText(m[idKey])); err == nil && XXH(id) == v {
					v = "<16 hex digits>"
				}
			}
			out[k] = v
		}
	}
	return out
}

// equalTrees compares decoded values as text, so JSON numbers, XML text
// and Go numbers compare by what they say.
func equalTrees(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalTrees(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalTrees(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	}
	return scalarText(a) == scalarText(b)
}

func TestEveryEndpointInJSONAndXML(t *testing.T) {
	e := newEnv(t)
	// profiles/import, JSON then XML.
	r := e.postJSON("profiles/import", map[string]any{"db_id": 1, "email": "Ann@X.io", "data": map[string]any{
		"phones": []any{"+1 555 000 0001"}, "CRM_ID": 42, "interests": "a, b",
		"subscriptions": []any{map[string]any{"resource_id": 7, "channel": "email", "email": "ann@x.io", "status": "subscribed"}},
	}})
	e.want(r, 0)
	ann := r.body["profile_id"].(string)
	if r.body["created"] != true {
		t.Fatalf("import: %s", r.raw)
	}
	r = e.post("profiles/import", "application/xml", `<xml><token>`+writeToken+`</token><db_id>1</db_id><matching>custom</matching>
		<field_name>CRM_ID</field_name><field_value>7</field_value>
		<data><email>bob@x.io</email><vip>true</vip><phones array='true'>+1 555 000 0002</phones>
		<interests><item>b</item><item>c</item></interests></data></xml>`)
	e.want(r, 0)
	bob := r.body["profile_id"]
	p, err := e.store.GetProfile(ctx, 1, relgraph.Locator{Email: "bob@x.io"})
	if err != nil || p.ID.String() != bob || p.Fields["CRM_ID"] != int64(7) || p.Fields["vip"] != true || p.Phones[0] != "+15550000002" {
		t.Fatalf("XML import stored %+v %v", p, err)
	}
	// profiles/update, and get in both formats.
	r = e.postJSON("profiles/update", map[string]any{"db_id": 1, "profile_id": ann, "data": map[string]any{"CRM_ID": nil, "email": nil}})
	e.want(r, 0)
	r = e.postJSON("profiles/get", map[string]any{"token": readToken, "db_id": 1, "phone": "+1 (555) 000-0001"})
	e.want(r, 0)
	data := r.body["data"].(map[string]any)
	if data["id"] != ann || data["email"] != nil || data["CRM_ID"] != nil || len(data["subscriptions"].([]any)) != 1 {
		t.Fatalf("get after update: %s", r.raw)
	}
	r = e.post("profiles/get", "application/xml", `<xml><token>`+readToken+`</token><db_id>1</db_id><matching>custom</matching><field_name>interests</field_name><field_value>b, c</field_value></xml>`)
	e.want(r, 0)
	if r.body["data"].(map[string]any)["id"] != bob {
		t.Fatalf("XML get: %s", r.raw)
	}
	// import_batch: one good, one duplicate email, one bad field.
	r = e.postJSON("profiles/import_batch", map[string]any{"db_id": 2, "data": []any{
		map[string]any{"email": "s1@x.io", "nickname": "one"},
		map[string]any{"email": "s1@x.io", "nickname": "one"}, // the same profile, by its email
		map[string]any{"shoe": 1},
	}})
	e.want(r, 0)
	items := r.body["result"].([]any)
	codes := []string{}
	for _, it := range items {
		codes = append(codes, scalarText(it.(map[string]any)["error"]))
	}
	if strings.Join(codes, ",") != "0,0,400" {
		t.Fatalf("import_batch codes %v: %s", codes, r.raw)
	}
	// relations in XML: attach, strengthen, edit, get, get_counter, detach.
	xmlReq := func(endpoint, inner string) response {
		return e.post(endpoint, "application/xml", `<xml><token>`+writeToken+`</token><rel_id>3</rel_id>`+inner+`</xml>`)
	}
	sides := `<matching>email</matching><profile_a><email>bob@x.io</email></profile_a><profile_b><matching>custom</matching><field_name>nickname</field_name><field_value>one</field_value></profile_b>`
	e.want(xmlReq("relations/attach", sides+`<weights><is_online>true</is_online></weights>`), 0)
	e.want(xmlReq("relations/strengthen", sides+`<weights><user_like>5</user_like></weights>`), 0)
	e.want(xmlReq("relations/edit", sides+`<weights><donate>9</donate><is_online nil="true"/></weights>`), 0)
	r = xmlReq("relations/get", `<email>bob@x.io</email><limit>10</limit>`)
	e.want(r, 0)
	props := asList(r.body["data"])[0].(map[string]any)["props"].(map[string]any)
	if len(props) != 2 || props["user_like"].(map[string]any)["value"] != "5" || props["donate"].(map[string]any)["value"] != "9" {
		t.Fatalf("XML relations/get: %s", r.raw)
	}
	r = xmlReq("relations/get_counter", `<email>bob@x.io</email>`)
	e.want(r, 0)
	if !strings.Contains(string(r.raw), `<top nil="true"/>`) || !strings.Contains(string(r.raw), "<sum>5</sum>") {
		t.Fatalf("XML get_counter: %s", r.raw)
	}
	r = e.post("relations/get_counter?format=json", "application/xml", `<xml><token>`+writeToken+`</token><rel_id>3</rel_id><email>bob@x.io</email></xml>`)
	if !strings.HasPrefix(r.ctype, "application/json") {
		t.Fatalf("format=json answered %s", r.ctype)
	}
	e.want(xmlReq("relations/detach", sides), 0)
	// profiles/delete cascades.
	e.want(e.postJSON("relations/attach", map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": ann}, "profile_b": map[string]any{"profile_id": profileB}}), 0)
	r = e.postJSON("profiles/delete", map[string]any{"db_id": 2, "profile_id": profileB})
	e.want(r, 0)
	c, err := e.store.Counter(ctx, 3, relgraph.Locator{ProfileID: ann})
	if err != nil || c.Total != 0 {
		t.Fatalf("after cascade: %+v %v", c, err)
	}
}

// TestEveryErrorCodeChangesNothing provokes each code of docs/spec.md §6 over
// HTTP and checks the store's digest did not move.
func TestEveryErrorCodeChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.want(e.postJSON("relations/edit", map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": profileA}, "profile_b": map[string]any{"profile_id": profileB}, "weights": map[string]any{"user_like": 1}}), 0)
	for _, email := range []string{"a@x.io", "b@x.io"} {
		e.want(e.postJSON("profiles/import", map[string]any{"db_id": 1, "data": map[string]any{"email": email, "phones": []any{"+15550000009"}}}), 0)
	}
	edit := func(extra map[string]any) string {
		m := map[string]any{"token": writeToken, "rel_id": 3, "profile_a": map[string]any{"profile_id": profileA}, "profile_b": map[string]any{"profile_id": profileB}, "weights": map[string]any{"user_like": 2}}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	before := e.digest()
	cases := []struct {
		name, endpoint, ctype, body string
		code                        int
		text                        string
	}{
		{"malformed JSON", "relations/edit", "application/json", `{"rel_id": 3,`, 400, "malformed body"},
		{"malformed XML", "relations/edit", "application/xml", `<xml><rel_id>3</xml>`, 400, "malformed body"},
		{"wrong root", "relations/edit", "application/xml", `<req><rel_id>3</rel_id></req>`, 400, "<xml>"},
		{"not an object", "relations/edit", "application/json", `[1,2]`, 400, "JSON object"},
		{"wrong type", "relations/edit", "application/json", edit(map[string]any{"rel_id": "three"}), 400, "rel_id"},
		{"wrong weight type", "relations/edit", "application/json", edit(map[string]any{"weights": map[string]any{"user_like": "x"}}), 400, "user_like"},
		{"unknown parameter", "relations/edit", "application/json", edit(map[string]any{"weight": 1}), 400, "unknown parameter weight"},
		{"unknown side key", "relations/edit", "application/json", edit(map[string]any{"profile_a": map[string]any{"profile_id": profileA, "mail": "x"}}), 400, "profile_a.mail"},
		{"unknown matching", "relations/edit", "application/json", edit(map[string]any{"matching": "fax"}), 400, "fax"},
		{"huge number", "relations/edit", "application/json", edit(map[string]any{"weights": map[string]any{"user_like": json.Number("1" + strings.Repeat("0", 400))}}), 400, "user_like"},
		{"deep nesting", "relations/edit", "application/json", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), 400, "nested"},
		{"deep XML", "relations/edit", "application/xml", "<xml>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</xml>", 400, "nested"},
		{"invalid UTF-8", "relations/edit", "application/json", "{\"token\":\"\xff\"}", 400, "UTF-8"},
		{"bad content type", "relations/edit", "image/png", edit(nil), 415, "Content-Type"},
		{"missing token", "relations/edit", "application/json", edit(map[string]any{"token": nil}), 401, "token missing"},
		{"wrong token", "relations/edit", "application/json", edit(map[string]any{"token": "nope"}), 403, "invalid"},
		{"read token on write", "relations/edit", "application/json", edit(map[string]any{"token": readToken}), 403, "write token"},
		{"unknown relation type", "relations/edit", "application/json", edit(map[string]any{"rel_id": 77}), 404, "relation type 77"},
		{"unknown profile", "relations/edit", "application/json", edit(map[string]any{"profile_b": map[string]any{"profile_id": "5d441038439e7363f3c26530"}}), 404, "profile_b"},
		{"unknown endpoint", "relations/explode", "application/json", edit(nil), 404, "unknown endpoint"},
		{"ambiguous", "relations/edit", "application/json", edit(map[string]any{"profile_a": map[string]any{"phone": "+15550000009"}}), 409, "ambiguous"},
		{"duplicate email", "profiles/import", "application/json", `{"token":"` + writeToken + `","db_id":1,"matching":"profile_id","profile_id":"` + profileA + `","data":{"email":"a@x.io"}}`, 409, "already used"},
		{"too large", "relations/edit", "application/json", `{"pad":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "limit"},
	}
	for _, c := range cases {
		r := e.post(c.endpoint, c.ctype, c.body)
		if r.status != c.code || r.code() != itoa(c.code) || !strings.Contains(scalarText(r.body["error_text"]), c.text) {
			t.Errorf("%s: got %d %s, want %d containing %q", c.name, r.status, r.raw, c.code, c.text)
		}
		if e.digest() != before {
			t.Fatalf("%s changed the store", c.name)
		}
	}
	// 405: wrong method.
	req, _ := http.NewRequest(http.MethodGet, e.url+Prefix+"relations/edit", nil)
	r := e.do(req)
	if r.status != 405 || r.code() != "405" {
		t.Fatalf("GET: %s", r.raw)
	}
	// 500: a corrupt relation read; the answer says nothing internal.
	corruptRelation(t, e.engine)
	r = e.postJSON("relations/get", map[string]any{"rel_id": 3, "profile_id": profileA})
	if r.status != 500 || scalarText(r.body["error_text"]) != "internal error" {
		t.Fatalf("corrupt read: %s", r.raw)
	}
	// The server still answers.
	r = e.postJSON("relations/get_counter", map[string]any{"rel_id": 3, "profile_id": profileA})
	e.want(r, 0)
	repairRelation(t, e.engine)
}

// TestXMLShapes: the platform's XML: a repeated element or one marked
// array='true' is a list; <item> children are one too (relgraph's
// earlier form); answers write lists as repeated elements.
func TestXMLShapes(t *testing.T) {
	m, err := decodeXML([]byte(`<?xml version="1.0"?><xml><a>1</a><l><item>x</item></l><r><p>1</p><p>2</p></r><o><k>v</k></o><n nil="true"/><e></e>
		<phones array='true'>+79000000000</phones><none array="true"/><d array='true'><k>1</k></d><d array='true'><k>2</k></d></xml>`), DefaultMaxValues)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "1", "l": []any{"x"}, "r": map[string]any{"p": []any{"1", "2"}}, "o": map[string]any{"k": "v"}, "n": nil, "e": "",
		"phones": []any{"+79000000000"}, "none": []any{}, "d": []any{map[string]any{"k": "1"}, map[string]any{"k": "2"}}}
	if !equalTrees(m, want) {
		t.Fatalf("got %#v", m)
	}
	var buf bytes.Buffer
	sent := map[string]any{"a": []any{map[string]any{"b": "<&>"}, map[string]any{"b": "2"}}, "n": nil, "empty": []any{}, "one": []any{"x"}}
	if err := encodeXML(&buf, sent); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(any)); err != nil {
		t.Fatalf("encoded XML does not parse: %v\n%s", err, buf.Bytes())
	}
	for _, part := range []string{"<a>\n    <b>&lt;&amp;&gt;</b>\n  </a>\n  <a>", `<empty array="true"/>`, "<one>x</one>"} {
		if !strings.Contains(buf.String(), part) {
			t.Fatalf("encoded XML lacks %q:\n%s", part, buf.Bytes())
		}
	}
	back, err := decodeXML(buf.Bytes(), DefaultMaxValues)
	// A list of one reads back as its item: the platform's form cannot
	// tell them apart.
	if err != nil || !equalTrees(back, map[string]any{"a": []any{map[string]any{"b": "<&>"}, map[string]any{"b": "2"}}, "n": nil, "empty": []any{}, "one": "x"}) {
		t.Fatalf("round trip: %v %#v", err, back)
	}
	for _, bad := range []string{`<xml>`, `<xml>text<a/></xml>`, `<!DOCTYPE x><xml/>`, `<xml/><xml/>`} {
		if _, err := decodeXML([]byte(bad), DefaultMaxValues); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestHandlerPanicIsA500: a panicking endpoint answers a 500 envelope,
// is logged without the body or token, and the server goes on.
func TestHandlerPanicIsA500(t *testing.T) {
	endpoints["test/panic"] = endpoint{RoleRead, func(*handler, context.Context, *params) (map[string]any, error) { panic("boom") }}
	defer delete(endpoints, "test/panic")
	s, err := relgraph.Open(filepath.Join(t.TempDir(), "p.db"), &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logs syncBuffer
	srv := httptest.NewServer(New(s, Config{Tokens: map[string]Role{readToken: RoleRead}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer srv.Close()
	e := &env{t: t, store: s, url: srv.URL}
	r := e.post("test/panic", "application/json", `{"token":"`+readToken+`","secret":"body-text"}`)
	if r.status != 500 || r.code() != "500" || scalarText(r.body["error_text"]) != "internal error" {
		t.Fatalf("panic answered %d %s", r.status, r.raw)
	}
	logged := logs.String()
	if !strings.Contains(logged, "handler panic") || !strings.Contains(logged, "boom") {
		t.Fatalf("panic not logged:\n%s", logged)
	}
	if strings.Contains(logged, readToken) || strings.Contains(logged, "body-text") {
		t.Fatalf("token or body logged:\n%s", logged)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic: %v %v", resp, err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProfileEndpointsInXML covers profiles/update, import_batch and
// delete in XML (the other endpoints' XML is in the tests above).
func TestProfileEndpointsInXML(t *testing.T) {
	e := newEnv(t)
	x := func(endpoint, inner string) response {
		return e.post(endpoint, "application/xml", `<xml><token>`+writeToken+`</token>`+inner+`</xml>`)
	}
	r := x("profiles/import_batch", `<db_id>1</db_id><matching>email</matching>
		<data array='true'><email>a@x.io</email><CRM_ID>1</CRM_ID></data>
		<data array='true'><email>b@x.io</email><vip>maybe</vip></data>`)
	e.want(r, 0)
	items := asList(r.body["result"])
	if len(items) != 2 || scalarText(items[0].(map[string]any)["error"]) != "0" || scalarText(items[1].(map[string]any)["error"]) != "400" {
		t.Fatalf("XML import_batch: %s", r.raw)
	}
	id := scalarText(items[0].(map[string]any)["profile_id"])
	e.want(x("profiles/update", `<db_id>1</db_id><profile_id>`+id+`</profile_id><data><CRM_ID nil="true"/><phones><item>+1 555 000 0007</item></phones></data>`), 0)
	p, err := e.store.GetProfile(ctx, 1, relgraph.Locator{Phone: "+15550000007"})
	if err != nil || p.ID.String() != id || p.Fields["CRM_ID"] != nil {
		t.Fatalf("after XML update: %+v %v", p, err)
	}
	e.want(x("profiles/update", `<db_id>1</db_id><email>zz@x.io</email><data><vip>true</vip></data>`), 404)
	r = x("profiles/delete", `<db_id>1</db_id><phone>+1 555 000 0007</phone>`)
	e.want(r, 0)
	if scalarText(r.body["data"].(map[string]any)["profile_id"]) != id {
		t.Fatalf("XML delete: %s", r.raw)
	}
	e.want(x("profiles/delete", `<db_id>1</db_id><profile_id>`+id+`</profile_id>`), 404)
}

// TestAdminEndpoints: backup streams a copy that opens as a store
// holding the data, export the whole store's JSON Lines, check the
// problems (none), schema the declarations; each takes a read token
// (in the header or ?token=); other methods are 405, no token 401, a
// wrong one 403.
func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	get := func(method, path, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, e.url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, path := range []string{BackupPath, ExportPath, CheckPath, SchemaPath} {
		for _, c := range []struct {
			method, token string
			status        int
		}{{"POST", readToken, 405}, {"GET", "", 401}, {"GET", "nope", 403}, {"GET", readToken, 200}, {"GET", writeToken, 200}} {
			if resp, _ := get(c.method, path, c.token); resp.StatusCode != c.status {
				t.Errorf("%s %s with %q: %d, want %d", c.method, path, c.token, resp.StatusCode, c.status)
			}
		}
	}
	resp, b := get("GET", BackupPath, readToken)
	if resp.StatusCode != 200 {
		t.Fatalf("backup: %d %s", resp.StatusCode, b)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := relgraph.Open(path, &relgraph.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetProfile(ctx, 1, relgraph.Locator{ProfileID: profileA}); err != nil {
		t.Fatalf("the copy lacks profile A: %v", err)
	}
	// The export is the store's, line for line.
	var want bytes.Buffer
	if _, err := WriteStore(ctx, e.store, &want, nil); err != nil {
		t.Fatal(err)
	}
	resp, b = get("GET", ExportPath+"?token="+readToken, "")
	if resp.StatusCode != 200 || string(b) != want.String() || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("export: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	resp, b = get("GET", CheckPath, readToken)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"problems": []`) {
		t.Fatalf("check: %d %s", resp.StatusCode, b)
	}
	resp, b = get("GET", SchemaPath, readToken)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"relation_types"`) || !strings.Contains(string(b), `"user_like"`) {
		t.Fatalf("schema: %d %s", resp.StatusCode, b)
	}
}

// TestBackupOutlivesTheWriteTimeout: a backup stream to a client that
// reads slowly runs past the server's write timeout and arrives whole.
// The store (over 8 MB) is larger than loopback's socket buffers, so the
// server's writes block while the client waits.
func TestBackupOutlivesTheWriteTimeout(t *testing.T) {
	s, err := relgraph.Open(filepath.Join(t.TempDir(), "big.db"), &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1, Fields: []relgraph.Field{{Name: "notes", Type: relgraph.FieldString, Unindexed: true}}}); err != nil {
		t.Fatal(err)
	}
	notes := strings.Repeat("n", 4000)
	err = s.Update(ctx, func(tx *relgraph.Tx) error {
		for range 2500 {
			if _, _, err := tx.ImportProfile(1, relgraph.Locator{}, relgraph.ProfileData{Fields: map[string]any{"notes": notes}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(New(s, Config{Tokens: map[string]Role{writeToken: RoleWrite}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+BackupPath, nil)
	req.Header.Set("Authorization", "Bearer "+writeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(time.Second) // the server's writes block meanwhile
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) < 8<<20 {
		t.Fatalf("read %d bytes: %v", len(b), err)
	}
}

// TestXMLNamesAreChecked: the schema refuses names that are not XML
// element names, and the XML writer refuses to write one.
func TestXMLNamesAreChecked(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"1st", "9lives", "-dash", ".dot"} {
		err := e.store.PutDatabase(ctx, relgraph.Database{ID: 5, Fields: []relgraph.Field{{Name: name, Type: relgraph.FieldInt}}})
		if !errors.Is(err, relgraph.ErrInvalid) || !strings.Contains(err.Error(), name) {
			t.Errorf("field %q: %v", name, err)
		}
		err = e.store.PutRelationType(ctx, relgraph.RelationType{ID: 5, DatabaseA: 1, DatabaseB: 1, Properties: []relgraph.Property{{Name: name, Type: relgraph.PropInt}}})
		if !errors.Is(err, relgraph.ErrInvalid) {
			t.Errorf("property %q: %v", name, err)
		}
		var b bytes.Buffer
		if err := encodeXML(&b, map[string]any{"data": map[string]any{name: 1}}); err == nil || b.Len() > 0 {
			t.Errorf("the XML writer wrote %q: %v %q", name, err, b.String())
		}
	}
}

// TestWireOnPlainBbolt runs the wire tests of the documented examples,
// every endpoint and every error code on plain bbolt (no log, commits
// synchronous), the engine a program gets through relgraph.OpenEngine
// of kv/bolt: they pass on both.
func TestWireOnPlainBbolt(t *testing.T) {
	defaultEngine := openEngine
	openEngine = func(path string) (kv.Engine, error) { return bolt.Open(path, index.All, kv.Options{NoSync: true}) }
	defer func() { openEngine = defaultEngine }()
	for name, test := range map[string]func(*testing.T){
		"documented examples":   TestDocumentedExamples,
		"every endpoint":        TestEveryEndpointInJSONAndXML,
		"every error code":      TestEveryErrorCodeChangesNothing,
		"relations/get":         TestRelationsGetAnswersEveryRelation,
		"the import batch page": TestImportBatchSpeaksThePage,
	} {
		t.Run(name, test)
	}
}
