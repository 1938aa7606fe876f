package relgraph

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCoreSpeaksNoWire: the root package knows no wire format and no
// HTTP (package api does), and reaches the engines only through package
// kv (kv/bolt is imported for its registration alone).
func TestCoreSpeaksNoWire(t *testing.T) {
	files, err := filepath.Glob("*.go")
	must(t, err)
	forbidden := []string{"encoding/json", "encoding/xml", "net/http", "go.etcd.io/bbolt"}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		must(t, err)
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		must(t, err)
		for _, imp := range parsed.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if slices.Contains(forbidden, path) {
				t.Errorf("%s imports %s", f, path)
			}
			if strings.HasPrefix(path, "github.com/relgraph/relgraph/kv/") && (imp.Name == nil || imp.Name.Name != "_") {
				t.Errorf("%s uses %s directly; the store reaches engines through kv", f, path)
			}
		}
	}
}
