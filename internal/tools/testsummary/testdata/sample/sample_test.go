// Package sample is run by testsummary's test: one test of each outcome.
package sample

import "testing"

func TestPasses(t *testing.T) { t.Log("figure: 42") }

func TestFails(t *testing.T) { t.Error("this one fails") }

func TestSkips(t *testing.T) {
	t.Log("first a log line")
	t.Skip("dataset X absent: fetch it")
}

func TestSubtests(t *testing.T) {
	t.Run("runs", func(t *testing.T) {})
	t.Run("skips", func(t *testing.T) { t.Skipf("needs %s", "ffmpeg") })
}
