package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relgraph/relgraph"
	"github.com/relgraph/relgraph/internal/importer"
)

// realisticLines are lines of the kinds profiles.py writes, and of the
// kinds it does not but a fair comparison must still treat alike: a
// repeated email updating fields, null unsetting one, an empty phone
// list clearing the phones, tags replaced, and lines refused for bad
// JSON, a wrong type, an undeclared, unknown system or read-only field,
// an over-long string, a bad email or phone, or no email.
var realisticLines = []string{
	`{"email": "ann@example.com", "CRM_ID": 1, "_fname": "Ann", "phones": ["(617) 658-7472", "+49 30 6194349"], "interests": "books, music", "city": "Berlin", "ltv": 5.5, "vip": true, "signup": "2024-01-02", "notes": "n"}`,
	`{"email": "bob@example.com", "CRM_ID": 2, "phones": ["+1 212 649 7128"], "interests": "sports"}`,
	`{"email": "ANN@example.com", "city": null, "ltv": null, "phones": [], "interests": "food"}`,
	`{"email": "bob@example.com", "_lname": "Novak", "vip": false}`,
	`{"email": "bob@example.com", "interests": null}`,
	`{"email": broken`,
	`{"email": "c@example.com", "CRM_ID": "abc"}`,
	`{"email": "d@example.com", "loyalty_tier": "gold"}`,
	`{"email": "e@example.com", "_foo": "x"}`,
	`{"email": "f@example.com", "_createtime": "2020-01-01"}`,
	`{"email": "g@example.com", "notes": "` + strings.Repeat("x", relgraph.MaxStringBytes+1) + `"}`,
	`{"email": "h@example.com", "city": "` + strings.Repeat("y", relgraph.MaxIndexedStringBytes+1) + `"}`,
	`{"email": "not-an-email"}`,
	`{"email": "i@example.com", "phones": ["12"]}`,
	`{"CRM_ID": 9}`,
	`{"email": "j@example.com", "signup": "2023-05-06", "notes": "called"}`,
}

// TestRealisticLoadsAgree: on the same lines, SQLite's loader of the
// realistic row creates, updates and refuses what relgraph's import
// does, and ends holding the same fields, phones and tags for every
// profile, so the row compares like with like.
func TestRealisticLoadsAgree(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lines.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(realisticLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := relgraph.Database{ID: 1, Name: "customers", Fields: []relgraph.Field{
		{Name: "CRM_ID", Type: relgraph.FieldInt}, {Name: "interests", Type: relgraph.FieldTags},
		{Name: "city", Type: relgraph.FieldString}, {Name: "ltv", Type: relgraph.FieldFloat},
		{Name: "vip", Type: relgraph.FieldBool}, {Name: "signup", Type: relgraph.FieldDate},
		{Name: "notes", Type: relgraph.FieldString, Unindexed: true}}}
	s, err := relgraph.Open(filepath.Join(dir, "r.db"), &relgraph.Options{PhoneRegion: realisticRegion, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := importer.Run(ctx, s, f, importer.Options{DB: db.ID, Matching: relgraph.ModeEmail})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 3 || sum.Updated != 3 || sum.Failed != 10 {
		t.Fatalf("relgraph: %s; the lines are written for 3 created, 3 updated, 10 failed", sum)
	}
	sq, err := openRealisticSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	f, err = os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := sq.load(f, &db)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if loaded.created != sum.Created || loaded.updated != sum.Updated || loaded.failed != sum.Failed {
		t.Fatalf("relgraph: %s; SQLite: %d created, %d updated, %d failed", sum, loaded.created, loaded.updated, loaded.failed)
	}
	text := func(v any) string {
		switch x := v.(type) {
		case nil:
			return "<none>"
		case []byte:
			return string(x)
		case time.Time:
			return x.Format("2006-01-02")
		case bool: // SQLite keeps 1 and 0
			if x {
				return "1"
			}
			return "0"
		}
		return fmt.Sprint(v)
	}
	profiles := 0
	err = s.EachProfile(ctx, db.ID, func(p *relgraph.Profile) error {
		profiles++
		var id int64
		got := make([]any, len(sqlColumns))
		dest := []any{&id}
		for i := range got {
			dest = append(dest, &got[i])
		}
		if err := sq.db.QueryRow(`SELECT id, `+columnList()+` FROM profiles WHERE email = ?`, p.Email).Scan(dest...); err != nil {
			return fmt.Errorf("%s in SQLite: %w", p.Email, err)
		}
		var have, want []string
		for i, c := range sqlColumns {
			have = append(have, c.field+"="+text(got[i]))
			want = append(want, c.field+"="+text(p.Fields[c.field]))
		}
		list := func(query string) string {
			rows, err := sq.db.Query(query, id)
			if err != nil {
				return err.Error()
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var x string
				rows.Scan(&x)
				out = append(out, x)
			}
			return fmt.Sprint(out)
		}
		have = append(have, "phones="+list(`SELECT phone FROM phones WHERE profile = ? ORDER BY phone`), "tags="+list(`SELECT tag FROM tags WHERE profile = ? ORDER BY tag`))
		tags, _ := p.Fields["interests"].([]string)
		want = append(want, "phones="+fmt.Sprint(slices.Sorted(slices.Values(p.Phones))), "tags="+fmt.Sprint(slices.Sorted(slices.Values(tags))))
		if !slices.Equal(have, want) {
			t.Errorf("%s:\nSQLite   %q\nrelgraph %q", p.Email, have, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	sq.db.QueryRow(`SELECT count(*) FROM profiles`).Scan(&rows)
	if rows != profiles || profiles != 3 {
		t.Errorf("SQLite holds %d profiles, relgraph %d (want 3)", rows, profiles)
	}
}

func columnList() string {
	var cols []string
	for _, c := range sqlColumns {
		cols = append(cols, c.column)
	}
	return strings.Join(cols, ", ")
}
