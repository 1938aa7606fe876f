package relgraph

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

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

// NormalizeEmail applies docs/spec.md §2: trim spaces, lowercase, exactly one
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

// NormalizePhone returns phone number s in E.164 form ("+49301234567"),
// as libphonenumber (github.com/nyaruka/phonenumbers) reads it: a number
// with its country code, "+49 (0)30 1234567" or "0049 30 1234567" (a
// leading 00 is read as +), or, given a region (ISO 3166, such as "US"),
// one written as dialled there, "(555) 010-0001". What is not a phone
// number, has an impossible length for its country, or lacks its
// country code without a region is a 400 naming it. A number written
// as E.164 already costs well under a microsecond (e164Fast); others a
// few microseconds (the parse).
func NormalizePhone(s, region string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) > 64 {
		return "", invalidf("phone %q is longer than 64 characters", truncate(s))
	}
	if !strings.ContainsAny(t, "0123456789") {
		return "", invalidf("phone %q is not a phone number", truncate(s))
	}
	if strings.HasPrefix(t, "00") {
		t = "+" + t[2:]
	}
	if !strings.HasPrefix(t, "+") && region == "" {
		return "", invalidf("phone %q has no country code: write it as +<country code><number>, or set the store's phone region (Options.PhoneRegion; the relgraph command: -phone-region or RELGRAPH_PHONE_REGION)", truncate(s))
	}
	if e, ok := phoneFast(t, region); ok {
		return e, nil
	}
	return parsePhone(s, t, region)
}

// phoneFast is the fast path: a number written as E.164, or as E.164
// with the separators people put in it ("+1 617-658 7472", "+7 (955)
// 701.57.64"), which Parse drops before it reads the digits; and in the
// US and CA regions a national number of the North American plan,
// "(617) 658-7472" or "1 617 658 7472" (nanpFast). ok false leaves the
// number to the parse.
func phoneFast(t, region string) (string, bool) {
	if e, ok := e164Fast(t); ok {
		return e, true
	}
	if len(t) > 0 && t[0] != '+' {
		return nanpFast(t, region)
	}
	if len(t) < 2 || len(t) > 64 || t[0] != '+' {
		return "", false // longer: NormalizePhone refuses it (and Parse reads no more than 250 bytes)
	}
	b := make([]byte, 1, len(t))
	b[0] = '+'
	for i := 1; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			b = append(b, c)
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	return e164Fast(string(b))
}

// nanpFast reads a national number of the North American numbering plan
// in a region of it (US, CA): ten digits whose area code and exchange
// begin with 2 to 9, or those ten after a leading 1 (the trunk prefix),
// with the separators " .-()" only, which is +1 and the ten digits, as
// Parse reads them. Anything else (seven digits, a leading 0 or 011,
// letters, an extension) is left to the parse. The agreement test and
// fuzz target hold it to libphonenumber.
func nanpFast(t, region string) (string, bool) {
	if (region != "US" && region != "CA") || len(t) > 32 {
		return "", false
	}
	var d [11]byte
	n := 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return "", false
			}
			d[n] = c
			n++
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	digits := d[:n]
	if n == 11 && digits[0] == '1' {
		digits = digits[1:]
	}
	if len(digits) != 10 || digits[0] < '2' || digits[3] < '2' {
		return "", false
	}
	return e164Fast("+1" + string(digits))
}

// parsePhone is NormalizePhone's general case: libphonenumber's Parse
// of t (s as given, for the errors).
func parsePhone(s, t, region string) (string, error) {
	if region == "" {
		region = "ZZ" // unknown: the number must carry its country code
	}
	n, err := phonenumbers.Parse(t, region)
	if err != nil {
		return "", invalidf("phone %q is not a phone number: %v", truncate(s), err)
	}
	if n.GetExtension() != "" {
		return "", invalidf("phone %q has an extension, which a stored number cannot keep: send the number alone", truncate(s))
	}
	if !phonenumbers.IsPossibleNumber(n) {
		return "", invalidf("phone %q is not a possible number for its country (its length)", truncate(s))
	}
	e := phonenumbers.Format(n, phonenumbers.E164)
	// The parse drops a trunk prefix written after the country code
	// ("+49 (0)30 …"). A national number that still begins like one
	// would lose it again when the stored number is read back, so it
	// would never find itself: no real number does that.
	if back, err := phonenumbers.Parse(e, "ZZ"); err != nil || phonenumbers.Format(back, phonenumbers.E164) != e {
		return "", invalidf("phone %q is not a phone number: its national number begins with its country's trunk prefix", truncate(s))
	}
	return e, nil
}

// KnownPhoneRegion reports whether region is a region of the phone
// numbering plan, as Options.PhoneRegion takes.
func KnownPhoneRegion(region string) bool {
	_, ok := phonenumbers.GetSupportedRegions()[region]
	return ok
}

// isE164 reports whether s has the form NormalizePhone returns: '+', a
// digit 1 to 9, and at most 19 more digits (libphonenumber allows
// national numbers longer than E.164's 15 digits in some countries). A stored phone is checked
// by its form, not parsed again: numbers stored by earlier versions, or
// under an older numbering plan, stay readable.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 21 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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

// e164Fast reads a number already written as E.164 ('+' and digits
// only, as most stored and exported numbers are) the way
// libphonenumber's Parse does, without its general parse: Parse runs a
// dozen regular expressions over every number (about 8 µs; an import
// spent a third of its time there), and for this form nearly all of
// them cannot match. What remains is done here as Parse does it: the
// country calling code is the shortest known prefix of one to three
// digits; the national number is the rest, kept as written unless the
// country's national prefix could be stripped from it; the length must
// be possible for the country.
//
// ok is false whenever the answer is not certain — not this form, no
// known calling code, a national number that starts like the country's
// national prefix, a length Parse would refuse or IsPossibleNumber
// would not accept — and the caller parses with libphonenumber, which
// also words the error. TestPhoneFastPathAgreesWithLibphonenumber and
// FuzzPhoneFastPath check that it never answers otherwise than Parse.
func e164Fast(t string) (string, bool) {
	const minNSN, maxNSN = 2, 17 // libphonenumber's MIN_LENGTH_FOR_NSN, MAX_LENGTH_FOR_NSN
	if len(t) < 4 || t[0] != '+' || t[1] < '1' || t[1] > '9' {
		return "", false
	}
	digits := t[1:]
	for i := 1; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	for i := 1; i <= 3 && i < len(digits); i++ {
		cc, _ := strconv.Atoi(digits[:i])
		plan, known := phonePlans()[cc]
		if !known {
			if phonenumbers.GetRegionCodeForCountryCode(cc) != "ZZ" {
				return "", false // a code Parse would take, without a plan here
			}
			continue
		}
		national := digits[i:]
		if len(national) < minNSN || len(national) > maxNSN || plan.nationalPrefix(national) {
			return "", false
		}
		nsn, err := strconv.ParseUint(national, 10, 64)
		if err != nil {
			return "", false
		}
		n := &phonenumbers.PhoneNumber{CountryCode: new(int32(cc)), NationalNumber: new(nsn)}
		if national[0] == '0' { // as Parse keeps an Italian leading zero
			zeros := 1
			for zeros < len(national)-1 && national[zeros] == '0' {
				zeros++
			}
			n.ItalianLeadingZero = new(true)
			if zeros != 1 {
				n.NumberOfLeadingZeros = new(int32(zeros))
			}
		}
		if !phonenumbers.IsPossibleNumber(n) {
			return "", false
		}
		// Format(n, E164) would write "+", the code, the leading zeros
		// kept above and the rest: t itself, which is '+' and digits.
		return t, true
	}
	return "", false
}

// phonePlan is what e164Fast needs of a calling code's main country.
type phonePlan struct {
	prefix *regexp.Regexp // national_prefix_for_parsing, anchored; nil when none
}

// nationalPrefix reports whether national starts with something Parse
// would try to strip as a national prefix.
func (p phonePlan) nationalPrefix(national string) bool {
	return p.prefix != nil && p.prefix.MatchString(national)
}

// phonePlans maps every calling code libphonenumber knows to its plan,
// built once from its metadata: the metadata of the code's main region
// (or of the non-geographic entity), as Parse uses.
var phonePlans = sync.OnceValue(func() map[int]phonePlan {
	plans := map[int]phonePlan{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return plans // no fast path: every number is parsed in full
	}
	byRegion := map[string]*phonenumbers.PhoneMetadata{}
	nonGeo := map[int32]*phonenumbers.PhoneMetadata{}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == "001" {
			nonGeo[md.GetCountryCode()] = md
		} else {
			byRegion[md.GetId()] = md
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		region := phonenumbers.GetRegionCodeForCountryCode(cc)
		md := byRegion[region]
		if region == "001" {
			md = nonGeo[int32(cc)]
		}
		if md == nil {
			continue // unknown to the fast path: parsed in full
		}
		var p phonePlan
		if np := md.GetNationalPrefixForParsing(); np != "" {
			re, err := regexp.Compile("^(?:" + np + ")")
			if err != nil {
				continue
			}
			p.prefix = re
		}
		plans[cc] = p
	}
	return plans
})
