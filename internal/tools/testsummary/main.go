// Command testsummary reads 'go test -json' from standard input and prints what a person needs from a long test
// run: each package's ok line, the output of every failed test and build, then a closing line
//
//	N passed, N failed, N skipped
//
// and one line per skipped test with its reason (the t.Skip message), so that no skip goes unseen. It exits 1
// when a test or a build failed or a package did not finish, 0 otherwise. 'make test' pipes its test runs into
// it:
//
//	go test -json ./... | go run ./internal/tools/testsummary [-log REGEXP]
//
// -log prints the log of passing tests whose name matches (the accuracy figures). Lines on standard input that
// are not JSON (from a command that is not 'go test -json') are copied to the output as they are.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
)

func main() {
	logPattern := flag.String("log", "", "print the log of passing tests whose name matches this regular expression")
	flag.Parse()
	var logRE *regexp.Regexp
	if *logPattern != "" {
		re, err := regexp.Compile(*logPattern)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testsummary: -log: %v\n", err)
			os.Exit(2)
		}
		logRE = re
	}
	s := newSummary(os.Stdout, logRE)
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: reading the test output: %v\n", err)
		os.Exit(1)
	}
	if !s.finish() {
		os.Exit(1)
	}
}
