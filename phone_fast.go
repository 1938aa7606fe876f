package relgraph

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

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
