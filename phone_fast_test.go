package relgraph

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"pgregory.net/rapid"
)

// fastAgrees checks one input: when e164Fast answers, libphonenumber's
// parse (in every region given) answers the same number, without error.
func fastAgrees(t interface{ Fatalf(string, ...any) }, in string, regions ...string) bool {
	got, ok := e164Fast(in)
	if !ok {
		return false
	}
	for _, region := range regions {
		want, err := parsePhone(in, in, region)
		if err != nil || want != got {
			t.Fatalf("%q (region %q): fast path %q, libphonenumber %q, %v", in, region, got, want, err)
		}
	}
	return true
}

// TestPhoneFastPathAgreesWithLibphonenumber: every calling code, every
// national length from 0 to 18 digits, random digits and leading zeros,
// and the library's own example number of every region and type: the
// fast path never answers otherwise than the parse, and it does answer
// for the numbers people have (the examples).
func TestPhoneFastPathAgreesWithLibphonenumber(t *testing.T) {
	var codes []int
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		codes = append(codes, cc)
	}
	rapid.Check(t, func(t *rapid.T) {
		var cc string
		if rapid.Bool().Draw(t, "known") {
			cc = strconv.Itoa(rapid.SampledFrom(codes).Draw(t, "cc"))
		} else {
			cc = strconv.Itoa(rapid.IntRange(1, 999).Draw(t, "any cc"))
		}
		national := rapid.StringMatching(`0{0,3}[0-9]{0,18}`).Draw(t, "national")
		region := rapid.SampledFrom([]string{"", "US", "GB", "DE", "IT", "AR", "RU", "BR", "IN", "ZZ"}).Draw(t, "region")
		fastAgrees(t, "+"+cc+national, region)
	})

	examples, fast := 0, 0
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil {
				continue
			}
			e := phonenumbers.Format(n, phonenumbers.E164)
			examples++
			if fastAgrees(t, e, "", region) {
				fast++
			}
			// Neighbours: one digit more, one less, the last changed.
			for _, v := range []string{e + "7", e[:len(e)-1], e[:len(e)-1] + "0"} {
				fastAgrees(t, v, "", region)
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			examples++
			if fastAgrees(t, phonenumbers.Format(n, phonenumbers.E164), "") {
				fast++
			}
		}
	}
	t.Logf("the fast path read %d of %d example numbers", fast, examples)
	if examples < 1000 || fast < examples*9/10 {
		t.Fatalf("the fast path read %d of %d example numbers: it should read nearly all", fast, examples)
	}
}

// The fast path leaves to the parse what is not plainly E.164.
func TestPhoneFastPathDeclines(t *testing.T) {
	for _, in := range []string{"", "+", "+1", "+12", "+0 44", "+44 7911 123456", "+447911123456x1", "+4407911123456",
		"+1555", "+99912345678", "+" + strings.Repeat("4", 25), "447911123456"} {
		if got, ok := e164Fast(in); ok {
			want, err := parsePhone(in, in, "")
			t.Errorf("%q: fast path answered %q (parse: %q, %v)", in, got, want, err)
		}
	}
	for _, in := range []string{"+447911123456", "+15550100001", "+390612345678", "+8613912345678"} {
		if _, ok := e164Fast(in); !ok {
			t.Errorf("%q: the fast path declined a plain E.164 number", in)
		}
	}
}

func FuzzPhoneFastPath(f *testing.F) {
	for _, s := range []string{"+15550100001", "+447911123456", "+4407911123456", "+390612345678", "+80012345678", "+8613912345678", "+0012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fastAgrees(t, in, "", "US")
	})
}

func BenchmarkNormalizePhone(b *testing.B) {
	for _, c := range []struct{ name, in string }{{"e164", "+15550100001"}, {"national", "(555) 010-0001"}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := NormalizePhone(c.in, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parse-e164", func(b *testing.B) {
		for b.Loop() {
			if _, err := parsePhone("+15550100001", "+15550100001", "US"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
