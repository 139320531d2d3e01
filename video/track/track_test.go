package track

import (
	"math"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func box(cx, cy, size float32) facegate.Box {
	return facegate.Box{X1: cx - size/2, Y1: cy - size/2, X2: cx + size/2, Y2: cy + size/2}
}

func TestIoU(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b facegate.Box
		want float64
	}{
		{"same", box(50, 50, 20), box(50, 50, 20), 1},
		{"disjoint", box(0, 0, 10), box(100, 100, 10), 0},
		{"half overlap", facegate.Box{X1: 0, Y1: 0, X2: 10, Y2: 10}, facegate.Box{X1: 5, Y1: 0, X2: 15, Y2: 10}, 50.0 / 150},
		{"inside", facegate.Box{X1: 0, Y1: 0, X2: 10, Y2: 10}, facegate.Box{X1: 0, Y1: 0, X2: 5, Y2: 5}, 0.25},
		{"empty", facegate.Box{}, facegate.Box{}, 0},
	} {
		if got := IoU(tc.a, tc.b); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: IoU = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// frames is a scripted scene: detections per frame at 5 fps.
type scene [][]facegate.Box

func run(tr *Tracker, s scene) (ids [][]string, started, ended []string) {
	t0 := time.Unix(1e9, 0)
	for i, boxes := range s {
		r := tr.Step(t0.Add(time.Duration(i)*200*time.Millisecond), boxes)
		var row []string
		for _, t := range r.Assigned {
			row = append(row, t.ID)
		}
		ids = append(ids, row)
		for _, t := range r.Started {
			started = append(started, t.ID)
		}
		for _, t := range r.Ended {
			ended = append(ended, t.ID)
		}
	}
	return ids, started, ended
}

func TestStableIDs(t *testing.T) {
	// One face walking right at 40 px per frame (its size is 60: consecutive boxes overlap by 1/5).
	var s scene
	for i := 0; i < 20; i++ {
		s = append(s, []facegate.Box{box(100+40*float32(i), 200, 60)})
	}
	ids, started, _ := run(New(), s)
	for i, row := range ids {
		if len(row) != 1 || row[0] != "t1" {
			t.Fatalf("frame %d: ids %v, want [t1]", i, row)
		}
	}
	if len(started) != 1 {
		t.Fatalf("started %v", started)
	}
}

func TestFastMotionNeedsPrediction(t *testing.T) {
	// 70 px per frame for a 60 px face: boxes of consecutive frames do not overlap at all; the velocity
	// prediction and the centre-distance pass keep the id.
	var s scene
	for i := 0; i < 10; i++ {
		s = append(s, []facegate.Box{box(100+70*float32(i), 200, 60)})
	}
	ids, _, _ := run(New(), s)
	for i, row := range ids {
		if row[0] != "t1" {
			t.Fatalf("frame %d: id %s, want t1", i, row[0])
		}
	}
}

func TestCrossingFaces(t *testing.T) {
	// Two faces pass each other horizontally at different heights; each keeps its id.
	var s scene
	for i := 0; i < 12; i++ {
		x := 30 * float32(i)
		s = append(s, []facegate.Box{box(100+x, 100, 50), box(430-x, 180, 50)})
	}
	ids, _, _ := run(New(), s)
	a, b := ids[0][0], ids[0][1]
	for i, row := range ids {
		if row[0] != a || row[1] != b {
			t.Fatalf("frame %d: ids %v, want [%s %s]", i, row, a, b)
		}
	}
}

func TestMissedFramesAndEnd(t *testing.T) {
	f := []facegate.Box{box(200, 200, 80)}
	s := scene{f, f, f, nil, nil, f, f} // missed for 0.4 s: same track
	for i := 0; i < 10; i++ {
		s = append(s, nil) // gone for 2 s: ended
	}
	s = append(s, f, f) // back: a new track
	ids, started, ended := run(New(), s)
	if ids[5][0] != "t1" || ids[6][0] != "t1" {
		t.Fatalf("after a short gap: %v", ids)
	}
	if len(ended) != 1 || ended[0] != "t1" {
		t.Fatalf("ended %v, want [t1]", ended)
	}
	last := ids[len(ids)-1][0]
	if last == "t1" {
		t.Fatal("a face returning after the track ended got the old id")
	}
	if len(started) != 2 {
		t.Fatalf("started %v, want 2 tracks", started)
	}
}

func TestSingleFrameFalsePositiveNeverStarts(t *testing.T) {
	s := scene{{box(100, 100, 40)}, nil, nil, {box(400, 300, 40)}, nil}
	_, started, ended := run(New(), s)
	if len(started) != 0 || len(ended) != 0 {
		t.Fatalf("started %v ended %v, want none", started, ended)
	}
}

func TestSizeGate(t *testing.T) {
	// A much bigger face appearing near a small one's place is another person, not the same track.
	s := scene{{box(100, 100, 40)}, {box(100, 100, 40)}, {box(130, 100, 120)}}
	ids, _, _ := run(New(), s)
	if ids[2][0] == ids[1][0] {
		t.Fatalf("size gate: the big face took the small face's track %s", ids[1][0])
	}
}

func TestEndAll(t *testing.T) {
	tr := New()
	s := scene{{box(100, 100, 40), box(300, 100, 40)}, {box(100, 100, 40), box(300, 100, 40)}}
	run(tr, s)
	if got := tr.EndAll(); len(got) != 2 {
		t.Fatalf("EndAll: %d tracks, want 2", len(got))
	}
	if len(tr.Live()) != 0 {
		t.Fatal("tracks left after EndAll")
	}
}
