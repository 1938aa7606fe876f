package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// exampleDir holds the platform's documented requests and answers.
const exampleDir = "../../api/testdata/examples"

// TestEveryDocumentedExampleAgainstServe sends every documented request
// of api/testdata/examples, byte for byte, to a real "relgraph serve
// -example" and compares each answer with the documented one: the same
// keys, and the same values except ids and times of the platform's own
// data, which are checked by their form. Every request file is sent
// once: a file added there without a step here fails the test.
func TestEveryDocumentedExampleAgainstServe(t *testing.T) {
	srv := startServer(t, t.TempDir(), "-example")
	sent := map[string]bool{}
	post := func(endpoint, file string) (int, []byte) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join(exampleDir, file))
		if err != nil {
			t.Fatal(err)
		}
		sent[file] = true
		specCheckedExample(t, endpoint, file, 0)
		ctype := "application/json"
		if strings.HasSuffix(file, ".xml") {
			ctype = "application/xml"
		}
		resp, err := http.Post(srv.url+"/api/v1.1/"+endpoint, ctype, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		checkSpec(t, "the answer to "+file, endpoint, resp.StatusCode, raw)
		return resp.StatusCode, raw
	}
	ok := func(endpoint, file, documented string) map[string]any {
		t.Helper()
		status, raw := post(endpoint, file)
		got := decodeAnswer(t, raw)
		if status != 200 || scalar(got["error"]) != "0" {
			t.Fatalf("%s (%s): %d %s", file, endpoint, status, raw)
		}
		if documented != "" {
			specCheckedExample(t, endpoint, documented, 200)
			want := decodeAnswer(t, readExample(t, documented))
			sameShape(t, file, got, want)
		}
		return got
	}

	// Relations: the pages' requests in the order the pages tell.
	ok("relations/get_counter", "get_counter.request.json", "get_counter_empty.response.json")
	ok("relations/edit", "edit.request.json", "edit.response.json")
	ok("relations/edit", "edit.request.xml", "edit.response.xml")
	ok("relations/get_counter", "get_counter.request.json", "get_counter.response.json")
	ok("relations/get_counter", "get_counter_matching.request.json", "get_counter.response.json")
	ok("relations/get", "get.request.json", "get.response.json")
	ok("relations/get", "get.request.xml", "")
	ok("relations/strengthen", "strengthen.request.json", "edit.response.json")
	ok("relations/strengthen", "strengthen_mixed.request.json", "edit.response.json")
	ok("relations/detach", "detach.request.json", "detach.response.json")

	// Profiles.
	imported := ok("profiles/import", "profile_import.request.json", "profile_import.response.json")
	ok("profiles/import", "profile_import_guide.request.json", "profile_import.response.json")
	ok("profiles/update", "profile_update_incr.request.json", "")
	ok("profiles/update", "profile_update_incr.request.xml", "")
	ok("profiles/update", "profile_update_tags.request.json", "")
	if status, raw := post("profiles/update", "profile_update_upsert.request.json"); status != 400 || !strings.Contains(string(raw), "upsert") {
		t.Fatalf("upsert: %d %s", status, raw)
	}
	for _, file := range []string{"profile_get.request.json", "profile_get.request.xml"} {
		got := ok("profiles/get", file, "")
		data, _ := got["data"].(map[string]any)
		if data["id"] != imported["profile_id"] || data["_fname"] != "Jim" || data["_lname"] != "Jones" || data["email"] != "example@example.com" {
			t.Fatalf("%s: %v", file, got)
		}
	}
	ok("profiles/delete", "profile_delete.request.json", "profile_delete.response.json")
	ok("profiles/import", "profile_import.request.json", "profile_import.response.json")
	ok("profiles/delete", "profile_delete.request.xml", "profile_delete.response.xml")
	// Last: the batch's XML example subscribes example@example.com, which
	// then matches by email too (email matching reads subscriptions).
	ok("profiles/import_batch", "profile_import_batch.request.json", "profile_import_batch.response.json")
	ok("profiles/import_batch", "profile_import_batch.request.xml", "")

	// The functional updates did what they say.
	get := func(db, id string) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.url+"/api/v1.1/profiles/get", "application/json",
			strings.NewReader(`{"token":"abcdefghijklmnqrstuvwxyz","db_id":`+db+`,"profile_id":"`+id+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		data, _ := decodeAnswer(t, raw)["data"].(map[string]any)
		return data
	}
	if d := get("24", "5a5b64a969d4265b958b9ac3"); scalar(d["checks"]) != "1000" || scalar(d["returns"]) != "-1000" {
		t.Fatalf("after the incr example: %v", d)
	}
	if d := get("1", "6613c4754a5d12bd6cc0915f"); scalar(d["checks"]) != "1000" || scalar(d["returns"]) != "-1000" {
		t.Fatalf("after the XML incr example: %v", d)
	}
	if d := get("1", "5a5b64a969d4265b958b9ac3"); scalar(d["category"]) != "[cars cats]" {
		t.Fatalf("after the tags example: %v", d)
	}
	entries, err := os.ReadDir(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	var missed []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".request.") && !sent[e.Name()] {
			missed = append(missed, e.Name())
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Fatalf("documented requests never sent: %v", missed)
	}
}

func readExample(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exampleDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeAnswer decodes a JSON or XML answer into a tree; in XML,
// repeated elements are a list, as the platform writes them.
func decodeAnswer(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	trimmed := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(trimmed, "<") {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("answer is not JSON: %v\n%s", err, raw)
		}
		return m
	}
	dec := xml.NewDecoder(strings.NewReader(trimmed))
	var walk func() (any, error)
	walk = func() (any, error) {
		var text strings.Builder
		m := map[string]any{}
		children := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			switch x := tok.(type) {
			case xml.StartElement:
				v, err := walk()
				if err != nil {
					return nil, err
				}
				children++
				name := x.Name.Local
				if prev, seen := m[name]; seen {
					list, isList := prev.([]any)
					if !isList {
						list = []any{prev}
					}
					m[name] = append(list, v)
				} else {
					m[name] = v
				}
			case xml.CharData:
				text.Write(x)
			case xml.EndElement:
				if children == 0 {
					return text.String(), nil
				}
				return m, nil
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, raw)
		}
		if _, ok := tok.(xml.StartElement); ok {
			v, err := walk()
			if err != nil {
				t.Fatalf("answer is not XML: %v\n%s", err, raw)
			}
			m, _ := v.(map[string]any)
			return m
		}
	}
}

// scalar is a decoded value as text, so JSON numbers and XML text
// compare by what they say.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		b, _ := json.Marshal(x)
		return string(b)
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = scalar(item)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var (
	hexID = regexp.MustCompile(`^[0-9a-f]{24}$`)
	xxh   = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// sameShape compares an answer with the documented one: every
// documented key is there with the same value, except profile ids and
// hashes of the platform's own data, which must have the same form.
func sameShape(t *testing.T, file string, got, want map[string]any) {
	t.Helper()
	var cmp func(path string, g, w any)
	cmp = func(path string, g, w any) {
		switch wv := w.(type) {
		case map[string]any:
			gm, ok := g.(map[string]any)
			if !ok {
				if s, isText := g.(string); isText && strings.TrimSpace(s) == "" && len(wv) == 0 {
					return // an empty XML element: an empty object
				}
				t.Fatalf("%s: %s is %v, documented an object %v", file, path, g, w)
			}
			for k := range wv {
				cmp(path+"."+k, gm[k], wv[k])
			}
		case []any:
			gl, ok := g.([]any)
			if !ok {
				gl = []any{g} // XML: a list of one is its item
			}
			if len(gl) != len(wv) {
				t.Fatalf("%s: %s has %d items, documented %d", file, path, len(gl), len(wv))
			}
			for i := range wv {
				cmp(path, gl[i], wv[i])
			}
		default:
			ws, gs := scalar(w), scalar(g)
			switch {
			case hexID.MatchString(ws) && !strings.HasPrefix(path, ".profile_a") && !strings.HasPrefix(path, ".profile_b") && !strings.Contains(path, "profile_id_"):
				if !hexID.MatchString(gs) {
					t.Fatalf("%s: %s is %q, documented a profile id", file, path, gs)
				}
			case xxh.MatchString(ws) || ws == "<16 hex digits>":
				if !xxh.MatchString(gs) {
					t.Fatalf("%s: %s is %q, documented a hash", file, path, gs)
				}
			case gs != ws:
				t.Fatalf("%s: %s is %q, documented %q", file, path, gs, ws)
			}
		}
	}
	cmp("", got, want)
}
