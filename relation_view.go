package relgraph

import (
	"math"

	"github.com/relgraph/relgraph/internal/record"
)

// RelationView is one relation as Tx.ScanRelations hands it to its
// callback: read in place from the store, with no map and no
// allocation. It is valid only during the callback (the next relation
// reuses it; what the callback writes into it is not read back);
// Weights copies the properties into a map of the caller's own.
type RelationView struct {
	ProfileA  ProfileID
	ProfileB  ProfileID
	DatabaseB uint32
	Created   int64 // Unix nanoseconds
	Updated   int64 // Unix nanoseconds
	weights   []record.Weight
}

// weight finds property name among the relation's set properties, if
// it has type t.
func (v *RelationView) weight(name string, t PropertyType) (record.Weight, bool) {
	w, ok := record.FindWeight(v.weights, name)
	return w, ok && w.Type == record.Type(t)
}

// Int is int property name's value; 0 and false when the relation does
// not have it set or it is not an int property.
func (v *RelationView) Int(name string) (int64, bool) {
	if w, ok := v.weight(name, PropInt); ok {
		return int64(w.Bits), true
	}
	return 0, false
}

// Float is float property name's value; 0 and false when the relation
// does not have it set or it is not a float property.
func (v *RelationView) Float(name string) (float64, bool) {
	if w, ok := v.weight(name, PropFloat); ok {
		return math.Float64frombits(w.Bits), true
	}
	return 0, false
}

// Bool is bool property name's value; false and false when the
// relation does not have it set or it is not a bool property.
func (v *RelationView) Bool(name string) (value, ok bool) {
	if w, ok := v.weight(name, PropBool); ok {
		return w.Bits == 1, true
	}
	return false, false
}

// String is string property name's value (a copy); "" and false when
// the relation does not have it set or it is not a string property.
func (v *RelationView) String(name string) (string, bool) {
	if w, ok := v.weight(name, PropString); ok {
		return string(w.Str), true
	}
	return "", false
}

// Len is the number of properties the relation has set.
func (v *RelationView) Len() int { return len(v.weights) }

// Weights is the relation's properties as RelationItem holds them: a
// new map (int64, float64, bool or string values), the caller's to keep.
func (v *RelationView) Weights() Weights { return weightsOf(v.weights) }

// Item is the relation as Relations returns it, the caller's to keep.
func (v *RelationView) Item() RelationItem {
	return RelationItem{ProfileA: v.ProfileA, ProfileB: v.ProfileB, DatabaseB: v.DatabaseB,
		Weights: v.Weights(), Created: v.Created, Updated: v.Updated}
}
