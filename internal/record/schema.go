package record

import (
	"fmt"
)

// The schema's declarations as stored (msgpack by their tags, sealed),
// one per meta key: a database's under "db/" ‖ id, a relation type's
// under "rel/" ‖ id (index.DatabaseKey, index.RelationTypeKey).

// DatabaseDecl is a database's declaration.
type DatabaseDecl struct {
	ID     uint32      `msgpack:"id"`
	Name   string      `msgpack:"name"`
	Fields []FieldDecl `msgpack:"fields,omitempty"`
	// Description, UITags and PhoneRegion were added after the first
	// releases; a declaration without them (every older one) decodes
	// with them empty.
	Description string   `msgpack:"description,omitempty"`
	UITags      []string `msgpack:"ui_tags,omitempty"`
	PhoneRegion string   `msgpack:"phone_region,omitempty"`
}

// FieldDecl is a custom field's declaration.
type FieldDecl struct {
	Name      string `msgpack:"name"`
	Type      string `msgpack:"type"`
	Unindexed bool   `msgpack:"unindexed,omitempty"`
}

// RelationTypeDecl is a relation type's declaration.
type RelationTypeDecl struct {
	ID         uint32         `msgpack:"id"`
	Name       string         `msgpack:"name"`
	DatabaseA  uint32         `msgpack:"database_a"`
	DatabaseB  uint32         `msgpack:"database_b"`
	Properties []PropertyDecl `msgpack:"properties,omitempty"`
}

// PropertyDecl is a relation property's declaration.
type PropertyDecl struct {
	Name      string `msgpack:"name"`
	Type      string `msgpack:"type"`
	Aggregate string `msgpack:"aggregate,omitempty"`
	Top       int    `msgpack:"top,omitempty"`
}

// EncodeDecl returns the stored bytes of a declaration (a *DatabaseDecl
// or a *RelationTypeDecl), sealed.
func EncodeDecl(d any) ([]byte, error) {
	b, err := Encode(d)
	if err != nil {
		return nil, err
	}
	return Seal(b), nil
}

// DecodeDecl decodes stored bytes into d (a *DatabaseDecl or a
// *RelationTypeDecl): sealed, one well-formed record with no key d
// lacks. Whether the declaration is valid is the schema's to check.
func DecodeDecl(b []byte, d any) error {
	body, err := Unseal(b)
	if err != nil {
		return err
	}
	if err := Unmarshal(body, d); err != nil {
		return fmt.Errorf("does not decode: %w", err)
	}
	return nil
}
