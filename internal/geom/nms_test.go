package geom

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// quadraticNMS is the textbook greedy NMS, comparing every pair: the reference NMS must agree with.
func quadraticNMS(boxes []Scored, thresh float64) []Scored {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return boxes[order[a]].Score > boxes[order[b]].Score })
	suppressed := make([]bool, len(boxes))
	var keep []Scored
	for i, oi := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, boxes[oi])
		for j := i + 1; j < len(order); j++ {
			if !suppressed[j] && IoU(boxes[oi].Rect, boxes[order[j]].Rect) > thresh {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// randomBoxes are n boxes of sizes from 0.5 to 400 px (some thin, some empty) in a w x w field, half of them
// near copies of others, with scores from a few levels so that ties occur.
func randomBoxes(r *rand.Rand, n int, w float64) []Scored {
	boxes := make([]Scored, n)
	for i := range boxes {
		s := 0.5 + r.Float64()*r.Float64()*400
		bw, bh := s, s*(0.6+0.8*r.Float64())
		if r.IntN(20) == 0 {
			bh = s / 10
		}
		if r.IntN(50) == 0 {
			bw = 0
		}
		x, y := r.Float64()*w-50, r.Float64()*w-50
		if i > 0 && r.IntN(2) == 0 {
			// Half are found again, as overlapping priors find a face: a jittered, rescaled copy of an earlier box.
			p := boxes[r.IntN(i)].Rect
			j, k := 0.2*r.Float64()*p.W(), 1+0.1*(r.Float64()-0.5)
			x, y, bw, bh = p.X1+j*(r.Float64()-0.5), p.Y1+j*(r.Float64()-0.5), p.W()*k, p.H()*k
		}
		boxes[i] = Scored{Rect{x, y, x + bw, y + bh}, float64(r.IntN(50)) / 50}
	}
	return boxes
}

func TestNMSAgreesWithPairwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n      int
		field  float64
		thresh float64
	}{{0, 100, 0.4}, {1, 100, 0.4}, {50, 200, 0.4}, {400, 500, 0.4}, {400, 500, 0}, {400, 500, 0.9}, {3000, 2000, 0.4}, {30, 100, -0.1}} {
		boxes := randomBoxes(r, tc.n, tc.field)
		got, want := NMS(boxes, tc.thresh), quadraticNMS(boxes, tc.thresh)
		if tc.n >= 50 && len(want) > tc.n*9/10 {
			t.Fatalf("%d boxes, thresh %v: only %d suppressed, too few to test suppression", tc.n, tc.thresh, tc.n-len(want))
		}
		if len(got) != len(want) {
			t.Errorf("%d boxes, thresh %v: kept %d, pairwise NMS keeps %d", tc.n, tc.thresh, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%d boxes, thresh %v: kept box %d is %v, pairwise NMS keeps %v", tc.n, tc.thresh, i, got[i], want[i])
				break
			}
		}
	}
}

// TestNMSCrowdIsFast replays the crowd that made detection overrun its deadline: 43,000 finds from the tiles of
// a 6300x6300 image of 60 px faces took 6.9 s of pairwise NMS; it must take well under a second.
func TestNMSCrowdIsFast(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var boxes []Scored
	for y := 0.0; y < 6300; y += 60 {
		for x := 0.0; x < 6300; x += 60 {
			for range 4 { // each face found by ~4 overlapping priors and neighbouring tiles
				dx, dy, s := r.Float64()*6, r.Float64()*6, 40+r.Float64()*10
				boxes = append(boxes, Scored{Rect{x + dx, y + dy, x + dx + s, y + dy + s*1.2}, r.Float64()})
			}
		}
	}
	start := time.Now()
	kept := NMS(boxes, 0.4)
	took := time.Since(start)
	t.Logf("%d boxes -> %d kept in %v", len(boxes), len(kept), took)
	if took > time.Second {
		t.Errorf("NMS of %d crowd boxes took %v", len(boxes), took)
	}
	if len(kept) < 105*105 || len(kept) > 4*105*105 {
		t.Errorf("NMS kept %d of %d boxes around %d faces", len(kept), len(boxes), 105*105)
	}
}
