package relgraph

import (
	"github.com/relgraph/relgraph/internal/record"
)

// encodeRelation returns the stored bytes of a relation.
func encodeRelation(r *record.Relation) ([]byte, error) {
	b, err := record.EncodeRelation(r)
	if err != nil {
		return nil, storageErr("encode relation", err)
	}
	return b, nil
}

// decodeRelation decodes stored bytes and checks every weight against
// the relation type; anything else is ErrCorrupt.
func decodeRelation(rt *RelationType, a, b ProfileID, v []byte) (*record.Relation, error) {
	var buf [8]record.Weight
	var r record.Relation
	ws, err := readRelation(rt, a, b, v, &r.Created, &r.Updated, buf[:0])
	if err != nil {
		return nil, err
	}
	r.Weights = weightsOf(ws)
	return &r, nil
}

// readRelation reads a sealed relation record in place: created and
// updated, and the weights appended to ws (names from the schema,
// strings pointing into v). Every weight is checked against the
// relation type; anything else is ErrCorrupt.
func readRelation(rt *RelationType, a, b ProfileID, v []byte, created, updated *int64, ws []record.Weight) ([]record.Weight, error) {
	ws, err := record.ParseRelation(v, rt.lookup, created, updated, ws)
	if err != nil {
		return nil, corruptf("relation %d %s→%s: %v", rt.ID, b, a, err)
	}
	return ws, nil
}

// lookup finds a declared property by the bytes of its name
// (record.Lookup): the schema's copy of the name, and its type.
func (r *RelationType) lookup(name []byte) (string, record.Type, bool) {
	p, ok := r.Property(string(name)) // no allocation: the conversion is only compared
	return p.Name, record.Type(p.Type), ok
}

// weightsOf builds the map of ws.
func weightsOf(ws []record.Weight) Weights {
	m := make(Weights, len(ws))
	for _, w := range ws {
		m[w.Name] = w.Value()
	}
	return m
}
