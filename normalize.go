package relgraph

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/relgraph/relgraph/internal/text"
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

// NormalizeTags turns a tag set into its canonical form: each tag
// trimmed, empty tags dropped, sorted, duplicates removed; each tag at
// most 256 bytes of UTF-8, at most 1000 tags.
func NormalizeTags(raw []string) ([]string, error) {
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
// []string for tags. It takes Go values of the field's type only (see
// the package doc, "Values"): any Go integer for an int field, a float
// or an exactly representable integer for a float, a bool, a string, a
// time.Time for a date and a []string for tags. Text such as "12" is the
// wire format's business (package api), and is refused here.
func normalizeFieldValue(f Field, v any) (any, error) {
	bad := func(why string) error {
		return invalidf("field %q (%s): %s", f.Name, f.Type, why)
	}
	switch f.Type {
	case FieldString:
		s, ok := v.(string)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a string, got %T", v))
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
		b, ok := v.(bool)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a bool, got %T", v))
		}
		return b, nil
	case FieldDate:
		t, ok := v.(time.Time)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a time.Time, got %T", v))
		}
		return t.UTC(), nil
	case FieldTags:
		raw, ok := v.([]string)
		if !ok {
			return nil, bad(fmt.Sprintf("expected a []string, got %T", v))
		}
		tags, err := NormalizeTags(raw)
		if err != nil {
			return nil, bad(err.Error())
		}
		return tags, nil
	}
	return nil, bad("unknown field type")
}

// toInt64 takes any Go integer within the int64 range.
func toInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case uint:
		return uintToInt64(uint64(n))
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint64:
		return uintToInt64(n)
	}
	return 0, errorf("expected an integer, got %T", v)
}

func uintToInt64(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, errorf("integer %d is out of the int64 range", n)
	}
	return int64(n), nil
}

// toFloat64 takes a finite float32 or float64, or a Go integer that a
// float64 holds exactly.
func toFloat64(v any) (float64, error) {
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case float32:
		x = float64(n)
	default:
		i, err := toInt64(v)
		if err != nil {
			return 0, errorf("expected a number, got %T", v)
		}
		if x = float64(i); x >= math.MaxInt64 || int64(x) != i {
			return 0, errorf("integer %d has no exact float64", i)
		}
		return x, nil
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, errorf("expected a finite number, got %v", x)
	}
	return x, nil
}

// errorf builds a 400 error without a subject; callers prefix the
// subject.
func errorf(format string, args ...any) error { return invalidf(format, args...) }

func truncate(s string) string { return text.Truncate(s) }
