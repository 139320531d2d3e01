package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// goTestJSON runs 'go test -json' on packages under testdata and returns its output (go test's own exit
// status is expected to be non-zero: the samples fail on purpose).
func goTestJSON(t *testing.T, pkgs ...string) []byte {
	t.Helper()
	args := append([]string{"test", "-json", "-count=1"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(cmd.Environ(), "CI=") // the sample's skips are plain skips
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("go test: %v", err)
	}
	return out
}

// TestSummaryOfRealRuns feeds real 'go test -json' output of the testdata packages (one test of each outcome, a
// build failure, a panic) through the summary and checks the closing lines and the verdict.
func TestSummaryOfRealRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs test packages with the go command")
	}
	tests := []struct {
		name   string
		pkgs   []string
		ok     bool
		closed string   // the summary line
		want   []string // lines the output must contain
	}{
		{"outcomes", []string{"./testdata/sample"}, false, "3 passed, 1 failed, 2 skipped", []string{
			"--- FAIL: github.com/facegate/facegate/internal/tools/testsummary/testdata/sample TestFails",
			"sample_test.go:8: this one fails",
			"SKIP github.com/facegate/facegate/internal/tools/testsummary/testdata/sample TestSkips: sample_test.go:12: dataset X absent: fetch it",
			"SKIP github.com/facegate/facegate/internal/tools/testsummary/testdata/sample TestSubtests/skips: sample_test.go:17: needs ffmpeg",
			"FAILED github.com/facegate/facegate/internal/tools/testsummary/testdata/sample TestFails",
		}},
		{"build failure", []string{"./testdata/broken"}, false, "0 passed, 0 failed, 0 skipped", []string{
			"undefined: undefinedCall",
			"FAILED build github.com/facegate/facegate/internal/tools/testsummary/testdata/broken",
		}},
		{"panic", []string{"./testdata/panics"}, false, "0 passed, 1 failed, 0 skipped", []string{"panic: boom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := newSummary(&out, nil)
			if err := s.read(bytes.NewReader(goTestJSON(t, tc.pkgs...))); err != nil {
				t.Fatal(err)
			}
			if ok := s.finish(); ok != tc.ok {
				t.Errorf("finish() = %v, want %v", ok, tc.ok)
			}
			lines := strings.Split(out.String(), "\n")
			found := false
			for _, l := range lines {
				found = found || l == tc.closed
			}
			if !found {
				t.Errorf("no line %q in\n%s", tc.closed, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestPassingRunAndLog: a passing run exits 0, prints the package's ok line, and -log shows a passing test's log.
func TestPassingRunAndLog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs test packages with the go command")
	}
	var out bytes.Buffer
	s := newSummary(&out, regexpMust(t, "^TestPasses$"))
	in := goTestJSON(t, "-run", "^TestPasses$", "./testdata/sample")
	if err := s.read(bytes.NewReader(append([]byte("a line that is not JSON\n"), in...))); err != nil {
		t.Fatal(err)
	}
	if !s.finish() {
		t.Errorf("a passing run reported failure:\n%s", out.String())
	}
	for _, w := range []string{"a line that is not JSON\n", "ok  \tgithub.com/facegate/facegate/internal/tools/testsummary/testdata/sample", "figure: 42", "\n1 passed, 0 failed, 0 skipped\n"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func regexpMust(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return re
}
