package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportImportRoundTripOfAWholeStore: a store with profiles of every
// kind of field, subscriptions and relations (sums, a float sum, counts,
// a top list with ties, strings, relations changed and removed) exports
// to JSON Lines; importing that into a fresh store and exporting again
// gives the same bytes; check is clean; profiles keep their ids and
// times, relations their times, and get shows the same counters.
func TestExportImportRoundTripOfAWholeStore(t *testing.T) {
	dir := t.TempDir()
	config := `{"tokens":[{"token":"abcdefghijklmnqrstuvwxyz","role":"write"}],
	 "databases":[{"id":1,"name":"people","description":"d","ui_tags":["x"],"phone_region":"US","fields":[{"name":"n","type":"int"},{"name":"f","type":"float"},
	   {"name":"born","type":"date"},{"name":"tags","type":"tags"},{"name":"nick","type":"string"},{"name":"vip","type":"bool"}]},
	  {"id":2,"name":"things"}],
	 "relation_types":[{"id":3,"name":"likes","database_a":1,"database_b":2,"properties":[{"name":"n","type":"int","aggregate":"sum"},
	   {"name":"f","type":"float","aggregate":"sum"},{"name":"on","type":"bool","aggregate":"count"},{"name":"s","type":"string"},
	   {"name":"top","type":"int","aggregate":"top","top":3}]},
	  {"id":4,"name":"knows","database_a":1,"database_b":1}]}`
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "-config", "c.json")
	post := func(endpoint string, body map[string]any) map[string]any {
		t.Helper()
		body["token"] = "abcdefghijklmnqrstuvwxyz"
		code, ans, err := call(srv.url, endpoint, body)
		if err != nil || code != 200 {
			t.Fatalf("%s %v: %d %v %v", endpoint, body, code, ans, err)
		}
		return ans
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var people, things []string
	for i := range 25 {
		data := map[string]any{"email": fmt.Sprintf("p%d@x.io", i), "n": i, "f": float64(i) / 3, "born": "1990-01-02",
			"tags": []any{"a", fmt.Sprintf("t%d", i%4)}, "nick": fmt.Sprintf("nick %d", i), "vip": i%2 == 0,
			"phones": []any{fmt.Sprintf("(617) 555-%04d", i)},
			"subscriptions": []any{map[string]any{"resource_id": 7, "channel": "email", "email": fmt.Sprintf("p%d@x.io", i), "status": "subscribed", "priority": i % 3,
				"custom_fields": map[string]any{"k": "v"}, "cats": []any{"news"}}}}
		people = append(people, post("profiles/import", map[string]any{"db_id": 1, "data": data})["profile_id"].(string))
	}
	for i := range 8 {
		things = append(things, post("profiles/import", map[string]any{"db_id": 2, "data": map[string]any{"email": fmt.Sprintf("t%d@x.io", i)}})["profile_id"].(string))
	}
	for range 150 {
		a, b := people[rng.IntN(len(people))], things[rng.IntN(len(things))]
		sides := map[string]any{"rel_id": 3, "profile_a": map[string]any{"profile_id": a}, "profile_b": map[string]any{"profile_id": b}}
		switch rng.IntN(4) {
		case 0:
			sides["weights"] = map[string]any{"n": rng.IntN(100) - 50, "f": rng.Float64(), "on": rng.IntN(2) == 0, "s": "x", "top": rng.IntN(5)}
			post("relations/edit", sides)
		case 1:
			sides["weights"] = map[string]any{"n": 1, "f": 0.1}
			post("relations/strengthen", sides)
		case 2:
			sides["weights"] = map[string]any{"top": 7}
			post("relations/attach", sides)
		case 3:
			call(srv.url, "relations/detach", map[string]any{"token": "abcdefghijklmnqrstuvwxyz", "rel_id": 3, "profile_a": map[string]any{"profile_id": a}, "profile_b": map[string]any{"profile_id": b}})
		}
		p, q := people[rng.IntN(len(people))], people[rng.IntN(len(people))]
		post("relations/attach", map[string]any{"rel_id": 4, "profile_a": map[string]any{"profile_id": p}, "profile_b": map[string]any{"profile_id": q}})
	}
	srv.stop(t)

	first, code := runTool(t, dir, "export")
	if code != 0 || !strings.HasPrefix(first, `{"kind":"schema"`) || strings.Count(first, `"kind":"relation"`) < 50 {
		t.Fatalf("export: %d\n%.2000s", code, first)
	}
	if err := os.WriteFile(filepath.Join(dir, "all.jsonl"), []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runTool(t, dir, "import", "-db", "copy.db", "all.jsonl"); code != 0 || !strings.Contains(out, "lines restored") {
		t.Fatalf("import of the export: %d %s", code, out)
	}
	if out, code := runTool(t, dir, "check", "-db", "copy.db"); code != 0 {
		t.Fatalf("check of the copy: %s", out)
	}
	second, code := runTool(t, dir, "export", "-db", "copy.db")
	if code != 0 || second != first {
		t.Fatalf("the copy's export differs (%d):\n%.3000s\nvs\n%.3000s", code, second, first)
	}
	// get shows the same profile, relations and counters in both.
	for _, id := range people[:5] {
		a, _ := runTool(t, dir, "get", "-db-id", "1", "-profile-id", id, "-relations", "100")
		b, _ := runTool(t, dir, "get", "-db", "copy.db", "-db-id", "1", "-profile-id", id, "-relations", "100")
		if a != b || !strings.Contains(a, `"_relations"`) || !strings.Contains(a, `"_createtime"`) {
			t.Fatalf("get %s differs:\n%s\nvs\n%s", id, a, b)
		}
	}
	// Importing it again changes nothing; a profile-line import refuses it.
	if out, code := runTool(t, dir, "import", "-db", "copy.db", "all.jsonl"); code != 0 {
		t.Fatalf("a second import: %d %s", code, out)
	}
	if again, _ := runTool(t, dir, "export", "-db", "copy.db"); again != first {
		t.Fatal("a second import changed the store")
	}
	if out, code := runTool(t, dir, "import", "-db", "copy.db", "-matching", "email", "all.jsonl"); code != 2 || !strings.Contains(out, "goes with -db-id") {
		t.Fatalf("-matching with a whole store's export: %d %s", code, out)
	}
}
