package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSlowTestsRun: make test skips the tests that match SLOW in its race-detector pass and runs them in a
// second pass over SLOWPKGS only, so a SLOW test in a package that SLOWPKGS does not name would never run. Every
// test function whose name matches SLOW must live in a SLOWPKGS package (eval's TestAccuracyAt did not, and was
// renamed).
func TestSlowTestsRun(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*=\s*(.*)$`).FindSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile has no %s", name)
		}
		return strings.ReplaceAll(strings.TrimSpace(string(m[1])), "$$", "$")
	}
	slow := regexp.MustCompile(value("SLOW"))
	var pkgs []string
	for _, p := range strings.Fields(value("SLOWPKGS")) {
		pkgs = append(pkgs, filepath.Clean(p))
	}
	fn := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	found := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata" || n == "out") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		for _, m := range fn.FindAllSubmatch(data, -1) {
			if name := string(m[1]); slow.MatchString(name) {
				found++
				if !slices.Contains(pkgs, rel) {
					t.Errorf("%s (%s) matches SLOW but %s is not in SLOWPKGS: make test would never run it", name, p, rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Error("no test matches SLOW: the Makefile's pattern was not read right")
	}
}
