package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/relgraph/relgraph"
)

// encodeAnswer writes v as the answer's JSON encoder does.
func encodeAnswer(t interface{ Fatal(...any) }, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A relation's hand-written JSON is the bytes encoding/json writes for
// relationItem's map, for every value a relation can hold: ints at
// their bounds, floats of every magnitude (the switch to exponents at
// 1e-6 and 1e21), strings with quotes, controls, HTML characters,
// U+2028 and invalid UTF-8.
func TestRelationJSONMatchesEncodingJSON(t *testing.T) {
	text := rapid.OneOf(rapid.String(), rapid.StringMatching(`[a-z_]{1,12}`),
		rapid.SampledFrom([]string{"", "a\"b", `back\slash`, "<b>&amp;</b>", "line\nbreak\t\x01", "\u2028\u2029", "\xff\xfe", "Zürich ☃"}))
	value := rapid.OneOf(
		rapid.Map(rapid.Int64(), func(n int64) any { return n }),
		rapid.Map(rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64, 0, -1}), func(n int64) any { return n }),
		rapid.Map(rapid.Float64(), func(f float64) any { return f }),
		rapid.Map(rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1e-6, 9.99e-7, 1e21, 9.99e20, 1e-300, 5e-324, math.MaxFloat64, -1.5e-7, 123456789.125}), func(f float64) any { return f }),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(text, func(s string) any { return s }))
	rapid.Check(t, func(t *rapid.T) {
		it := relgraph.RelationItem{DatabaseB: rapid.Uint32().Draw(t, "db"), Weights: relgraph.Weights{}}
		copy(it.ProfileA[:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "a"))
		copy(it.ProfileB[:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "b"))
		for i := range rapid.IntRange(0, 6).Draw(t, "n") {
			it.Weights[text.Draw(t, fmt.Sprint("name", i))] = value.Draw(t, fmt.Sprint("value", i))
		}
		want := encodeAnswer(t, RelationItemJSON(it))
		line, err := appendRelationJSON(nil, it)
		if err != nil || !bytes.Equal(append(line, '\n'), want) {
			t.Fatalf("streamed:\n%s\nencoding/json:\n%s", line, want)
		}
	})
}

// A page of relations/get, read in place and written as bytes, is the
// answer the map-built page was, byte for byte: relations with every
// kind of property, some unset, pages of every size and their cursors.
func TestRelationsPageAsBytesMatchesTheMaps(t *testing.T) {
	e := newEnv(t)
	if err := e.store.PutRelationType(ctx, relgraph.RelationType{ID: 7, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "n", Type: relgraph.PropInt}, {Name: "f", Type: relgraph.PropFloat},
		{Name: "ok", Type: relgraph.PropBool}, {Name: "s", Type: relgraph.PropString}, {Name: "Z-9", Type: relgraph.PropString},
	}}); err != nil {
		t.Fatal(err)
	}
	res, err := e.store.ImportBatch(ctx, 2, make([]relgraph.ImportItem, 30))
	if err != nil {
		t.Fatal(err)
	}
	strs := []string{"", "plain", `q"uote`, "<&>", "tab\tnl\n", "\u2028", "Zürich"}
	floats := []float64{0, -1.5, 1e-7, 1e21, 123.456, 5e-324}
	for i, r := range res {
		w := map[string]any{"n": i * 1000003}
		if i%2 == 0 {
			w["f"] = floats[i%len(floats)]
		}
		if i%3 == 0 {
			w["ok"] = i%2 == 0
		}
		if i%4 != 3 {
			w["s"] = strs[i%len(strs)]
			w["Z-9"] = strs[(i+3)%len(strs)]
		}
		if _, err := e.store.Attach(ctx, relgraph.RelationRequest{RelationType: 7, A: relgraph.Locator{ProfileID: profileA},
			B: relgraph.Locator{ProfileID: r.ID.String()}, Weights: w}); err != nil {
			t.Fatal(err)
		}
	}
	// A property added later, set on one relation: a page names what
	// each record holds, whatever the schema said when it began.
	if err := e.store.PutRelationType(ctx, relgraph.RelationType{ID: 7, DatabaseA: 1, DatabaseB: 2, Properties: []relgraph.Property{
		{Name: "n", Type: relgraph.PropInt}, {Name: "f", Type: relgraph.PropFloat},
		{Name: "ok", Type: relgraph.PropBool}, {Name: "s", Type: relgraph.PropString}, {Name: "Z-9", Type: relgraph.PropString},
		{Name: "added", Type: relgraph.PropInt},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Overwrite(ctx, relgraph.RelationRequest{RelationType: 7, A: relgraph.Locator{ProfileID: profileA},
		B: relgraph.Locator{ProfileID: res[5].ID.String()}, Weights: map[string]any{"added": 5}}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 7, 30, 100} {
		cursor := ""
		for pages := 0; ; pages++ {
			body := map[string]any{"rel_id": 7, "profile_id": profileA, "limit": limit}
			q := relgraph.RelationsQuery{RelationType: 7, A: relgraph.Locator{ProfileID: profileA}, Limit: limit, Cursor: cursor}
			if cursor != "" {
				body["cursor"] = cursor
			}
			got := e.postJSON("relations/get", body)
			page, err := e.store.Relations(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			items := []any{}
			for _, it := range page.Items {
				items = append(items, RelationItemJSON(it))
			}
			want := map[string]any{"data": items, "total_count": page.Total, "error_text": "Successful operation", "error": 0}
			if page.NextCursor != "" {
				want["next_cursor"] = page.NextCursor
			}
			if w := encodeAnswer(t, want); !bytes.Equal(got.raw, w) {
				t.Fatalf("limit %d, page %d:\n%s\nwant (from the maps):\n%s", limit, pages, got.raw, w)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
}
