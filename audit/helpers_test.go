package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"
)

var (
	testKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	testPub  = testKey.Public().(ed25519.PublicKey)
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
)

var baseTime = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// genLog makes a chained log of n entries with varied fields, some without details.
func genLog(n int) []Entry {
	actors := []string{"key_admin01", "system", "cli", "key_ops7"}
	actions := []string{"subject.create", "face.enrol", "search", "stream.delete", "key.create", "retention.sweep"}
	outcomes := []string{"ok", "match", "no_match", "denied", "rejected", "error"}
	log := make([]Entry, 0, n)
	for i := range n {
		e := Entry{
			Time:    baseTime.Add(time.Duration(i)*time.Second + time.Duration(i*i)*time.Nanosecond),
			Actor:   actors[i%len(actors)],
			Action:  actions[i%len(actions)],
			Target:  fmt.Sprintf("gallery/gal_%d/subject/sub_%03d", i%3, i),
			Outcome: outcomes[i%len(outcomes)],
			Details: map[string]string{"request_id": fmt.Sprintf("req_%05d", i), "count": strconv.Itoa(i % 7)},
		}
		if i%5 == 0 {
			e.Details = nil
			e.Target = ""
		}
		var prev *Entry
		if i > 0 {
			prev = &log[i-1]
		}
		Chain(prev, &e)
		log = append(log, e)
	}
	return log
}

// sign makes checkpoints of log at the given seqs, signed with key a minute after the entry.
func sign(key ed25519.PrivateKey, log []Entry, seqs ...int64) []Checkpoint {
	var cps []Checkpoint
	for _, s := range seqs {
		cps = append(cps, SignCheckpoint(key, &log[s-1], log[s-1].Time.Add(time.Minute)))
	}
	return cps
}

func cloneLog(log []Entry) []Entry {
	out := make([]Entry, len(log))
	for i, e := range log {
		e.Details = maps.Clone(e.Details)
		out[i] = e
	}
	return out
}

// rechain recomputes Prev and Hash of log[i:] (a consistent rewrite), keeping seqs.
func rechain(log []Entry, i int) {
	for ; i < len(log); i++ {
		if i == 0 {
			log[i].Prev = Genesis
		} else {
			log[i].Prev = log[i-1].Hash
		}
		log[i].Hash = log[i].ComputeHash()
	}
}

func verifySlice(t *testing.T, log []Entry, cps []Checkpoint, pub ed25519.PublicKey) *Report {
	t.Helper()
	r, err := Verify(FromSlice(log), cps, pub)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func jsonLines(t testing.TB, log []Entry) []byte {
	t.Helper()
	var b bytes.Buffer
	for i := range log {
		line, err := json.Marshal(&log[i])
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
