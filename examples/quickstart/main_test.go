package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstartRunsTwice: the walk-through runs as written, and a
// second run finds what the first made.
func TestQuickstartRunsTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quickstart.db")
	for i, want := range []string{"created: true", "created: false"} {
		var out strings.Builder
		if err := run(path, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out.String())
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "counter: total=1 user_like sum=2") {
			t.Fatalf("run %d:\n%s", i+1, out.String())
		}
	}
}
