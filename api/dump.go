package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/relgraph/relgraph"
)

// A whole store as JSON Lines (docs/spec.md §8, "Export and import of a
// whole store"): WriteStore writes it (relgraph export without -db-id,
// GET /admin/export), RestoreStore restores it (relgraph import of a
// file that starts with its schema line). Every
// line is one JSON object with a "kind":
//
//	{"kind":"schema","format":1,"databases":[…],"relation_types":[…]}
//	{"kind":"profile","db_id":1,"profile_id":"…","created":"…","updated":"…","data":{…}}
//	{"kind":"relation","rel_id":3,"profile_a":"…","profile_b":"…","created":"…","updated":"…","weights":{…}}
//
// The schema comes first, then every database's profiles in id order,
// then every relation type's relations by A then B: a restore meets each
// profile before its relations. Times are RFC 3339 with nanoseconds, in
// UTC; counters are not written: each relation's restore recomputes
// them, as any relation write does. Writing the same store twice gives
// the same bytes.

// dumpFormat is the version of the line format.
const dumpFormat = 1

type dumpSchema struct {
	Kind          string                  `json:"kind"`
	Format        int                     `json:"format"`
	Databases     []relgraph.Database     `json:"databases"`
	RelationTypes []relgraph.RelationType `json:"relation_types"`
}

type dumpProfile struct {
	Kind      string         `json:"kind"`
	DB        uint32         `json:"db_id"`
	ProfileID string         `json:"profile_id"`
	Created   string         `json:"created"`
	Updated   string         `json:"updated"`
	Data      map[string]any `json:"data"`
}

type dumpRelation struct {
	Kind    string         `json:"kind"`
	Rel     uint32         `json:"rel_id"`
	A       string         `json:"profile_a"`
	B       string         `json:"profile_b"`
	Created string         `json:"created"`
	Updated string         `json:"updated"`
	Weights map[string]any `json:"weights"`
}

func dumpTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func nanoTime(n int64) string { return dumpTime(time.Unix(0, n)) }

// WriteStore writes the whole store s to w, a line at a time from one
// snapshot per database and per relation type (a store written to
// meanwhile gives lines of different moments; stop writers, or export
// a backup, for one moment), and says on progress (when not nil) how
// many lines it wrote, every 100,000. It returns the lines written.
func WriteStore(ctx context.Context, s *relgraph.Store, w io.Writer, progress io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	lines := 0
	line := func(v any) error {
		lines++
		if progress != nil && lines%100_000 == 0 {
			fmt.Fprintf(progress, "export: %d lines\n", lines)
		}
		return enc.Encode(v)
	}
	dbs, rels := s.Databases(), s.RelationTypes()
	if err := line(dumpSchema{Kind: "schema", Format: dumpFormat, Databases: dbs, RelationTypes: rels}); err != nil {
		return lines, err
	}
	for _, d := range dbs {
		err := s.EachProfile(ctx, d.ID, func(p *relgraph.Profile) error {
			data := ExportLine(p)
			delete(data, "profile_id")
			return line(dumpProfile{Kind: "profile", DB: d.ID, ProfileID: p.ID.String(), Created: dumpTime(p.Created), Updated: dumpTime(p.Updated), Data: data})
		})
		if err != nil {
			return lines, err
		}
	}
	for _, r := range rels {
		err := s.EachRelation(ctx, r.ID, func(v *relgraph.RelationView) error {
			return line(dumpRelation{Kind: "relation", Rel: r.ID, A: v.ProfileA.String(), B: v.ProfileB.String(),
				Created: nanoTime(v.Created), Updated: nanoTime(v.Updated), Weights: v.Weights()})
		})
		if err != nil {
			return lines, err
		}
	}
	return lines, bw.Flush()
}

// IsStoreExport reports whether r's first line (of any length up to
// what a restore reads) is the schema line of a whole store's export,
// so an import restores it rather than reading profile lines. It reads
// r past that line.
func IsStoreExport(r io.Reader) bool {
	lines := exportLines(r)
	if !lines.Scan() {
		return false
	}
	var head struct{ Kind string }
	return json.Unmarshal(lines.Bytes(), &head) == nil && head.Kind == "schema"
}

// dumpBatch is how many lines one restore transaction takes.
const dumpBatch = 2_000

// maxDumpLine bounds one line of a whole store's export.
const maxDumpLine = 64 << 20

// RestoreStore reads a whole store's export from r into s: the schema
// applied, then its profiles and relations with their ids and times, a
// transaction per dumpBatch lines. A line that does not restore stops it,
// naming the line; the lines before it are kept (a restore is resumed by
// running it again: restoring a line again changes nothing). It returns
// the lines restored.
func RestoreStore(ctx context.Context, s *relgraph.Store, r io.Reader, progress io.Writer) (int, error) {
	lines := exportLines(r)
	if !lines.Scan() {
		return 0, fmt.Errorf("line 1: %w", orEOF(lines.Err()))
	}
	first := bytes.TrimSpace(lines.Bytes())
	var schema dumpSchema
	if err := strictJSON(first, &schema); err != nil || schema.Kind != "schema" {
		return 0, fmt.Errorf("line 1: not the schema line of a whole store's export (%v)", err)
	}
	if schema.Format != dumpFormat {
		return 0, fmt.Errorf("line 1: export format %d; this relgraph reads format %d", schema.Format, dumpFormat)
	}
	if err := schemaFits(s, schema); err != nil {
		return 0, fmt.Errorf("line 1: %w", err)
	}
	if err := s.ApplySchema(ctx, schema.Databases, schema.RelationTypes); err != nil {
		return 0, fmt.Errorf("line 1: the schema: %w", err)
	}
	restored := 1
	type line struct {
		no   int // its number in the file
		text []byte
	}
	var pending []line
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		failed := -1 // the index of the line that did not restore
		restore := func(lines []line) error {
			return s.Update(ctx, func(tx *relgraph.Tx) error {
				for i, l := range lines {
					if err := restoreLine(tx, s, l.text); err != nil {
						failed = i
						return fmt.Errorf("line %d: %w", l.no, err)
					}
				}
				return nil
			})
		}
		if err := restore(pending); err != nil {
			// The lines before the one that failed stay: they are
			// restored again, in a transaction of their own.
			if failed > 0 {
				keep := failed
				if rerr := restore(pending[:keep]); rerr == nil {
					restored += keep
				}
			}
			return err
		}
		restored += len(pending)
		if progress != nil {
			fmt.Fprintf(progress, "import: %d lines restored\n", restored)
		}
		pending = pending[:0]
		return nil
	}
	for no := 2; lines.Scan(); no++ {
		b := bytes.TrimSpace(lines.Bytes())
		if len(b) == 0 {
			continue
		}
		pending = append(pending, line{no, bytes.Clone(b)})
		if len(pending) == dumpBatch {
			if err := flush(); err != nil {
				return restored, err
			}
		}
	}
	if err := lines.Err(); err != nil {
		flush() // the lines read before it stay
		return restored, fmt.Errorf("reading the export: %w", err)
	}
	return restored, flush()
}

// exportLines reads an export a line at a time, a line up to
// maxDumpLine bytes (a longer one is bufio.ErrTooLong).
func exportLines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxDumpLine)
	return sc
}

// orEOF is err, or io.EOF for an input that ended without one.
func orEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// schemaFits refuses an export whose schema would change a declaration
// the store already has: restoring an export never rewrites a store's
// schema (apply a schema with relgraph schema apply, which says what it
// changes). Declarations the store lacks are created; those it has and
// the export lacks stay.
func schemaFits(s *relgraph.Store, schema dumpSchema) error {
	var differ []string
	for _, d := range schema.Databases {
		have, err := s.Database(d.ID)
		if err != nil {
			continue // new
		}
		if !sameJSON(have, d) {
			differ = append(differ, fmt.Sprintf("database %d", d.ID))
		}
	}
	for _, r := range schema.RelationTypes {
		have, err := s.RelationType(r.ID)
		if err != nil {
			continue
		}
		if !sameJSON(have, r) {
			differ = append(differ, fmt.Sprintf("relation type %d", r.ID))
		}
	}
	if len(differ) > 0 {
		return fmt.Errorf("the export declares %s differently from this store: restore into a new store, or make the schemas agree first (relgraph schema show, schema apply)", strings.Join(differ, " and "))
	}
	return nil
}

// sameJSON reports whether two declarations write the same JSON, the
// form an export holds them in.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// restoreLine restores one profile or relation line in tx.
func restoreLine(tx *relgraph.Tx, s *relgraph.Store, b []byte) error {
	var head struct{ Kind string }
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	switch head.Kind {
	case "profile":
		var p dumpProfile
		if err := strictJSON(b, &p); err != nil {
			return err
		}
		id, err := relgraph.ParseProfileID(p.ProfileID)
		if err != nil {
			return err
		}
		created, updated, err := dumpTimes(p.Created, p.Updated)
		if err != nil {
			return err
		}
		d, err := s.Database(p.DB)
		if err != nil {
			return err
		}
		data, err := ProfileData(p.Data, &d)
		if err != nil {
			return err
		}
		_, err = tx.RestoreProfileAt(p.DB, id, data, created, updated)
		return err
	case "relation":
		var r dumpRelation
		if err := strictJSON(b, &r); err != nil {
			return err
		}
		a, err := relgraph.ParseProfileID(r.A)
		if err != nil {
			return err
		}
		bID, err := relgraph.ParseProfileID(r.B)
		if err != nil {
			return err
		}
		created, updated, err := dumpTimes(r.Created, r.Updated)
		if err != nil {
			return err
		}
		rt, err := s.RelationType(r.Rel)
		if err != nil {
			return err
		}
		weights, err := dumpWeights(rt, r.Weights)
		if err != nil {
			return err
		}
		return tx.RestoreRelation(r.Rel, a, bID, weights, created, updated)
	}
	return fmt.Errorf("kind %q: a line is a profile or a relation (the schema is the first line only)", head.Kind)
}

// strictJSON decodes b into v, numbers as json.Number, refusing keys v
// does not have.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func dumpTimes(created, updated string) (time.Time, time.Time, error) {
	c, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return c, c, fmt.Errorf("created: %w", err)
	}
	u, err := time.Parse(time.RFC3339Nano, updated)
	if err != nil {
		return c, u, fmt.Errorf("updated: %w", err)
	}
	return c, u, nil // their range is the store's to check (RestoreProfileAt)
}

// dumpWeights reads a relation line's weights by their declared types:
// a JSON number as the int or float its property is.
func dumpWeights(rt relgraph.RelationType, in map[string]any) (relgraph.Weights, error) {
	out := make(relgraph.Weights, len(in))
	for name, v := range in {
		p, ok := rt.Property(name)
		if !ok {
			return nil, fmt.Errorf("property %q is not declared in relation type %d", name, rt.ID)
		}
		n, isNumber := v.(json.Number)
		switch {
		case isNumber && p.Type == relgraph.PropInt:
			x, err := strconv.ParseInt(n.String(), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("property %q: %w", name, err)
			}
			out[name] = x
		case isNumber && p.Type == relgraph.PropFloat:
			x, err := strconv.ParseFloat(n.String(), 64)
			if err != nil {
				return nil, fmt.Errorf("property %q: %w", name, err)
			}
			out[name] = x
		default:
			out[name] = v // bool and string as they are; the store checks them
		}
	}
	return out, nil
}

// ExportLine is a profile as an import line: ImportLine of its answer.
func ExportLine(p *relgraph.Profile) map[string]any { return ImportLine(ProfileJSON(p)) }

// ImportLine turns a profile answer (ProfileJSON's, or profiles/list's
// read from a server) into an import line, in place: profile_id plus
// its data, without db_id and the fields an import refuses (those the
// platform computes).
func ImportLine(m map[string]any) map[string]any {
	m["profile_id"] = m["id"]
	delete(m, "id")
	delete(m, "db_id")
	for _, k := range relgraph.ReadOnlyFields { // computed: an import refuses them
		delete(m, k)
	}
	if m["email"] == nil {
		delete(m, "email")
	}
	return m
}
