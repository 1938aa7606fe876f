package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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

// TestWholeStoreImportRefusals holds what a review of export and import
// found, each fixed: a schema line over 64 KiB; times the store cannot
// keep; a store whose schema the export would change; a failing line
// keeping the lines before it; a refused new store left behind; the
// phone region of the environment; a refused import writing a region.
func TestWholeStoreImportRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A schema line of about 100 KiB exports and imports.
	var dbs []string
	for i := 1; i <= 30; i++ {
		var fields []string
		for j := range 60 {
			fields = append(fields, fmt.Sprintf(`{"name":"field_%d","type":"string"}`, j))
		}
		dbs = append(dbs, fmt.Sprintf(`{"id":%d,"name":"db %d","description":%q,"fields":[%s]}`, i, i, strings.Repeat("d", 200), strings.Join(fields, ",")))
	}
	write("big.json", `{"tokens":[{"token":"t","role":"write"}],"databases":[`+strings.Join(dbs, ",")+`]}`)
	if out, code := runTool(t, dir, "schema", "apply", "-db", "big.db", "-config", "big.json"); code != 0 {
		t.Fatalf("schema apply: %s", out)
	}
	big, _ := runTool(t, dir, "export", "-db", "big.db")
	write("big.jsonl", big)
	if out, code := runTool(t, dir, "import", "-db", "big2.db", "big.jsonl"); code != 0 {
		t.Fatalf("import of a %d-byte schema line: %d %s", strings.Index(big, "\n"), code, out)
	}

	schema := `{"kind":"schema","format":1,"databases":[{"id":1,"name":"people"}],"relation_types":[]}`
	profile := func(id, created, updated string) string {
		return fmt.Sprintf(`{"kind":"profile","db_id":1,"profile_id":%q,"created":%q,"updated":%q,"data":{}}`, id, created, updated)
	}
	ok := "2024-01-02T03:04:05Z"
	for _, c := range []struct{ created, updated, named string }{
		{"1500-01-01T00:00:00Z", ok, "the store keeps times"},
		{ok, "9999-12-31T23:59:59Z", "the store keeps times"},
		{"2025-01-01T00:00:00Z", ok, "before created"},
	} {
		write("t.jsonl", schema+"\n"+profile("65117f62736a0e15d273faee", c.created, c.updated)+"\n")
		os.Remove(filepath.Join(dir, "t.db"))
		os.Remove(filepath.Join(dir, "t.db-wal"))
		if out, code := runTool(t, dir, "import", "-db", "t.db", "t.jsonl"); code == 0 || !strings.Contains(out, "line 2") || !strings.Contains(out, c.named) {
			t.Fatalf("times %s %s: %d %s", c.created, c.updated, code, out)
		}
	}

	// A failing line keeps the lines before it, even in its batch.
	write("fail.jsonl", schema+"\n"+profile("65117f62736a0e15d273fae1", ok, ok)+"\n"+profile("65117f62736a0e15d273fae2", ok, ok)+"\n"+`{"kind":"nope"}`+"\n")
	if out, code := runTool(t, dir, "import", "-db", "f.db", "fail.jsonl"); code == 0 || !strings.Contains(out, "line 4") || !strings.Contains(out, "3 lines restored before the error") {
		t.Fatalf("a failing line: %d %s", code, out)
	}
	if out, _ := runTool(t, dir, "export", "-db", "f.db"); strings.Count(out, `"kind":"profile"`) != 2 {
		t.Fatalf("the lines before the failing one: %s", out)
	}
	// A blank line counts in the numbering: the failing line is named
	// by its number in the file.
	write("blank.jsonl", schema+"\n"+profile("65117f62736a0e15d273fae3", ok, ok)+"\n\n"+`{"kind":"nope"}`+"\n")
	if out, code := runTool(t, dir, "import", "-db", "b.db", "blank.jsonl"); code == 0 || !strings.Contains(out, "line 4:") {
		t.Fatalf("a failing line after a blank one: %d %s", code, out)
	}

	// A store whose schema the export would change is refused, unchanged.
	write("other.json", `{"tokens":[{"token":"t","role":"write"}],"databases":[{"id":1,"name":"mine","phone_region":"US"}]}`)
	if out, code := runTool(t, dir, "schema", "apply", "-db", "mine.db", "-config", "other.json"); code != 0 {
		t.Fatalf("schema apply: %s", out)
	}
	before, _ := runTool(t, dir, "schema", "show", "-db", "mine.db")
	if out, code := runTool(t, dir, "import", "-db", "mine.db", "fail.jsonl"); code == 0 || !strings.Contains(out, "declares database 1 differently") {
		t.Fatalf("an export over another schema: %d %s", code, out)
	}
	if after, _ := runTool(t, dir, "schema", "show", "-db", "mine.db"); after != before {
		t.Fatalf("the schema changed:\n%s\n%s", before, after)
	}

	// A refused schema leaves no store file; -phone-region is refused;
	// the environment's region is not applied.
	write("bad.jsonl", `{"kind":"schema","format":1,"databases":[{"id":1,"fields":[{"name":"x","type":"nope"}]}],"relation_types":[]}`+"\n")
	if out, code := runTool(t, dir, "import", "-db", "nb.db", "bad.jsonl"); code == 0 || !strings.Contains(out, "nope") {
		t.Fatalf("a refused schema: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "nb.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused schema left a store: %v", err)
	}
	if out, code := runTool(t, dir, "import", "-db", "pr.db", "-phone-region", "US", "fail.jsonl"); code != 2 || !strings.Contains(out, "-phone-region goes with -db-id") {
		t.Fatalf("-phone-region with a whole export: %d %s", code, out)
	}
	cmd := exec.Command(binary, "import", "-db", "env.db", "big.jsonl")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RELGRAPH_PHONE_REGION=US")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import with RELGRAPH_PHONE_REGION: %v %s", err, out)
	}
	if again, _ := runTool(t, dir, "export", "-db", "env.db"); again != big {
		t.Fatal("RELGRAPH_PHONE_REGION changed the restored schema")
	}

	// A refused profile-line import writes no region.
	write("p.jsonl", `{"email":"a@x.io"}`+"\n")
	write("exists.jsonl", "")
	if out, code := runTool(t, dir, "import", "-db", "big.db", "-db-id", "2", "-phone-region", "us", "-rejects", "exists.jsonl", "p.jsonl"); code == 0 || !strings.Contains(out, "file exists") {
		t.Fatalf("-rejects over a file: %d %s", code, out)
	}
	if out, _ := runTool(t, dir, "schema", "show", "-db", "big.db"); strings.Contains(out, "phone_region") {
		t.Fatal("a refused import recorded a phone region")
	}
	cmd = exec.Command(binary, "import", "-db", "big.db", "-db-id", "2", "-phone-region", "us", "-summary-json", "p.jsonl")
	cmd.Dir = dir
	if out, err := cmd.Output(); err != nil || !strings.HasPrefix(string(out), "{") || strings.Count(string(out), "\n") != 1 || !strings.Contains(string(out), `"created":1`) {
		t.Fatalf("an import with a lowercase region and a JSON summary: stdout %q, %v", out, err)
	}
	if out, code := runTool(t, dir, "import", "-db", "big.db", "-db-id", "1", "big.jsonl"); code != 2 || !strings.Contains(out, "import it without -db-id") {
		t.Fatalf("a whole export with -db-id: %d %s", code, out)
	}
}
