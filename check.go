package relgraph

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/record"
	"github.com/relgraph/relgraph/kv"
)

// Problem is one violation of the store's invariants found by Check.
type Problem struct {
	Keyspace kv.Keyspace
	Key      []byte
	Msg      string
}

// String renders the problem with its key decoded.
func (p Problem) String() string {
	if p.Key == nil {
		return fmt.Sprintf("%s: %s", p.Keyspace, p.Msg)
	}
	return index.Describe(p.Keyspace, p.Key) + ": " + p.Msg
}

// Check walks the whole store in one read snapshot and reports every
// violation of the invariants below (the store's contract), each
// readable on its own:
//   - the format version is recorded and the schema decodes;
//   - every profile decodes, is in a declared database, and holds only
//     declared fields of their declared types;
//   - every index entry is one a profile implies, with the right value,
//     and every entry a profile implies exists (so emails are unique);
//   - every relation decodes against its type, has its reverse edge,
//     and both its profiles exist in the type's databases;
//   - every reverse edge has its relation;
//   - counters equal what the relations imply, exactly (float sums
//     are kept unrounded), and each top list is the head of its
//     ranking, of an allowed length.
//
// It reads everything and holds expected index entries in memory: O(n)
// time and memory. The error is for a failure to read, not a violation.
func (s *Store) Check(ctx context.Context) ([]Problem, error) {
	var problems []Problem
	err := s.View(ctx, func(tx *Tx) error {
		problems = checkTx(tx.kv)
		return nil
	})
	return problems, err
}

// checkTx is Check inside an open transaction, using the schema stored in
// it (not the store's in-memory copy, which it should equal).
func checkTx(tx kv.Tx) []Problem {
	c := &checker{tx: tx}
	c.run()
	return c.problems
}

type checker struct {
	tx       kv.Tx
	problems []Problem
	schema   *schema
	// expected maps keyspace + key of every implied entry to its value.
	expected map[string]string
	profiles map[string]bool // db ‖ pid of every decodable profile
}

func (c *checker) report(ks kv.Keyspace, key []byte, format string, args ...any) {
	c.problems = append(c.problems, Problem{Keyspace: ks, Key: bytes.Clone(key), Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) expect(ks kv.Keyspace, key []byte, val []byte) {
	k := string(ks) + "\x00" + string(key)
	if _, dup := c.expected[k]; dup && ks == index.Emails {
		c.report(ks, key, "two profiles hold this email")
	}
	c.expected[k] = string(val)
}

func (c *checker) run() {
	format, err := c.tx.Get(index.Meta, index.FormatKey)
	if err != nil {
		c.report(index.Meta, index.FormatKey, "cannot read: %v", err)
	}
	c.checkMeta()
	sc, err := loadSchema(c.tx)
	if err != nil {
		c.report(index.Meta, nil, "schema: %v", err)
		return // nothing else can be judged without the schema
	}
	want := FormatVersion
	if sc.feed.On {
		want = FormatVersionFeed // older builds must refuse the store
	}
	if err == nil && string(format) != want {
		c.report(index.Meta, index.FormatKey, "format version is %q, want %q (the change feed is on: %v)", format, want, sc.feed.On)
	}
	c.schema = sc
	c.expected = map[string]string{}
	c.profiles = map[string]bool{}
	c.checkProfiles()
	c.checkRelations()
	c.checkFeed()
	for _, ks := range []kv.Keyspace{index.Emails, index.Phones, index.Subs, index.Fields, index.Tags, index.ReverseEdges} {
		c.compareKeyspace(ks)
	}
	var missing []string
	for k := range c.expected {
		missing = append(missing, k)
	}
	slices.Sort(missing)
	for _, k := range missing {
		ks, key, _ := bytes.Cut([]byte(k), []byte{0})
		c.report(kv.Keyspace(ks), key, "missing: implied by the stored data but absent")
	}
}

// checkMeta reports meta keys that are none of the format version, the
// id generator's state and the schema's records, and a damaged id
// generator state. (The schema's records are checked by loadSchema.)
func (c *checker) checkMeta() {
	cur := c.cursor(index.Meta)
	if cur == nil {
		return
	}
	defer c.walked(index.Meta, cur)
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		switch {
		case bytes.Equal(k, index.FormatKey):
		case bytes.Equal(k, index.IDGenKey):
			if _, _, err := decodeIDGen(v); err != nil {
				c.report(index.Meta, k, "%v", err)
			}
		case bytes.Equal(k, index.FeedStateKey):
			if _, err := record.DecodeFeedState(v); err != nil {
				c.report(index.Meta, k, "%v", err)
			}
		case bytes.Equal(k, index.FeedConfigKey): // checked by loadSchema
		case bytes.Equal(k, index.SchemaGenKey):
			if len(v) != 8 {
				c.report(index.Meta, k, "schema generation of %d bytes, want 8", len(v))
			}
		case index.IsDatabaseKey(k) && len(k) == len(index.DatabaseKey(0)):
		case index.IsRelationTypeKey(k) && len(k) == len(index.RelationTypeKey(0)):
		default:
			c.report(index.Meta, k, "unknown meta key")
		}
	}
}

func (c *checker) cursor(ks kv.Keyspace) kv.Cursor {
	cur, err := c.tx.Cursor(ks)
	if err != nil {
		c.report(ks, nil, "cannot read: %v", err)
		return nil
	}
	return cur
}

// walked reports a walk that an engine error cut short: what it did not
// read was not checked.
func (c *checker) walked(ks kv.Keyspace, cur kv.Cursor) {
	if err := cur.Err(); err != nil {
		c.report(ks, nil, "cannot read all of it: %v", err)
	}
}

func (c *checker) checkProfiles() {
	cur := c.cursor(index.Profiles)
	if cur == nil {
		return
	}
	defer c.walked(index.Profiles, cur)
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) != 4+index.IDLen {
			c.report(index.Profiles, k, "malformed key")
			continue
		}
		dbID := binary.BigEndian.Uint32(k)
		d, ok := c.schema.dbs[dbID]
		if !ok {
			c.report(index.Profiles, k, "database %d is not declared", dbID)
			continue
		}
		p, err := decodeProfile(dbID, ProfileID(k[4:]), v)
		if err != nil {
			c.report(index.Profiles, k, "%v", err)
			continue
		}
		if p.ID.IsZero() {
			c.report(index.Profiles, k, "zero profile id")
		}
		for name, val := range p.Fields {
			f, ok := d.Field(name)
			switch {
			case !ok:
				c.report(index.Profiles, k, "field %q is not declared", name)
			case FieldType(record.ValueOf(val).Kind) != f.Type:
				c.report(index.Profiles, k, "field %q holds a %s, declared %s", name, record.ValueOf(val).Kind, f.Type)
			}
		}
		c.profiles[string(k)] = true
		for _, e := range indexEntries(d, p) {
			c.expect(e.Keyspace, e.Key, e.Value)
		}
	}
}

// expectedCounter accumulates what a counter record should hold.
type expectedCounter struct {
	rec record.Counter
	top map[string][]record.TopEntry // every relation's entry, unsorted
}

// checkRelations walks the adjacency keyspace: relations are checked
// and summed into the counters and top lists they imply; stored counters
// are compared with those sums.
func (c *checker) checkRelations() {
	counters := map[string]*expectedCounter{}
	storedCounters := map[string][]byte{}
	cur := c.cursor(index.Adjacency)
	if cur == nil {
		return
	}
	defer c.walked(index.Adjacency, cur)
	const head = 4 + index.IDLen // rel ‖ A
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if len(k) < head+1 {
			c.report(index.Adjacency, k, "malformed key")
			continue
		}
		switch k[head] {
		case index.TagCounter:
			if len(k) != head+1 {
				c.report(index.Adjacency, k, "malformed counter key")
				continue
			}
			storedCounters[string(k)] = bytes.Clone(v)
			continue
		case index.TagEdge:
		default:
			c.report(index.Adjacency, k, "unknown tag %d", k[head])
			continue
		}
		if len(k) != head+1+index.IDLen {
			c.report(index.Adjacency, k, "malformed key")
			continue
		}
		relID := binary.BigEndian.Uint32(k)
		rt, ok := c.schema.rels[relID]
		if !ok {
			c.report(index.Adjacency, k, "relation type %d is not declared", relID)
			continue
		}
		a, b := ProfileID(k[4:head]), ProfileID(k[head+1:])
		if !c.profiles[string(index.ProfileKey(rt.DatabaseA, a))] {
			c.report(index.Adjacency, k, "profile A %s does not exist in database %d", a, rt.DatabaseA)
		}
		if !c.profiles[string(index.ProfileKey(rt.DatabaseB, b))] {
			c.report(index.Adjacency, k, "profile B %s does not exist in database %d", b, rt.DatabaseB)
		}
		c.expect(index.ReverseEdges, index.ReverseEdgeKey(relID, b, a), nil)
		rec, err := decodeRelation(rt, a, b, v)
		if err != nil {
			c.report(index.Adjacency, k, "%v", err)
			continue
		}
		ck := string(index.CounterKey(relID, a))
		ec := counters[ck]
		if ec == nil {
			ec = &expectedCounter{rec: record.Counter{Props: map[string]record.PropCounter{}}, top: map[string][]record.TopEntry{}}
			counters[ck] = ec
		}
		ec.rec.Total++
		for _, p := range rt.Properties {
			val, has := rec.Weights[p.Name]
			if !has {
				continue
			}
			pc := ec.rec.Props[p.Name]
			if counts(val, has) {
				pc.Total++
			}
			if p.Aggregate == AggSum {
				if p.Type == PropInt {
					pc.SumInt = pc.SumInt.Add(val.(int64))
				} else {
					pc.SumFloat = pc.SumFloat.Add(val.(float64))
				}
			}
			if p.Aggregate == AggTop {
				ec.top[p.Name] = append(ec.top[p.Name], newTopEntry(p.Type, val, b))
			}
			ec.rec.Props[p.Name] = pc
		}
	}
	c.compareCounters(counters, storedCounters)
}

func (c *checker) compareCounters(want map[string]*expectedCounter, stored map[string][]byte) {
	for _, k := range record.SortedKeys(stored) {
		v := stored[k]
		key := []byte(k)
		ec := want[k]
		delete(want, k)
		if ec == nil {
			c.report(index.Adjacency, key, "counter of a profile with no relations")
			continue
		}
		got, err := decodeCounter(nil, ProfileID(key[4:4+index.IDLen]), v)
		if err != nil {
			c.report(index.Adjacency, key, "%v", err)
			continue
		}
		if got.Total != ec.rec.Total {
			c.report(index.Adjacency, key, "total is %d, the relations say %d", got.Total, ec.rec.Total)
		}
		names := map[string]bool{}
		for n := range got.Props {
			names[n] = true
		}
		for n, pc := range ec.rec.Props {
			if !pc.IsZero() {
				names[n] = true
			}
		}
		rt := c.schema.rels[binary.BigEndian.Uint32(key)]
		for _, n := range record.SortedKeys(names) {
			g, w := got.Props[n], ec.rec.Props[n]
			if g.Total != w.Total || g.SumInt != w.SumInt || !g.SumFloat.Equal(w.SumFloat) {
				c.report(index.Adjacency, key, "property %q is %+v, the relations say %+v", n, g, w)
			}
			if why := topMismatch(rt, n, g.Top, ec.top[n]); why != "" {
				c.report(index.Adjacency, key, "property %q: %s", n, why)
			}
		}
	}
	for _, k := range record.SortedKeys(want) {
		c.report(index.Adjacency, []byte(k), "missing: the profile has %d relations but no counter", want[k].rec.Total)
	}
}

// topMismatch says how a stored top list breaks its invariant (see counter.go)
// given every relation's entry, or returns "".
func topMismatch(rt *RelationType, name string, stored, all []record.TopEntry) string {
	if rt == nil {
		return "" // reported with the relations of the undeclared type
	}
	p, ok := rt.Property(name)
	if !ok || p.Aggregate != AggTop {
		if len(stored) > 0 {
			return "a top list for a property without a top aggregate"
		}
		return ""
	}
	slices.SortFunc(all, record.CompareTop)
	switch {
	case len(stored) > topCap(p):
		return fmt.Sprintf("top list of %d entries, more than %d", len(stored), topCap(p))
	case len(stored) < len(all) && len(stored) < p.Top:
		return fmt.Sprintf("top list of %d entries while %d relations hold it, fewer than %d", len(stored), len(all), p.Top)
	case len(stored) > len(all) || !slices.Equal(stored, all[:len(stored)]):
		return "top list is not the head of the ranking of its relations"
	}
	return ""
}

// compareKeyspace checks every stored entry of ks against the expected
// ones, removing those it finds.
func (c *checker) compareKeyspace(ks kv.Keyspace) {
	cur := c.cursor(ks)
	if cur == nil {
		return
	}
	defer c.walked(ks, cur)
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		ek := string(ks) + "\x00" + string(k)
		want, ok := c.expected[ek]
		if !ok {
			c.report(ks, k, "stray: no stored data implies this entry")
			continue
		}
		delete(c.expected, ek)
		if want != string(v) {
			c.report(ks, k, "value is %x, want %x", v, want)
		}
	}
}

// summarize renders the first problems of a report on one line.
func summarize(problems []Problem) string {
	var b strings.Builder
	for i, p := range problems {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(problems)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// checkFeed holds the change feed to its state: every kept number
// First..Last present, nothing past Last, their bytes summed as the
// state says, every record a change of a known kind. Changes below
// First are dropped ones retention has not deleted yet.
func (c *checker) checkFeed() {
	v, err := c.tx.Get(index.Meta, index.FeedStateKey)
	if err != nil {
		c.report(index.Meta, index.FeedStateKey, "cannot read: %v", err)
		return
	}
	st := record.FeedState{First: 1}
	if v != nil {
		if st, err = record.DecodeFeedState(v); err != nil {
			return // reported by checkMeta
		}
	}
	if !c.schema.feed.On && st.First != st.Last+1 {
		c.report(index.Meta, index.FeedStateKey, "the feed is off but keeps changes %d to %d", st.First, st.Last)
	}
	cur := c.cursor(index.Changes)
	if cur == nil {
		return
	}
	defer c.walked(index.Changes, cur)
	want, bytesKept := st.First, uint64(0)
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		seq, ok := index.ParseChangeKey(k)
		switch {
		case !ok:
			c.report(index.Changes, k, "not a change key")
			continue
		case seq > st.Last:
			c.report(index.Changes, k, "change %d is past the feed's last, %d", seq, st.Last)
			continue
		case seq >= st.First && seq != want:
			c.report(index.Changes, k, "changes %d to %d are missing", want, seq-1)
		}
		if seq >= st.First {
			want = seq + 1
			bytesKept += uint64(len(v))
		}
		rc, err := record.DecodeChange(v)
		if err != nil {
			c.report(index.Changes, k, "%v", err)
			continue
		}
		if int(rc.Kind) >= len(kindCodes) || rc.Kind == 0 || int(rc.Op) >= len(opCodes) || rc.Op == 0 {
			c.report(index.Changes, k, "unknown kind %d or operation %d", rc.Kind, rc.Op)
		}
	}
	if want <= st.Last {
		c.report(index.Changes, index.ChangeKey(want), "changes %d to %d are missing", want, st.Last)
	}
	if bytesKept != st.Bytes {
		c.report(index.Meta, index.FeedStateKey, "the state counts %d bytes of changes, the kept ones hold %d", st.Bytes, bytesKept)
	}
}
