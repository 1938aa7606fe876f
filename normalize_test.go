package relgraph

import (
	"testing"

	"pgregory.net/rapid"
)

func TestNormalizationIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.OneOf(rapid.String(), rapid.StringMatching(`\s*[A-Za-z0-9._+-]{1,10}@[A-Za-z0-9-]{1,8}\.[A-Za-z]{2,4}\s*`)).Draw(t, "email")
		if e, err := NormalizeEmail(raw); err == nil {
			if again, err := NormalizeEmail(e); err != nil || again != e {
				t.Fatalf("email %q → %q → %q, %v", raw, e, again, err)
			}
		}
		phone := rapid.OneOf(rapid.String(), rapid.StringMatching(`\+?[0-9 ().-]{7,20}`)).Draw(t, "phone")
		region := rapid.SampledFrom([]string{"", "US", "DE", "RU"}).Draw(t, "region")
		if p, err := NormalizePhone(phone, region); err == nil {
			if !isE164(p) {
				t.Fatalf("phone %q → %q: not E.164", phone, p)
			}
			if again, err := NormalizePhone(p, ""); err != nil || again != p {
				t.Fatalf("phone %q → %q → %q, %v", phone, p, again, err)
			}
		}
		tags := rapid.SliceOf(rapid.String()).Draw(t, "tags")
		if ts, err := NormalizeTags(tags); err == nil {
			again, err := NormalizeTags(ts)
			if err != nil || len(again) != len(ts) {
				t.Fatalf("tags %q → %q → %q, %v", tags, ts, again, err)
			}
			for i := range ts {
				if again[i] != ts[i] {
					t.Fatalf("tags %q → %q → %q", tags, ts, again)
				}
			}
		}
	})
}

func TestNormalizationExamples(t *testing.T) {
	for in, want := range map[string]string{" Ann@Example.COM ": "ann@example.com", "a.b+c@x.co.uk": "a.b+c@x.co.uk"} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("email %q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a", "@x.io", "a@x", "a@@x.io", "a@x.", "a b@x.io", "a@.io"} {
		if _, err := NormalizeEmail(bad); codeOf(err) != 400 {
			t.Errorf("email %q accepted", bad)
		}
	}
	for _, c := range []struct{ in, region, want string }{
		{"+1 (555) 123-4567", "", "+15551234567"},
		// The numbers of issue #14, which the hand-written rules got wrong.
		{"+49 (0)30 1234567", "", "+49301234567"},
		{"0049 30 1234567", "", "+49301234567"},
		{"(555) 010-0001", "US", "+15550100001"},
		{"8 (800) 555-35-35", "RU", "+78005553535"},
		{"030 1234567", "DE", "+49301234567"},
		{"+7 900 000-00-00", "DE", "+79000000000"},
	} {
		if got, err := NormalizePhone(c.in, c.region); err != nil || got != c.want {
			t.Errorf("phone %q (region %q): %q %v, want %q", c.in, c.region, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, region string }{
		{"(555) 010-0001", ""}, // no country code, no region
		{"hello", "US"}, {"+1 23", ""}, {"+12345678901234567", ""}, {"", "US"}, {"bad", ""},
		{"+49 30 1234567 ext. 12", ""}, // an extension would be dropped silently
		// Trunk prefixes all the way down: "+4900000" would read back as
		// "+490000", so it could never be found again (rapid found it).
		{"+49000000", ""}, {"+49 0 00000", "DE"},
	} {
		if _, err := NormalizePhone(c.in, c.region); codeOf(err) != 400 {
			t.Errorf("phone %q (region %q) accepted", c.in, c.region)
		}
	}
	tags, err := NormalizeTags([]string{"tag-1", " tag-2", "", " tag-1 "})
	if err != nil || len(tags) != 2 || tags[0] != "tag-1" || tags[1] != "tag-2" {
		t.Errorf("tags %q %v", tags, err)
	}
}
