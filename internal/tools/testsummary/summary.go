package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// event is one line of 'go test -json' (cmd/test2json), with the build events of 'go test -json' since Go 1.24.
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string // on a package's fail: the package whose build failed
}

// key names one test (Test == "" for the package itself).
type key struct{ pkg, test string }

// summary accumulates the events of one or more 'go test -json' runs.
type summary struct {
	w     io.Writer
	logRE *regexp.Regexp

	output   map[key][]string    // output of running tests and packages
	build    map[string][]string // build output per import path
	running  map[key]bool        // tests and packages started and not finished
	order    []key               // start order of the running ones, for a stable report
	passed   int
	failed   []string       // "pkg TestName"
	skipped  []string       // "pkg TestName: reason"
	badPkgs  []string       // packages that failed outside any test
	pkgFails map[string]int // failed tests per package
	badBuild []string       // import paths whose build failed
}

func newSummary(w io.Writer, logRE *regexp.Regexp) *summary {
	return &summary{w: w, logRE: logRE, output: map[key][]string{}, build: map[string][]string{}, running: map[key]bool{},
		pkgFails: map[string]int{}}
}

// read consumes a stream of events until EOF.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(s.w, "%s\n", line)
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
	case "build-fail":
		s.badBuild = append(s.badBuild, e.ImportPath)
		fmt.Fprintf(s.w, "BUILD FAILED %s\n%s", e.ImportPath, strings.Join(s.build[e.ImportPath], ""))
		delete(s.build, e.ImportPath)
	case "start", "run":
		if !s.running[k] {
			s.running[k] = true
			s.order = append(s.order, k)
		}
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "pass", "fail", "skip":
		delete(s.running, k)
		out := s.output[k]
		delete(s.output, k)
		if e.Test == "" {
			s.packageDone(e, out)
			return
		}
		s.testDone(e, out)
	}
}

func (s *summary) testDone(e event, out []string) {
	name := e.Package + " " + e.Test
	switch e.Action {
	case "pass":
		s.passed++
		if s.logRE != nil && s.logRE.MatchString(e.Test) {
			fmt.Fprint(s.w, strings.Join(out, ""))
		}
	case "fail":
		s.failed = append(s.failed, name)
		s.pkgFails[e.Package]++
		fmt.Fprintf(s.w, "--- FAIL: %s (%.2fs)\n%s", name, e.Elapsed, strings.Join(out, ""))
	case "skip":
		s.skipped = append(s.skipped, name+": "+skipReason(out))
	}
}

func (s *summary) packageDone(e event, out []string) {
	switch e.Action {
	case "pass":
		fmt.Fprintf(s.w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
	case "fail":
		if e.FailedBuild != "" {
			fmt.Fprintf(s.w, "FAIL\t%s [build failed]\n", e.Package)
			return
		}
		if s.pkgFails[e.Package] > 0 {
			fmt.Fprintf(s.w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			return
		}
		s.badPkgs = append(s.badPkgs, e.Package)
		// Tests that never finished (a panic, a timeout) and the package's own output say what went wrong.
		for _, k := range s.order {
			if k.pkg == e.Package && s.running[k] {
				delete(s.running, k)
				fmt.Fprintf(s.w, "--- DID NOT FINISH: %s %s\n%s", k.pkg, k.test, strings.Join(s.output[k], ""))
				delete(s.output, k)
			}
		}
		fmt.Fprint(s.w, strings.Join(out, "")) // ends with go test's own "FAIL pkg" line
	}
	// A package skip is "no test files": nothing to say.
}

// skipReason is the t.Skip message: the last line the test logged, without the framework's own lines.
func skipReason(out []string) string {
	reason := ""
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = t
	}
	if reason == "" {
		return "(no reason given)"
	}
	return reason
}

// finish prints the closing summary and reports whether everything passed.
func (s *summary) finish() bool {
	var unfinished []string
	for _, k := range s.order {
		if s.running[k] && k.test == "" {
			unfinished = append(unfinished, k.pkg)
		}
	}
	sort.Strings(unfinished)
	fmt.Fprintln(s.w)
	for _, f := range s.failed {
		fmt.Fprintf(s.w, "FAILED %s\n", f)
	}
	for _, p := range s.badBuild {
		fmt.Fprintf(s.w, "FAILED build %s\n", p)
	}
	for _, p := range s.badPkgs {
		fmt.Fprintf(s.w, "FAILED package %s\n", p)
	}
	for _, p := range unfinished {
		fmt.Fprintf(s.w, "FAILED package %s: its run did not finish\n", p)
	}
	fmt.Fprintf(s.w, "%d passed, %d failed, %d skipped\n", s.passed, len(s.failed), len(s.skipped))
	for _, sk := range s.skipped {
		fmt.Fprintf(s.w, "SKIP %s\n", sk)
	}
	return len(s.failed) == 0 && len(s.badPkgs) == 0 && len(unfinished) == 0 && len(s.badBuild) == 0
}
