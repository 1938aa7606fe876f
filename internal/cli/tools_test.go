package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relgraph/relgraph"
)

// TestBackupOfACutStreamIsRefused: a server whose stream ends early
// (here, half of a real store file) gives an error naming the damage,
// and no file is left behind.
func TestBackupOfACutStreamIsRefused(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	s, err := relgraph.Open(src, &relgraph.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutDatabase(ctx, relgraph.Database{ID: 1}); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if _, _, err := s.ImportProfile(ctx, 1, relgraph.Locator{}, relgraph.ProfileData{Phones: &[]string{"+15550000001"}}); err != nil {
			t.Fatal(err)
		}
	}
	var full bytes.Buffer
	if _, err := s.Backup(ctx, &full); err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(full.Bytes()[:full.Len()/2])
	}))
	defer srv.Close()
	out := filepath.Join(dir, "copy.db")
	var stdout, stderr bytes.Buffer
	code := Run([]string{"backup", "-server", srv.URL, "-token", "t", "-to", out}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "truncated") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the unverified copy was left behind: %v", err)
	}
}

// ctx is the context of the tests' store calls: they are not cancelled.
var ctx = context.Background()
