package api

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/relgraph/relgraph"

	"github.com/relgraph/relgraph/internal/fuzzseed"
)

var (
	seedJSON = []byte(`{"token":"t","rel_id":3,"matching":"email","profile_a":{"email":"a@x.io"},"profile_b":{"field_name":"sku","field_value":"s1"},"weights":{"user_like":2,"donate":null},"limit":10}`)
	seedXML  = []byte(`<?xml version="1.0"?><xml><token>t</token><rel_id>3</rel_id><profile_a><profile_id>5d63dbdb439e7306b596c5d0</profile_id></profile_a><weights><a>1</a><b nil="true"/></weights><items><item><x>1</x></item></items></xml>`)
	seedData = []byte(`{"db_id":1,"email":"a@x.io","data":{"email":"a@x.io","phones":["+15550000001"],"subscriptions":[{"resource_id":1,"channel":"sms","phone":"+15550000001","status":"unsubscribed"}],"n":1}}`)
)

func TestWriteFuzzSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	fuzzseed.Write(t, "FuzzJSONRequest", seedJSON, seedData, []byte(`[1]`), []byte(`{"a":{"b":[1,2,{"c":"\u00e9"}]}}`))
	fuzzseed.Write(t, "FuzzXMLRequest", seedXML, []byte(`<xml/>`), []byte(`<xml><a><b>1</b><b>2</b></a></xml>`))
}

// fuzzHandler is a handler over a store with the example schema, for
// the parsers' lookups of declared types.
func fuzzHandler(f *testing.F) *handler {
	s, err := relgraph.Open(filepath.Join(f.TempDir(), "fuzz.db"), &relgraph.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	err = s.ApplySchema(ctx, []relgraph.Database{{ID: 1, Fields: []relgraph.Field{{Name: "CRM_ID", Type: relgraph.FieldInt},
		{Name: "interests", Type: relgraph.FieldTags}, {Name: "born", Type: relgraph.FieldDate}}}, {ID: 2, Fields: []relgraph.Field{{Name: "sku", Type: relgraph.FieldString}}}},
		[]relgraph.RelationType{{ID: 3, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{{Name: "user_like", Type: relgraph.PropInt},
			{Name: "f", Type: relgraph.PropFloat}, {Name: "b", Type: relgraph.PropBool}, {Name: "s", Type: relgraph.PropString}}}})
	if err != nil {
		f.Fatal(err)
	}
	return New(s, Config{}).(*handler)
}

// parseAll runs every endpoint's parameter parsing over a decoded body.
func parseAll(h *handler, tree map[string]any) {
	h.relationRequest(newParams("", tree))
	h.profileRequest(newParams("", tree), false)
	h.profileImportBatch(context.Background(), newParams("", tree))
	p := newParams("", tree)
	p.locator(nil)
	p.int("limit", 1000)
	p.list("items")
	p.unknown()
}

func FuzzJSONRequest(f *testing.F) {
	h := fuzzHandler(f)
	f.Add(seedJSON)
	f.Add(seedData)
	f.Fuzz(func(t *testing.T, body []byte) {
		tree, err := decodeJSON(body)
		if err != nil {
			return
		}
		// The scan that authorizes finds the token the decode finds.
		token, values, err := scanJSON(body)
		if want, _ := tree["token"].(string); err != nil || token != want {
			t.Fatalf("scan found token %q (%v), the decode %q", token, err, want)
		}
		if n := countValues(tree); values < n {
			t.Fatalf("scan bounded the values at %d, the tree has %d", values, n)
		}
		parseAll(h, tree)
		// What decodes encodes back in both formats.
		var sink discard
		if err := encodeJSON(&sink, tree); err != nil {
			t.Fatal(err)
		}
		encodeXML(&sink, tree)
	})
}

func FuzzXMLRequest(f *testing.F) {
	h := fuzzHandler(f)
	f.Add(seedXML)
	f.Fuzz(func(t *testing.T, body []byte) {
		tree, err := decodeXML(body, DefaultMaxValues)
		if err != nil {
			return
		}
		token, elements, err := scanXML(body)
		if want, _ := tree["token"].(string); err != nil || (token != want && tree["token"] != nil) {
			t.Fatalf("scan found token %q (%v), the decode %q", token, err, want)
		}
		if _, err := decodeXML(body, elements); err != nil {
			t.Fatalf("decoding within the %d elements the scan counted: %v", elements, err)
		}
		parseAll(h, tree)
	})
}

// countValues counts the values of a decoded tree: objects, lists and
// scalars.
func countValues(v any) int {
	n := 1
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			n += countValues(c)
		}
	case []any:
		for _, c := range x {
			n += countValues(c)
		}
	}
	return n
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
