package relgraph

import (
	"math"
	"slices"
)

// FieldUpdate is a functional update of a field, the platform's
// "Database fields functional update": a value of ProfileData.Fields
// that changes the stored value instead of replacing it.
//
//   - "set": Value replaces the field (as a plain value does);
//   - "unset": the field is removed (as nil does);
//   - "incr": Value (int64 for an int field, float64 for a float one;
//     negative decreases) is added to the stored value, a missing one
//     counting as 0; int64 overflow or a non-finite float is a 400;
//   - "add", "delete": Value ([]string) is added to or removed from a
//     tags field.
//
// "upsert" works on object fields, which relgraph does not have: it is
// a 400, as is any other action or a value of the wrong type.
type FieldUpdate struct {
	Action string
	Value  any
}

// Field update actions.
const (
	ActionSet    = "set"
	ActionUnset  = "unset"
	ActionIncr   = "incr"
	ActionAdd    = "add"
	ActionDelete = "delete"
)

// normalizeUpdate checks a functional update of field f and returns its
// canonical form: a plain value or nil for set and unset, else the
// update with its value normalized.
func normalizeUpdate(f Field, u FieldUpdate) (any, error) {
	switch u.Action {
	case ActionSet:
		if u.Value == nil {
			return nil, invalidf("field %q: set needs a value (unset removes the field)", f.Name)
		}
		return normalizeFieldValue(f, u.Value)
	case ActionUnset:
		if u.Value != nil {
			return nil, invalidf("field %q: unset takes no value", f.Name)
		}
		return nil, nil
	case "":
		return nil, invalidf("field %q: an update needs an action (set, unset, incr, add, delete)", f.Name)
	case ActionIncr, ActionAdd, ActionDelete:
		if u.Value == nil {
			return nil, invalidf("field %q: %s needs a value", f.Name, u.Action)
		}
	}
	switch u.Action {
	case ActionIncr:
		switch f.Type {
		case FieldInt, FieldFloat:
		default:
			return nil, invalidf("field %q (%s): incr needs an int or float field", f.Name, f.Type)
		}
		v, err := normalizeFieldValue(f, u.Value)
		if err != nil {
			return nil, err
		}
		return FieldUpdate{ActionIncr, v}, nil
	case ActionAdd, ActionDelete:
		if f.Type != FieldTags {
			return nil, invalidf("field %q (%s): %s needs a tags field", f.Name, f.Type, u.Action)
		}
		v, err := normalizeFieldValue(f, u.Value)
		if err != nil {
			return nil, err
		}
		return FieldUpdate{u.Action, v}, nil
	case "upsert":
		return nil, invalidf("field %q: upsert works on object fields, which relgraph does not have", f.Name)
	}
	return nil, invalidf("field %q: unknown action %q (set, unset, incr, add, delete)", f.Name, truncate(u.Action))
}

// resolveUpdates turns the functional updates of normalized data into
// the values they give over the stored fields of p.
func (data ProfileData) resolveUpdates(p *Profile) (ProfileData, error) {
	var resolved map[string]any
	for name, v := range data.Fields {
		u, ok := v.(FieldUpdate)
		if !ok {
			continue
		}
		if resolved == nil {
			resolved = make(map[string]any, len(data.Fields))
			for k, v := range data.Fields {
				resolved[k] = v
			}
		}
		old := p.Fields[name]
		switch u.Action {
		case ActionIncr:
			switch d := u.Value.(type) {
			case int64:
				cur, _ := old.(int64)
				sum, err := addInt(cur, d)
				if err != nil {
					return data, invalidf("field %q: %d + %d overflows int64", name, cur, d)
				}
				resolved[name] = sum
			case float64:
				cur, _ := old.(float64)
				sum := cur + d
				if math.IsInf(sum, 0) {
					return data, invalidf("field %q: %g + %g overflows float64", name, cur, d)
				}
				resolved[name] = sum
			}
		case ActionAdd, ActionDelete:
			have, _ := old.([]string)
			tags := slices.Clone(have)
			for _, t := range u.Value.([]string) {
				switch i := slices.Index(tags, t); {
				case u.Action == ActionAdd && i < 0:
					tags = append(tags, t)
				case u.Action == ActionDelete && i >= 0:
					tags = slices.Delete(tags, i, i+1)
				}
			}
			if len(tags) > MaxTagsPerField {
				return data, invalidf("field %q: %d tags, at most %d per field", name, len(tags), MaxTagsPerField)
			}
			slices.Sort(tags)
			resolved[name] = tags
		}
	}
	if resolved != nil {
		data.Fields = resolved
	}
	return data, nil
}
