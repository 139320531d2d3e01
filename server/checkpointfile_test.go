package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate/audit"
)

// TestLastFileCheckpoint: the last checkpoint of a checkpoints file is read from its end, past blank lines and
// a torn last line, however long the file; a last line that is not a checkpoint is an error naming the file.
func TestLastFileCheckpoint(t *testing.T) {
	line := func(seq int64) string {
		b, _ := json.Marshal(audit.Checkpoint{Seq: seq, Hash: strings.Repeat("ab", 32), Time: time.Unix(seq, 0).UTC(), KeyID: "k", Signature: "s"})
		return string(b) + "\n"
	}
	many := ""
	for i := range int64(500) { // about 100 KiB: read back in growing windows
		many += line(i + 1)
	}
	for _, tc := range []struct {
		name, text string
		seq        int64 // 0: none
		err        string
	}{
		{name: "empty", text: ""},
		{name: "one", text: line(7), seq: 7},
		{name: "blank lines after", text: line(7) + line(8) + "\n\n", seq: 8},
		{name: "torn last line", text: line(7) + line(8) + `{"seq":9,"ha`, seq: 8},
		{name: "torn only line", text: `{"seq":9,"ha`},
		{name: "long file", text: many, seq: 500},
		{name: "long file, torn", text: many + strings.Repeat("x", 10000), seq: 500},
		{name: "not a checkpoint", text: line(7) + "hello\n", err: "its last line is not a checkpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.jsonl")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			c, ok, err := lastFileCheckpoint(path)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("got %v, want an error saying %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case ok != (tc.seq != 0) || c.Seq != tc.seq:
				t.Fatalf("got seq %d (found %v), want %d", c.Seq, ok, tc.seq)
			}
		})
	}
	if _, ok, err := lastFileCheckpoint(filepath.Join(t.TempDir(), "none")); ok || err != nil {
		t.Fatalf("a missing file: %v %v", ok, err)
	}
}

// TestCheckpointSinkEndsTornLine: a checkpoint appended after a torn last line starts a line of its own, so
// the file still reads back.
func TestCheckpointSinkEndsTornLine(t *testing.T) {
	_, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cp.jsonl")
	if err := os.WriteFile(path, []byte(`{"seq":9,"ha`), 0o600); err != nil {
		t.Fatal(err)
	}
	sink, err := openCheckpointSink(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.add(audit.SignCheckpoint(priv, &audit.Entry{Seq: 3, Hash: strings.Repeat("cd", 32)}, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := sink.close(); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := lastFileCheckpoint(path); err != nil || !ok || c.Seq != 3 {
		t.Fatalf("last checkpoint after a torn line: %+v %v %v", c, ok, err)
	}
}
