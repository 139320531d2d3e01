// Package panics has a test that panics, for testsummary's test.
package panics

import "testing"

func TestPanics(t *testing.T) { panic("boom") }
