package relgraph

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value limits.
const (
	MaxEmailBytes          = 254
	MaxTagBytes            = 256
	MaxTagsPerField        = 1000
	MaxPhones              = 32
	MaxSubscriptions       = 1000
	MaxIndexedStringBytes  = 1024     // indexed string field values
	MaxStringBytes         = 64 << 10 // unindexed string field values
	MaxPropertyStringBytes = 1024     // relation string properties
	maxAddressBytes        = 1024     // push provider + subscription id
)

// NormalizeEmail applies SPEC §2: trim spaces, lowercase, exactly one
// '@' with a non-empty local part and a domain containing a dot (not at
// either end), at most 254 bytes, no spaces or control characters.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", invalidf("email is empty")
	}
	if len(e) > MaxEmailBytes {
		return "", invalidf("email %q is longer than %d bytes", truncate(e), MaxEmailBytes)
	}
	if !utf8.ValidString(e) {
		return "", invalidf("email %q is not valid UTF-8", truncate(e))
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f {
			return "", invalidf("email %q contains a space or control character", e)
		}
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || strings.Count(e, "@") != 1 {
		return "", invalidf("email %q must have exactly one '@' after a non-empty local part", e)
	}
	domain := e[at+1:]
	dot := strings.IndexByte(domain, '.')
	if dot <= 0 || strings.HasSuffix(domain, ".") {
		return "", invalidf("email %q: domain %q must contain a dot between labels", e, domain)
	}
	return e, nil
}

// NormalizePhone applies SPEC §2: spaces, '-', '.', '(' and ')' removed;
// an optional leading '+', then 7 to 15 digits. The result is '+' and the
// digits.
func NormalizePhone(s string) (string, error) {
	digits := make([]byte, 0, 16)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && len(digits) == 0 && !strings.Contains(s[:i], "+"):
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		default:
			return "", invalidf("phone %q: character %q is not allowed", truncate(s), c)
		}
	}
	if len(digits) < 7 || len(digits) > 15 {
		return "", invalidf("phone %q must have 7 to 15 digits, has %d", truncate(s), len(digits))
	}
	return "+" + string(digits), nil
}

// NormalizeTags turns a tag value into a sorted set: a string is split
// on commas; a list's items are taken as they are (each still trimmed);
// empty tags are dropped; each tag is at most 256 bytes.
func NormalizeTags(v any) ([]string, error) {
	var raw []string
	switch v := v.(type) {
	case string:
		raw = strings.Split(v, ",")
	case []string:
		raw = v
	case []any:
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, invalidf("tags must be strings, got %s", typeName(item))
			}
			raw = append(raw, s)
		}
	default:
		return nil, invalidf("tags must be a string or a list of strings, got %s", typeName(v))
	}
	tags := make([]string, 0, len(raw))
	for _, t := range raw {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if len(t) > MaxTagBytes {
			return nil, invalidf("tag %q is longer than %d bytes", truncate(t), MaxTagBytes)
		}
		if !utf8.ValidString(t) {
			return nil, invalidf("tag %q is not valid UTF-8", truncate(t))
		}
		tags = append(tags, t)
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > MaxTagsPerField {
		return nil, invalidf("%d tags, at most %d per field", len(tags), MaxTagsPerField)
	}
	return tags, nil
}

// normalizeFieldValue checks v against the declared field and returns
// its canonical form: string, int64, float64, bool, time.Time (UTC) or
// []string for tags. It accepts the Go types a JSON or XML decoder
// produces: json.Number and float64 for numbers, and strings for int
// (a decimal integer), float, bool and date, since XML carries text.
func normalizeFieldValue(f Field, v any) (any, error) {
	bad := func(why string) error {
		return invalidf("field %q (%s): %s", f.Name, f.Type, why)
	}
	switch f.Type {
	case FieldString:
		s, ok := v.(string)
		if !ok {
			return nil, bad("expected a string, got " + typeName(v))
		}
		s = strings.TrimSpace(s)
		limit := MaxIndexedStringBytes
		if f.Unindexed {
			limit = MaxStringBytes
		}
		if len(s) > limit {
			return nil, bad("value longer than " + strconv.Itoa(limit) + " bytes")
		}
		if !utf8.ValidString(s) {
			return nil, bad("value is not valid UTF-8")
		}
		return s, nil
	case FieldInt:
		n, err := toInt64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return n, nil
	case FieldFloat:
		x, err := toFloat64(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return x, nil
	case FieldBool:
		b, err := toBool(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return b, nil
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			if t, isTime := v.(time.Time); isTime {
				return t.UTC(), nil
			}
			return nil, bad("expected an RFC 3339 date or date-time string, got " + typeName(v))
		}
		t, err := parseDate(strings.TrimSpace(s))
		if err != nil {
			return nil, bad(err.Error())
		}
		return t, nil
	case FieldTags:
		tags, err := NormalizeTags(v)
		if err != nil {
			return nil, bad(err.Error())
		}
		return tags, nil
	}
	return nil, bad("unknown field type")
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, invalidf("value %q is not an RFC 3339 date (2006-01-02) or date-time (2006-01-02T15:04:05Z)", truncate(s))
}

// toBool accepts a Go bool, or "true" and "false" as text (XML).
func toBool(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.TrimSpace(b) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errf("expected true or false, got %s", typeName(v))
}

// toInt64 accepts Go integers, integral floats within range, json.Number
// and decimal strings.
func toInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || n < -(1<<63) || n >= 1<<63 || math.IsNaN(n) {
			return 0, errf("expected an integer, got %v", n)
		}
		return int64(n), nil
	case json.Number:
		return parseInt(string(n))
	case string:
		return parseInt(strings.TrimSpace(n))
	}
	return 0, errf("expected an integer, got %s", typeName(v))
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, errf("integer %s is out of the int64 range", truncate(s))
		}
		return 0, errf("expected an integer, got %q", truncate(s))
	}
	return n, nil
}

// toFloat64 accepts Go numbers, json.Number and decimal strings, and
// refuses NaN and infinities.
func toFloat64(v any) (float64, error) {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case float32:
		x = float64(n)
	case int64:
		x = float64(n)
	case int:
		x = float64(n)
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, errf("expected a finite number, got %s", truncate(string(n)))
		}
		x = f
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return 0, errf("expected a number, got %q", truncate(n))
		}
		x = f
	default:
		return 0, errf("expected a number, got %s", typeName(v))
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errf("expected a finite number, got %v", x)
	}
	return x, nil
}

// errf builds a 400 error without a subject; callers prefix the subject.
func errf(format string, args ...any) error { return invalidf(format, args...) }

// typeName names a decoded value's type as a JSON user would.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32, uint32, json.Number:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a value of Go type %T", v)
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
