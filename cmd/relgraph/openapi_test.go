package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// docs/openapi.yaml is checked here: it must be a valid OpenAPI 3
// document, and every documented request and answer in
// api/testdata/examples, and every answer the server gives them
// (TestEveryDocumentedExampleAgainstServe), must fit its schemas, so the
// document cannot drift from the server.

var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		spec, specErr = loader.LoadFromFile("../../docs/openapi.yaml")
		if specErr == nil {
			specErr = spec.Validate(loader.Context)
		}
	})
	if specErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", specErr)
	}
	return spec
}

// specSchema is the schema of an endpoint's request (status 0) or of
// its answer with the given status, in the given format. endpoint is
// a platform call ("relations/get") or a whole path ("/relgraph/v1/…").
func specSchema(t *testing.T, endpoint string, status int, xmlBody bool) *openapi3.Schema {
	t.Helper()
	path := "/api/v1.1/" + endpoint
	if strings.HasPrefix(endpoint, "/") {
		path = endpoint // relgraph's own, named by its whole path
	}
	item := loadSpec(t).Paths.Find(path)
	if item == nil || item.Post == nil {
		t.Fatalf("docs/openapi.yaml has no POST %s", path)
	}
	ctype := "application/json"
	if xmlBody {
		ctype = "application/xml"
	}
	var content openapi3.Content
	if status == 0 {
		content = item.Post.RequestBody.Value.Content
	} else {
		resp := item.Post.Responses.Status(status)
		if resp == nil {
			resp = item.Post.Responses.Default()
		}
		if resp == nil {
			t.Fatalf("docs/openapi.yaml: %s has no answer %d", endpoint, status)
		}
		content = resp.Value.Content
	}
	mt := content.Get(ctype)
	if mt == nil || mt.Schema == nil {
		t.Fatalf("docs/openapi.yaml: %s (%d) has no %s", endpoint, status, ctype)
	}
	return mt.Schema.Value
}

// checkSpec validates a request (status 0) or an answer of endpoint
// against the document.
func checkSpec(t *testing.T, what, endpoint string, status int, raw []byte) {
	t.Helper()
	isXML := bytes.HasPrefix(bytes.TrimSpace(raw), []byte("<"))
	schema := specSchema(t, endpoint, status, isXML)
	var v any
	if isXML {
		tree, err := xmlTree(raw)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v = bySchema(schema, tree)
	} else if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Errorf("%s does not fit docs/openapi.yaml (%s, %d): %v\n%s", what, endpoint, status, err, raw)
	}
}

// xmlTree reads an XML body as the platform writes it: an element with
// children is an object, a repeated element a list, an element marked
// array='true' with nothing in it an empty list, nil='true' null, and
// any other element its text.
func xmlTree(raw []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return xmlElement(dec, start)
		}
	}
}

func xmlElement(dec *xml.Decoder, start xml.StartElement) (any, error) {
	var text strings.Builder
	children := map[string][]any{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := xmlElement(dec, t)
			if err != nil {
				return nil, err
			}
			children[t.Name.Local] = append(children[t.Name.Local], v)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			attr := func(name string) bool {
				for _, a := range start.Attr {
					if a.Name.Local == name && a.Value == "true" {
						return true
					}
				}
				return false
			}
			switch {
			case attr("nil"):
				return nil, nil
			case len(children) == 0 && attr("array"):
				return []any{}, nil
			case len(children) == 0:
				return strings.TrimSpace(text.String()), nil
			}
			obj := map[string]any{}
			for name, vs := range children {
				if len(vs) == 1 {
					obj[name] = vs[0]
				} else {
					obj[name] = vs
				}
			}
			return obj, nil
		}
	}
}

// bySchema types an XML tree's text by the schema, as the server reads
// XML: numbers and booleans from their text, one element where a list
// is expected as a list of one, an empty element where an object is
// expected as an empty object.
func bySchema(s *openapi3.Schema, v any) any {
	if s == nil {
		return v
	}
	if len(s.OneOf) > 0 {
		if text, ok := v.(string); ok {
			return scalarFromText(text)
		}
		for _, alt := range s.OneOf {
			if alt.Value.Type.Is("object") {
				if _, ok := v.(map[string]any); ok {
					return bySchema(alt.Value, v)
				}
			}
		}
		return v
	}
	switch {
	case s.Type.Is("array"):
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = bySchema(itemSchema(s), e)
		}
		return out
	case s.Type.Is("object"):
		obj, ok := v.(map[string]any)
		if !ok {
			if v == "" {
				return map[string]any{}
			}
			return v
		}
		out := map[string]any{}
		for k, e := range obj {
			if p, ok := s.Properties[k]; ok {
				out[k] = bySchema(p.Value, e)
			} else if s.AdditionalProperties.Schema != nil {
				out[k] = bySchema(s.AdditionalProperties.Schema.Value, e)
			} else {
				out[k] = e
			}
		}
		return out
	case s.Type.Is("integer"), s.Type.Is("number"):
		if text, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(text, 64); err == nil {
				return f
			}
		}
	case s.Type.Is("boolean"):
		if text, ok := v.(string); ok {
			if b, err := strconv.ParseBool(text); err == nil {
				return b
			}
		}
	case s.Type == nil || len(*s.Type) == 0:
		if text, ok := v.(string); ok {
			return scalarFromText(text)
		}
	}
	return v
}

func itemSchema(s *openapi3.Schema) *openapi3.Schema {
	if s.Items == nil {
		return nil
	}
	return s.Items.Value
}

// scalarFromText reads text where the schema allows several types: a
// number or boolean if it reads as one.
func scalarFromText(text string) any {
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(text); err == nil {
		return b
	}
	return text
}

// TestOpenAPIRefusesWhatTheServerRefuses: the document is not a
// rubber stamp: a request with an unknown parameter, a missing rel_id
// or a malformed profile id, and an answer missing its profile, do not
// fit it.
func TestOpenAPIRefusesWhatTheServerRefuses(t *testing.T) {
	for _, c := range []struct {
		endpoint string
		status   int
		body     string
	}{
		{"relations/edit", 0, `{"rel_id":3,"profile_a":{"profile_id":"5d63dbdb439e7306b596c5d0"},"profile_b":{"email":"a@x.io"},"wieghts":{}}`},
		{"relations/edit", 0, `{"profile_a":{"profile_id":"5d63dbdb439e7306b596c5d0"},"profile_b":{"email":"a@x.io"}}`},
		{"relations/edit", 0, `{"rel_id":3,"profile_a":{"profile_id":"nope"},"profile_b":{"email":"a@x.io"}}`},
		{"relations/edit", 0, "<xml><rel_id>three</rel_id><profile_a><email>a@x.io</email></profile_a><profile_b><email>b@x.io</email></profile_b></xml>"},
		{"relations/edit", 200, `{"error":0,"error_text":"","profile_a":"5d63dbdb439e7306b596c5d0","relation_id":3}`},
		{"profiles/get", 404, `{"error":404}`},
	} {
		schema := specSchema(t, c.endpoint, c.status, strings.HasPrefix(c.body, "<"))
		var v any
		if strings.HasPrefix(c.body, "<") {
			tree, err := xmlTree([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			v = bySchema(schema, tree)
		} else if err := json.Unmarshal([]byte(c.body), &v); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(v); err == nil {
			t.Errorf("%s (%d) accepts %s", c.endpoint, c.status, c.body)
		}
	}
}

// specCheckedExample is a documented example validated against the
// document: used by TestEveryDocumentedExampleAgainstServe.
func specCheckedExample(t *testing.T, endpoint, file string, status int) {
	t.Helper()
	checkSpec(t, fmt.Sprintf("documented %s", file), endpoint, status, readExample(t, file))
}

// TestOpenAPIOwnEndpoints holds relgraph's own endpoints to the
// document, on a real server: the reverse list's requests and answers
// (JSON and XML, a page with a cursor, an error), and the change
// stream's every line (relation and profile changes, creations,
// updates and deletions) and its refusals.
func TestOpenAPIOwnEndpoints(t *testing.T) {
	srv := startServer(t, t.TempDir(), "-example")
	defer srv.stop(t)
	const token = "abcdefghijklmnqrstuvwxyz"
	// Writes of every kind of change, on the example's profiles.
	for _, w := range []struct {
		endpoint string
		body     map[string]any
	}{
		{"relations/edit", map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": exampleA}, "profile_b": map[string]any{"profile_id": exampleB}, "weights": map[string]any{"user_like": 2, "is_online": true}}},
		{"relations/strengthen", map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": exampleA}, "profile_b": map[string]any{"profile_id": exampleB}, "weights": map[string]any{"user_like": 1}}},
		{"profiles/import", map[string]any{"db_id": 1, "email": "new@x.io", "data": map[string]any{"_fname": "New", "CRM_ID": 7}}},
		{"profiles/update", map[string]any{"db_id": 1, "email": "new@x.io", "data": map[string]any{"_fname": "Newer"}}},
		{"relations/attach", map[string]any{"rel_id": 3, "profile_a": map[string]any{"email": "new@x.io"}, "profile_b": map[string]any{"profile_id": exampleB}}},
		{"profiles/delete", map[string]any{"db_id": 1, "email": "new@x.io"}},
		{"relations/detach", map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": exampleA}, "profile_b": map[string]any{"profile_id": exampleB}}},
	} {
		w.body["token"] = token
		if code, ans, err := call(srv.url, w.endpoint, w.body); err != nil || code != 200 {
			t.Fatalf("%s: %d %v %v", w.endpoint, code, ans, err)
		}
	}

	// The change stream: every line fits components/schemas/Change.
	change := loadSpec(t).Components.Schemas["Change"].Value
	get := func(query string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.url+"/relgraph/v1/changes?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, raw
	}
	resp, raw := get("since=0&follow=false")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("changes: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	kinds := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if err := change.VisitJSON(v); err != nil {
			t.Errorf("a change line does not fit docs/openapi.yaml: %v\n%s", err, line)
		}
		kinds[v.(map[string]any)["kind"].(string)] = true
	}
	for _, k := range []string{"relation.create", "relation.update", "relation.delete", "profile.create", "profile.update", "profile.delete"} {
		if !kinds[k] {
			t.Errorf("the stream has no %s to check", k)
		}
	}
	if err := change.VisitJSON(map[string]any{"seq": 1, "time": "2026-01-01T00:00:00Z", "kind": "relation.create", "op": "import", "rel_id": 3,
		"profile_a": exampleA, "profile_b": exampleB, "before": nil, "after": nil}); err == nil {
		t.Error("Change accepts a relation change made by a profile import")
	}
	if err := change.VisitJSON(map[string]any{"seq": 2, "time": "2026-01-01T00:00:00Z", "kind": "profile.create", "op": "import", "db_id": 1,
		"profile_id": exampleA, "before": nil, "after": map[string]any{"email": "a@x.io"}}); err == nil {
		t.Error("Change accepts a profile without its id and times")
	}
	errSchema := loadSpec(t).Paths.Find("/relgraph/v1/changes").Get.Responses.Default().Value.Content.Get("application/json").Schema.Value
	for _, q := range []string{"since=x", "since=99999", "limit=0", "follow=maybe"} {
		resp, raw := get(q)
		var v any
		if err := json.Unmarshal(raw, &v); err != nil || resp.StatusCode != 400 {
			t.Fatalf("changes?%s: %d %s", q, resp.StatusCode, raw)
		}
		if err := errSchema.VisitJSON(v); err != nil {
			t.Errorf("changes?%s: the refusal does not fit docs/openapi.yaml: %v\n%s", q, err, raw)
		}
	}

	// The reverse list: requests and answers, JSON and XML.
	reverse := func(body string, ctype string) (int, []byte) {
		t.Helper()
		checkSpec(t, "reverse request "+body, "/relgraph/v1/relations/reverse", 0, []byte(body))
		req, _ := http.NewRequest("POST", srv.url+"/relgraph/v1/relations/reverse", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		checkSpec(t, "reverse answer to "+body, "/relgraph/v1/relations/reverse", resp.StatusCode, raw)
		return resp.StatusCode, raw
	}
	for _, a := range []string{"new1@x.io", "new2@x.io", "new3@x.io"} {
		if code, ans, err := call(srv.url, "profiles/import", map[string]any{"token": token, "db_id": 1, "email": a, "data": map[string]any{}}); err != nil || code != 200 {
			t.Fatalf("import %s: %d %v %v", a, code, ans, err)
		}
		if code, ans, err := call(srv.url, "relations/edit", map[string]any{"token": token, "rel_id": 3, "profile_a": map[string]any{"email": a},
			"profile_b": map[string]any{"profile_id": exampleB}, "weights": map[string]any{"donate": 5}}); err != nil || code != 200 {
			t.Fatalf("edit: %d %v %v", code, ans, err)
		}
	}
	code, raw := reverse(`{"token":"`+token+`","rel_id":3,"profile_id":"`+exampleB+`","limit":2,"count":true}`, "application/json")
	var page struct {
		Next  string `json:"next_cursor"`
		Total int    `json:"total_count"`
	}
	if err := json.Unmarshal(raw, &page); err != nil || code != 200 || page.Next == "" || page.Total != 3 {
		t.Fatalf("reverse page 1: %d %s", code, raw)
	}
	if code, raw := reverse(`{"token":"`+token+`","rel_id":3,"profile_id":"`+exampleB+`","limit":2,"cursor":"`+page.Next+`"}`, "application/json"); code != 200 {
		t.Fatalf("reverse page 2: %d %s", code, raw)
	}
	if code, raw := reverse(`<xml><token>`+token+`</token><rel_id>3</rel_id><profile_id>`+exampleB+`</profile_id><count>true</count></xml>`, "application/xml"); code != 200 || !strings.Contains(string(raw), "<total_count>3</total_count>") {
		t.Fatalf("reverse in XML: %d %s", code, raw)
	}
	if code, raw := reverse(`{"token":"`+token+`","rel_id":3,"email":"nobody@x.io"}`, "application/json"); code != 404 {
		t.Fatalf("reverse of nobody: %d %s", code, raw)
	}
}
