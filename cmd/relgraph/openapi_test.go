package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
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
// its answer with the given status, in the given format.
func specSchema(t *testing.T, endpoint string, status int, xmlBody bool) *openapi3.Schema {
	t.Helper()
	item := loadSpec(t).Paths.Find("/api/v1.1/" + endpoint)
	if item == nil || item.Post == nil {
		t.Fatalf("docs/openapi.yaml has no POST /api/v1.1/%s", endpoint)
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
