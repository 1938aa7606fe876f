package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Before a request is authenticated, its body is only scanned: the
// token is found without building the body's tree, so an anonymous
// client cannot make the server allocate more than the body itself.
// The scans also bound what the full decode will build: nesting depth
// and the number of values.

// scanJSON reads the structure of a JSON body without decoding it and
// returns the top-level "token" string (if any) and an upper bound on
// the number of values the body holds. It refuses a body that is not
// one object, that nests deeper than maxDepth, or whose strings or
// brackets do not close; anything subtler is found by the full decode.
func scanJSON(body []byte) (token string, values int, err error) {
	i := skipSpace(body, 0)
	if bytes.HasPrefix(body[i:], []byte("\ufeff")) { // a byte-order mark
		i = skipSpace(body, i+3)
	}
	if i == len(body) || body[i] != '{' {
		return "", 0, fmt.Errorf("%w: the body must be a JSON object", errBadBody)
	}
	depth, values := 0, 1
	keyNext := false // at depth 1: the next string is a key
	var key []byte   // the last key read at depth 1
	tokenAt := -1    // where the top-level token's string starts
	for ; i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			end, err := stringEnd(body, i)
			if err != nil {
				return "", 0, err
			}
			if depth == 1 && keyNext {
				key, keyNext = body[i:end], false
			} else if depth == 1 && isTokenKey(key) && tokenAt < 0 {
				tokenAt = i
				if err := json.Unmarshal(body[i:end], &token); err != nil {
					return "", 0, fmt.Errorf("%w: parameter token: %v", errBadBody, err)
				}
			}
			i = end - 1
		case '{', '[':
			if depth++; depth > maxDepth {
				return "", 0, fmt.Errorf("%w: nested deeper than %d", errBadBody, maxDepth)
			}
			values++
			keyNext = depth == 1
		case '}', ']':
			if depth--; depth == 0 {
				if j := skipSpace(body, i+1); j != len(body) {
					return "", 0, fmt.Errorf("%w: data after the JSON object", errBadBody)
				}
				return token, values, nil
			}
		case ',':
			values++
			keyNext = depth == 1
		case ':':
			values++
		}
	}
	return "", 0, fmt.Errorf("%w: unexpected end of JSON input", errBadBody)
}

func isTokenKey(key []byte) bool {
	if bytes.Equal(key, []byte(`"token"`)) {
		return true
	}
	var s string // an escaped spelling, such as "\u0074oken"
	return bytes.IndexByte(key, '\\') >= 0 && json.Unmarshal(key, &s) == nil && s == "token"
}

// stringEnd returns the index just past the JSON string starting at
// body[i] (a quote).
func stringEnd(body []byte, i int) (int, error) {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated string", errBadBody)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanXML reads an XML body's elements without building them and
// returns the text of <token> directly under <xml> (if any) and the
// number of elements. It refuses what decodeXML would refuse at the
// same point: another root, a DTD, nesting deeper than maxDepth.
func scanXML(body []byte) (token string, elements int, err error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	depth, inToken, found := 0, false, false
	var text strings.Builder
	for {
		t, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if elements == 0 {
				return "", 0, fmt.Errorf("%w: no <xml> element", errBadBody)
			}
			return text.String(), elements, nil
		}
		if err != nil {
			return "", 0, fmt.Errorf("%w: %v", errBadBody, err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			elements++
			switch {
			case depth > maxDepth+1: // the root element is depth 1
				return "", 0, fmt.Errorf("%w: nested deeper than %d", errBadBody, maxDepth)
			case depth == 1 && (t.Name.Local != "xml" || elements > 1):
				return "", 0, fmt.Errorf("%w: the root element must be one <xml>, not <%s>", errBadBody, t.Name.Local)
			case depth == 2 && t.Name.Local == "token" && !found:
				inToken = true
			}
		case xml.EndElement:
			if depth == 2 && inToken {
				inToken, found = false, true
			}
			depth--
		case xml.CharData:
			if inToken && depth == 2 {
				text.Write(t)
			}
		case xml.Directive:
			return "", 0, fmt.Errorf("%w: DTDs are not accepted", errBadBody)
		}
	}
}
