package audit

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
)

// entriesEqual says whether two decoded entries are the same record: what JSON-equivalent means here (the
// time as an instant, nil and empty details alike).
func entriesEqual(a, b *Entry) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Actor == b.Actor && a.Action == b.Action &&
		a.Target == b.Target && a.Outcome == b.Outcome && maps.Equal(a.Details, b.Details) &&
		a.Prev == b.Prev && a.Hash == b.Hash
}

func readAll(data []byte) ([]Entry, error) {
	next := FromJSONLines(bytes.NewReader(data))
	var out []Entry
	for {
		e, err := next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return out, nil
		}
		out = append(out, *e)
	}
}

// FuzzVerify mutates a serialized log (JSON lines) with a checkpoint at its head and checks that Verify never
// panics, and that it reports a problem exactly when the decoded log differs from the original (a change that
// decodes to the same entries, such as an escaped character or another time zone for the same instant, is
// not tampering). Changes that make a line unreadable make Verify fail with an error instead.
func FuzzVerify(f *testing.F) {
	orig := genLog(12)
	cps := sign(testKey, orig, 6, 12)
	data := jsonLines(f, orig)
	want, err := readAll(data)
	if err != nil {
		f.Fatal(err)
	}

	lines := bytes.SplitAfter(data, []byte("\n"))
	swap := func(i, j int) []byte {
		l := append([][]byte(nil), lines...)
		l[i], l[j] = l[j], l[i]
		return bytes.Join(l, nil)
	}
	f.Add(data)
	f.Add(swap(3, 4))
	f.Add(swap(0, 11))
	f.Add(bytes.Join(append(append([][]byte(nil), lines[:5]...), lines[6:]...), nil)) // 6 deleted
	f.Add(bytes.Join(lines[:10], nil))                                                // tail deleted
	f.Add(bytes.Join(append(append([][]byte(nil), lines[:5]...), lines[4:]...), nil)) // 5 duplicated
	f.Add(bytes.Replace(data, []byte(`"outcome":"ok"`), []byte(`"outcome":"ko"`), 1))
	f.Add(bytes.Replace(data, []byte(`"seq":3,`), []byte(`"seq":4,`), 1))
	f.Add(bytes.Replace(data, []byte(`"actor":"cli"`), []byte(`"actor":"\u0063li"`), 1))               // equivalent
	f.Add(bytes.Replace(data, []byte(`123456789Z"`), []byte(`123456789+00:00"`), 1))                   // equivalent
	f.Add(bytes.Replace(data, []byte(`12:00:00.123456789Z"`), []byte(`13:00:00.123456789+01:00"`), 1)) // equivalent
	f.Add(bytes.Replace(data, []byte(`12:00:00.123456789Z"`), []byte(`12:00:00.123456789+01:00"`), 1)) // another instant
	f.Add(bytes.Replace(data, []byte("\n"), []byte("\n\n"), -1))                                       // equivalent
	f.Add(bytes.Replace(data, []byte(`"seq"`), []byte(`"SEQ"`), 1))                                    // equivalent for encoding/json

	f.Fuzz(func(t *testing.T, mutated []byte) {
		r, verr := Verify(FromJSONLines(bytes.NewReader(mutated)), cps, testPub)
		got, rerr := readAll(mutated)
		if rerr != nil {
			if verr == nil {
				t.Fatalf("unreadable log (%v) verified without an error", rerr)
			}
			return
		}
		if verr != nil {
			t.Fatalf("readable log: Verify error %v", verr)
		}
		same := len(got) == len(want)
		for i := 0; same && i < len(got); i++ {
			same = entriesEqual(&got[i], &want[i])
		}
		if r.OK != same {
			t.Fatalf("log changed: %v, but report OK: %v\n%s\n%s", !same, r.OK, r, mutated)
		}
		if !r.OK && len(r.Problems) == 0 {
			t.Fatalf("not OK without problems: %+v", r)
		}
		_ = r.String()
	})
}

// FuzzReadCheckpoints: the checkpoints file lives outside the data directory and may be shipped elsewhere and
// back, so its text is untrusted: no panic, and what it returns re-encodes to lines it reads back the same.
func FuzzReadCheckpoints(f *testing.F) {
	f.Add([]byte(`{"seq":3,"hash":"ab","time":"2026-12-02T10:00:00Z","key_id":"k","signature":"c2ln"}` + "\n\n"))
	f.Add([]byte("{\"seq\":1}\n{\"seq\":"))
	f.Add([]byte("not json\n{\"seq\":2}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cps, err := ReadCheckpoints(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		for _, c := range cps {
			line, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(line, '\n'))
		}
		again, err := ReadCheckpoints(&b)
		if err != nil || len(again) != len(cps) {
			t.Fatalf("%d checkpoints re-read as %d (%v)", len(cps), len(again), err)
		}
	})
}
