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
		if p, err := NormalizePhone(phone); err == nil {
			if again, err := NormalizePhone(p); err != nil || again != p {
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
	for in, want := range map[string]string{"+1 (555) 123-4567": "+15551234567", "8.800.555.35.35": "+88005553535"} {
		if got, err := NormalizePhone(in); err != nil || got != want {
			t.Errorf("phone %q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"123456", "1234567890123456", "12+3456789", "++12345678", "12a45678"} {
		if _, err := NormalizePhone(bad); codeOf(err) != 400 {
			t.Errorf("phone %q accepted", bad)
		}
	}
	tags, err := NormalizeTags([]string{"tag-1", " tag-2", "", " tag-1 "})
	if err != nil || len(tags) != 2 || tags[0] != "tag-1" || tags[1] != "tag-2" {
		t.Errorf("tags %q %v", tags, err)
	}
}
