package relgraph_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEGoSnippet compiles and runs the README's Go example as
// written, in a main function of its own (through a build overlay, so
// nothing is written into the tree), in an empty directory.
func TestREADMEGoSnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(text[strings.Index(text, "## The Go library"):])
	if m == nil {
		t.Fatal("no Go block under '## The Go library'")
	}
	src := "package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\t\"log\"\n\n\t\"github.com/relgraph/relgraph\"\n)\n\nfunc main() {\n" + m[1] + "}\n"
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(wd, "readme_snippet", "main.go"): file}})
	if err := os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "snippet")
	if out, err := exec.Command("go", "build", "-overlay", filepath.Join(dir, "overlay.json"), "-o", bin, "./readme_snippet").CombinedOutput(); err != nil {
		t.Fatalf("the README's Go example does not build: %v\n%s\n%s", err, out, src)
	}
	run := exec.Command(bin)
	run.Dir = dir
	out, err := run.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true 1 2" {
		t.Fatalf("the README's Go example: %v\n%s", err, out)
	}
}
