package track

import (
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// unit is a 4-dimensional unit template along axis i, tilted towards axis j by w.
func unit(i, j int, w float32) []float32 {
	v := make([]float32, 4)
	v[i], v[j] = 1, w
	return v
}

func TestRelinker(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, tc := range []struct {
		name        string
		tmpl        []float32
		since, now  float64
		wantPerson  string
		wantPending int
	}{
		{"same face back within the window", unit(0, 1, 0.1), 3, 3, "t1", 1},
		{"the most alike of two", unit(1, 0, 0.2), 3, 3, "t2", 1},
		{"another face", unit(2, 3, 0), 3, 3, "", 2},
		{"after the window", unit(0, 1, 0.1), 7, 7, "", 0},
		{"a track that started before the other ended is someone else", unit(0, 1, 0.1), 0.5, 3, "", 2},
	} {
		r := NewRelinker(0.5)
		r.Lost("t1", unit(0, 1, 0), at(1))
		r.Lost("t2", unit(1, 0, 0), at(1))
		r.Lost("t9", nil, at(1)) // no template: nothing to keep
		person, _, ok := r.Relink(tc.tmpl, at(tc.since), at(tc.now))
		if person != tc.wantPerson || ok != (tc.wantPerson != "") || r.Pending() != tc.wantPending {
			t.Errorf("%s: Relink = %q, %v with %d kept, want %q with %d kept", tc.name, person, ok, r.Pending(),
				tc.wantPerson, tc.wantPending)
		}
	}
}

func TestRelinkerClearDropsTemplates(t *testing.T) {
	r := NewRelinker(0.5)
	r.Lost("t1", unit(0, 1, 0), time.Unix(1e9, 0))
	r.Clear()
	if _, _, ok := r.Relink(unit(0, 1, 0), time.Unix(1e9+1, 0), time.Unix(1e9+1, 0)); ok || r.Pending() != 0 {
		t.Fatalf("a template outlived Clear")
	}
}

// TestSplit: a track that followed a face into another person's is split: the detection starts a new confirmed
// track, which keeps the face, and the old one goes back to its previous place and is gone from the tracker.
func TestSplit(t *testing.T) {
	tr := New()
	t0 := time.Unix(1e9, 0)
	step := func(i int, b ...facegate.Box) Result {
		return tr.Step(t0.Add(time.Duration(i)*200*time.Millisecond), b)
	}
	step(0, box(100, 100, 40))
	step(1, box(102, 100, 40))
	r := step(2, box(110, 100, 40)) // another face, associated by overlap
	old := r.Assigned[0]
	nt := tr.Split(old)
	if nt == nil || nt.ID == old.ID || !nt.Confirmed || nt.Box != box(110, 100, 40) {
		t.Fatalf("Split = %+v", nt)
	}
	if old.Box != box(102, 100, 40) || old.Hits != 2 {
		t.Fatalf("the old track was not put back: %+v", old)
	}
	if tr.Split(old) != nil || tr.Split(nt) != nil {
		t.Fatal("split a track no longer held, or one with a single detection")
	}
	for i := 3; i < 15; i++ {
		r = step(i, box(110+float32(i-2), 100, 40))
		if r.Assigned[0] != nt || len(r.Ended) > 0 {
			t.Fatalf("frame %d: the face went to %s (ended %v), want the new track %s", i, r.Assigned[0].ID, r.Ended, nt.ID)
		}
	}
	if live := tr.Live(); len(live) != 1 || live[0] != nt {
		t.Fatalf("live tracks %v, want only %s", live, nt.ID)
	}
}
