package testenv_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingSkipsOrFailsUnderCI runs testdata/needs twice with the go command, without and with CI=true, and
// checks each test's outcome and what it logged.
func TestMissingSkipsOrFailsUnderCI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test package with the go command")
	}
	tests := []struct {
		ci   string
		want map[string]string // test -> action
		logs []string          // output the run must contain
		not  []string          // and must not
	}{
		{"", map[string]string{"TestMissing": "skip", "TestNeed": "skip", "TestMissingPart": "pass"},
			[]string{"widget 7 absent (install it)", "after Need with no error", "gadget (install it) unavailable: not found", "part needs sprocket", "after MissingPart"},
			[]string{"after Missing\n", "after Need with an error", "CI=true"}},
		{"true", map[string]string{"TestMissing": "fail", "TestNeed": "fail", "TestMissingPart": "fail"},
			[]string{"widget 7 absent (install it) (CI=true: a missing prerequisite fails the test)", "gadget (install it) unavailable: not found (CI=true"},
			[]string{"after Missing\n", "after Need with an error", "after MissingPart"}},
	}
	for _, tc := range tests {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			cmd := exec.Command("go", "test", "-json", "-count=1", "./testdata/needs")
			cmd.Env = append(cmd.Environ(), "CI="+tc.ci)
			out, err := cmd.Output()
			if _, ok := err.(*exec.ExitError); err != nil && !ok {
				t.Fatalf("go test: %v", err)
			}
			got := map[string]string{}
			var text strings.Builder
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var e struct{ Action, Test, Output string }
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("%v: %s", err, sc.Bytes())
				}
				text.WriteString(e.Output)
				if e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
					got[e.Test] = e.Action
				}
			}
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("%s: %q, want %q", name, got[name], want)
				}
			}
			for _, s := range tc.logs {
				if !strings.Contains(text.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, text.String())
				}
			}
			for _, s := range tc.not {
				if strings.Contains(text.String(), s) {
					t.Errorf("output has %q:\n%s", s, text.String())
				}
			}
		})
	}
}
