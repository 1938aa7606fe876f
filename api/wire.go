package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A request body, JSON or XML, is decoded into one tree of Go values:
// map[string]any for objects, []any for lists, json.Number for JSON
// numbers, string, bool and nil. XML carries only text, so its leaves
// are strings; relgraph converts text by the declared type of the field
// or property it is for ("true" for a bool, "12" for an int).
//
// XML shape (docs/spec.md §6), the platform's: the root element is
// <xml>; each child element is a key; an element with child elements is
// an object; a key whose element repeats, or carries array='true', is a
// list of the elements' values (<phones array='true'>+7900…</phones> is
// a list of one); an element whose children are all <item>s is a list
// too (relgraph's earlier form); <x nil="true"/> is null; any other leaf
// is its text. Answers write lists the same way: one element per item,
// named after the key, and an empty list as <x array="true"/>.

// maxDepth bounds nesting in request bodies; real requests need 4.
const maxDepth = 32

// Format is a wire format.
type Format int

// The two wire formats.
const (
	JSON Format = iota
	XML
)

var errBadBody = errors.New("malformed body")

// decodeJSON decodes a JSON body into a tree, refusing invalid UTF-8,
// nesting deeper than maxDepth and more than DefaultMaxValues values.
func decodeJSON(body []byte) (map[string]any, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", errBadBody)
	}
	_, values, err := scanJSON(body)
	if err != nil {
		return nil, err
	}
	if values > DefaultMaxValues {
		return nil, fmt.Errorf("%w: more than %d values", errBadBody, DefaultMaxValues)
	}
	return decodeScannedJSON(body)
}

// decodeScannedJSON decodes a body that scanJSON accepted (so its depth
// and size are bounded) and that is valid UTF-8: by decodeObject, or,
// for what that does not take, by encoding/json.
func decodeScannedJSON(body []byte) (map[string]any, error) {
	if m, ok := decodeObject(body); ok {
		return m, nil
	}
	body = bytes.TrimPrefix(body, []byte("\ufeff")) // a byte-order mark is no JSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBody, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", errBadBody)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", errBadBody)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the body must be a JSON object", errBadBody)
	}
	return m, nil
}

// decodeXML decodes an XML body into a tree of at most maxElements
// elements, refusing invalid UTF-8 and nesting deeper than maxDepth.
func decodeXML(body []byte, maxElements int) (map[string]any, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", errBadBody)
	}
	budget := maxElements
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadBody, xmlErr(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "xml" {
				return nil, fmt.Errorf("%w: the root element must be <xml>, not <%s>", errBadBody, t.Name.Local)
			}
			v, err := decodeXMLElement(dec, t, 1, &budget)
			if err != nil {
				return nil, err
			}
			m, ok := v.(map[string]any)
			if !ok {
				if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
					m = map[string]any{}
				} else {
					return nil, fmt.Errorf("%w: <xml> must hold elements", errBadBody)
				}
			}
			if err := xmlTrailer(dec); err != nil {
				return nil, err
			}
			return m, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside <xml>", errBadBody)
			}
		case xml.Directive:
			return nil, fmt.Errorf("%w: DTDs are not accepted", errBadBody)
		}
	}
}

func xmlErr(err error) error {
	if err == io.EOF {
		return errors.New("no <xml> element")
	}
	return err
}

func xmlTrailer(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errBadBody, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text after </xml>", errBadBody)
			}
		case xml.Comment, xml.ProcInst:
		default:
			return fmt.Errorf("%w: content after </xml>", errBadBody)
		}
	}
}

// decodeXMLElement reads the content of start up to its end element,
// counting the elements it reads against budget.
func decodeXMLElement(dec *xml.Decoder, start xml.StartElement, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errBadBody, maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("%w: more elements than the limit", errBadBody)
	}
	isNil := false
	for _, a := range start.Attr {
		if a.Name.Local == "nil" && a.Value == "true" {
			isNil = true
		}
	}
	var text strings.Builder
	var names []string
	var values []any
	var lists map[string]bool // children marked array='true'
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadBody, xmlErr(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := decodeXMLElement(dec, t, depth+1, budget)
			if err != nil {
				return nil, err
			}
			if markedArray(t) {
				if lists == nil {
					lists = map[string]bool{}
				}
				lists[t.Name.Local] = true
				if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
					v = emptyArray{}
				}
			}
			names = append(names, t.Name.Local)
			values = append(values, v)
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if isNil {
				if len(names) > 0 || strings.TrimSpace(text.String()) != "" {
					return nil, fmt.Errorf("%w: <%s nil=\"true\"> must be empty", errBadBody, start.Name.Local)
				}
				return nil, nil
			}
			if len(names) == 0 {
				return text.String(), nil
			}
			if strings.TrimSpace(text.String()) != "" {
				return nil, fmt.Errorf("%w: <%s> mixes text and elements", errBadBody, start.Name.Local)
			}
			return xmlCollection(names, values, lists), nil
		}
	}
}

// emptyArray is the value of an empty element marked array='true': the
// list holds nothing.
type emptyArray struct{}

// markedArray reports whether an element carries array="true".
func markedArray(e xml.StartElement) bool {
	for _, a := range e.Attr {
		if a.Name.Local == "array" && a.Value == "true" {
			return true
		}
	}
	return false
}

// xmlCollection makes an element's children into its value: a list when
// they are all <item>s; else an object whose keys are the children's
// names, a name that repeats or is marked array='true' holding the list
// of their values.
func xmlCollection(names []string, values []any, lists map[string]bool) any {
	if !slices.ContainsFunc(names, func(n string) bool { return n != "item" }) && len(lists) == 0 {
		return values
	}
	m := make(map[string]any, len(names))
	for i, n := range names {
		v := values[i]
		prev, seen := m[n]
		switch {
		case seen:
			m[n] = append(prev.([]any), listItems(v)...)
		case lists[n] || slices.Index(names[i+1:], n) >= 0:
			m[n] = listItems(v)
		default:
			m[n] = v
		}
	}
	return m
}

// listItems is what one element adds to a list: its value, or nothing
// for an empty element marked array='true'.
func listItems(v any) []any {
	if _, empty := v.(emptyArray); empty {
		return []any{}
	}
	return []any{v}
}

// encodeJSON writes v as one line of JSON. A value that is rawJSON is
// written as it is; the answer is otherwise the bytes encoding/json
// writes for v.
func encodeJSON(w io.Writer, v map[string]any) error {
	if v == nil { // as encoding/json writes a nil map
		_, err := io.WriteString(w, "null\n")
		return err
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	size := 1024
	for _, x := range v {
		if r, ok := x.(rawJSON); ok {
			size += len(r)
		}
	}
	var b []byte
	if buf, ok := w.(*bytes.Buffer); ok { // the pooled envelope: no buffer of its own
		buf.Grow(size)
		b = buf.AvailableBuffer()
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		if r, ok := v[k].(rawJSON); ok {
			b = append(b, r...)
			continue
		}
		var err error
		if b, err = appendEncoded(b, v[k]); err != nil {
			return err
		}
	}
	_, err := w.Write(append(b, '}', '\n'))
	return err
}

// rawJSON is a value of an answer already written as JSON (compact, as
// encoding/json writes it): encodeJSON splices it in, where encoding/json
// would scan and compact it again. Only a JSON answer holds one.
type rawJSON []byte

// encodeXML writes v under <xml>, keys sorted, lists as repeated
// elements. A key
// that is not a valid XML element name is an error, and nothing is
// written.
func encodeXML(w io.Writer, v map[string]any) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := writeXMLValue(&b, "xml", v, 0); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// xmlName reports whether name is an XML element name of the ASCII kind
// relgraph writes: a letter or '_', then letters, digits, '_', '-', '.'.
func xmlName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '.')) {
			return false
		}
	}
	return name != ""
}

func writeXMLValue(b *bytes.Buffer, name string, v any, indent int) error {
	if !xmlName(name) {
		return fmt.Errorf("%q is not an XML element name", truncate(name))
	}
	pad := strings.Repeat("  ", indent)
	switch x := v.(type) {
	case nil:
		fmt.Fprintf(b, "%s<%s nil=\"true\"/>", pad, name)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(b, "%s<%s>", pad, name)
		for _, k := range keys {
			b.WriteByte('\n')
			if err := writeXMLValue(b, k, x[k], indent+1); err != nil {
				return err
			}
		}
		fmt.Fprintf(b, "\n%s</%s>", pad, name)
	case []any:
		// The platform's form: one element per item, named after the key.
		if len(x) == 0 {
			fmt.Fprintf(b, "%s<%s array=\"true\"/>", pad, name)
		}
		for i, item := range x {
			if i > 0 {
				b.WriteByte('\n')
			}
			if _, nested := item.([]any); nested {
				return fmt.Errorf("%q: a list of lists has no XML form", truncate(name))
			}
			if err := writeXMLValue(b, name, item, indent); err != nil {
				return err
			}
		}
	default:
		fmt.Fprintf(b, "%s<%s>", pad, name)
		xml.EscapeText(b, []byte(scalarText(x)))
		fmt.Fprintf(b, "</%s>", name)
	}
	return nil
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
