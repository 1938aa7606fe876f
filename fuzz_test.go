package relgraph

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/relgraph/relgraph/index"
	"github.com/relgraph/relgraph/internal/fuzzseed"
	"github.com/relgraph/relgraph/internal/record"
)

// Stored-value decoders: any bytes give a value or an error, never a
// panic or a hang.

func sampleRecords(t testing.TB) (profile, relation, counter, schemaDB, schemaRel []byte) {
	p := &Profile{Email: "a@x.io", Phones: []string{"+15550000001"}, Fields: map[string]any{"n": int64(1), "t": []string{"a", "b"}, "s": "x"},
		Subscriptions: []Subscription{{ResourceID: 1, Channel: ChannelEmail, Email: "a@x.io"}}}
	profile, _ = encodeProfile(p)
	relation, _ = record.EncodeRelation(&record.Relation{Weights: Weights{"i": int64(2), "f": 0.5, "b": true, "s": "x"}, Created: 1, Updated: 2})
	counter, _ = record.EncodeCounter(&record.Counter{Total: 2, Props: map[string]record.PropCounter{"i": {Total: 2, SumInt: record.Int128{Lo: 5}},
		"f": {Total: 2, SumFloat: record.FloatSum{}.Add(0.5).Add(1e300)},
		"t": {Total: 2, Top: []record.TopEntry{newTopEntry(PropInt, int64(9), ProfileID{2}), newTopEntry(PropInt, int64(1), ProfileID{1})}}}})
	schemaDB, _ = record.EncodeDecl((&Database{ID: 1, Fields: []Field{{Name: "n", Type: FieldInt}}}).decl())
	schemaRel, _ = record.EncodeDecl((&RelationType{ID: 3, DatabaseA: 1, DatabaseB: 1, Properties: []Property{{Name: "i", Type: PropInt}}}).decl())
	return
}

var fuzzRel = &RelationType{ID: 3, DatabaseA: 1, DatabaseB: 1, Properties: []Property{
	{Name: "i", Type: PropInt, Aggregate: AggSum}, {Name: "f", Type: PropFloat, Aggregate: AggSum},
	{Name: "b", Type: PropBool, Aggregate: AggCount}, {Name: "s", Type: PropString, Aggregate: AggCount}}}

func TestWriteFuzzSeeds(t *testing.T) {
	if !fuzzseed.Enabled() {
		t.Skip("set RELGRAPH_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	p, r, c, d, rt := sampleRecords(t)
	fuzzseed.Write(t, "FuzzDecodeProfile", p, p[:len(p)/2], []byte{})
	fuzzseed.Write(t, "FuzzDecodeRelation", r, r[:len(r)-5], []byte{0x80, 0, 0, 0, 0})
	fuzzseed.Write(t, "FuzzDecodeCounter", c, c[:3])
	fuzzseed.Write(t, "FuzzDecodeSchema", d, rt)
}

func FuzzDecodeProfile(f *testing.F) {
	p, _, _, _, _ := sampleRecords(f)
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := decodeProfile(1, ProfileID{1}, b); err == nil {
			// What decodes re-encodes to bytes that decode the same.
			again, err := encodeProfile(got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeProfile(1, ProfileID{1}, again)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", got, back, err)
			}
		} else if codeOf(err) != 500 {
			t.Fatalf("error without the corrupt code: %v", err)
		}
		// Unsealed bytes reach the msgpack decoder too.
		decodeProfile(1, ProfileID{1}, record.Seal(append([]byte{}, b...)))
	})
}

func FuzzDecodeRelation(f *testing.F) {
	_, r, _, _, _ := sampleRecords(f)
	f.Add(r)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, record.Seal(append([]byte{}, b...))} {
			rec, err := decodeRelation(fuzzRel, ProfileID{1}, ProfileID{2}, in)
			if err != nil {
				continue
			}
			again, err := record.EncodeRelation(rec)
			if err != nil {
				t.Fatal(err)
			}
			// One encoding per record: what decodes is what encodes.
			if !bytes.Equal(again, in) {
				t.Fatalf("decoded %x, which encodes as %x", in, again)
			}
			back, err := decodeRelation(fuzzRel, ProfileID{1}, ProfileID{2}, again)
			if err != nil || !reflect.DeepEqual(back, rec) {
				t.Fatalf("decoded %+v, re-encoded and decoded %+v, %v", rec, back, err)
			}
		}
	})
}

func FuzzDecodeCounter(f *testing.F) {
	_, _, c, _, _ := sampleRecords(f)
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeCounter(nil, ProfileID{1}, b)
		decodeCounter(nil, ProfileID{1}, record.Seal(append([]byte{}, b...)))
	})
}

func FuzzDecodeSchema(f *testing.F) {
	_, _, _, d, rt := sampleRecords(f)
	f.Add(d)
	f.Add(rt)
	f.Fuzz(func(t *testing.T, b []byte) {
		tx := &memTx{data: map[string][]byte{
			string(index.DatabaseKey(1)):     b,
			string(index.RelationTypeKey(3)): b,
		}}
		loadSchema(tx)
		tx.data[string(index.DatabaseKey(1))] = record.Seal(append([]byte{}, b...))
		tx.data[string(index.RelationTypeKey(3))] = record.Seal(append([]byte{}, b...))
		loadSchema(tx)
	})
}
