package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRequireCheckpoints(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := GenerateKey()
	at := func(seq int64) *Entry { return &Entry{Seq: seq, Hash: "h"} }
	now := time.Now()
	for _, tc := range []struct {
		name    string
		entries int64
		cps     []Checkpoint
		ok      bool
	}{
		{"empty log", 0, nil, true},
		{"no checkpoint", 3, nil, false},
		{"head covered", 1200, []Checkpoint{SignCheckpoint(priv, at(1000), now)}, true},
		{"only an old checkpoint", 2500, []Checkpoint{SignCheckpoint(priv, at(1000), now)}, false},
		{"early ones deleted, last kept", 2500, []Checkpoint{SignCheckpoint(priv, at(2400), now)}, true},
		{"signed by another key", 10, []Checkpoint{SignCheckpoint(other, at(10), now)}, false},
	} {
		r := &Report{Entries: tc.entries, OK: true}
		r.RequireCheckpoints(tc.cps, pub, 1000)
		if r.OK != tc.ok || (r.OK == (len(r.Problems) > 0)) {
			t.Errorf("%s: OK %v %+v, want %v", tc.name, r.OK, r.Problems, tc.ok)
		}
	}
}

func TestReadCheckpoints(t *testing.T) {
	_, priv, _ := GenerateKey()
	line := func(seq int64) string {
		b, _ := json.Marshal(SignCheckpoint(priv, &Entry{Seq: seq, Hash: "h"}, time.Now()))
		return string(b) + "\n"
	}
	for _, tc := range []struct {
		name, in string
		n        int
		fail     bool
	}{
		{"two", line(1) + "\n" + line(2), 2, false},
		{"torn last line (crash while writing)", line(1) + line(2)[:20], 1, false},
		{"garbage in the middle", line(1) + "not json\n" + line(3), 0, true},
	} {
		cps, err := ReadCheckpoints(strings.NewReader(tc.in))
		if (err != nil) != tc.fail || len(cps) != tc.n {
			t.Errorf("%s: %d checkpoints, %v", tc.name, len(cps), err)
		}
	}
}
