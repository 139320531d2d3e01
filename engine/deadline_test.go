package engine_test

import (
	"context"
	"errors"
	"image"
	"testing"
	"time"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// packedCrowd is a side x side mosaic of the faces of a real group photo (sample5's five), each cropped with a
// little margin and scaled so that the face is about face px high, packed edge to edge: thousands of real faces,
// like the synthetic crowd of the red-team review (6300x6300, 60 px faces).
func packedCrowd(t testing.TB, e *engine.Engine, side, face int) *imgio.Image {
	t.Helper()
	group := npmImage(t, "sample5.jpg")
	found, err := e.Analyze(t.Context(), group, engine.Options{})
	if err != nil || len(found) == 0 {
		t.Fatalf("finding sample5's faces: %d faces, %v", len(found), err)
	}
	cell := face * 4 / 3
	var heads []*imgio.Image
	for _, f := range found {
		cx, cy, r := (f.Box.X1+f.Box.X2)/2, (f.Box.Y1+f.Box.Y2)/2, f.Box.H()*2/3
		box := image.Rect(int(cx-r), int(cy-r), int(cx+r), int(cy+r)).Intersect(image.Rect(0, 0, group.W, group.H))
		heads = append(heads, resize(crop(group, box), cell, cell))
	}
	out := imgio.NewImage(side, side)
	for gy := 0; gy*cell < side; gy++ {
		for gx := 0; gx*cell < side; gx++ {
			h := heads[(gy*7+gx)%len(heads)]
			w := min(cell, side-gx*cell)
			for y := 0; y < cell && gy*cell+y < side; y++ {
				row := ((gy*cell+y)*side + gx*cell) * 3
				copy(out.Pix[row:row+w*3], h.Pix[y*cell*3:(y*cell+w)*3])
			}
		}
	}
	return out
}

// TestAttackCrowdDeadline replays the red-team crowd: a 6000x6000 image packed with ~6,000 real 60 px faces,
// searched with min face 10. Every stage after the detector runs (suppression of ~40,000 tile finds, the
// confirmation looks, the faces' models) must stop with the request's deadline: Analyze returns within a model
// call or so of it wherever the deadline falls. Before, the pairwise suppression alone ran 7 s past any deadline.
func TestAttackCrowdDeadline(t *testing.T) {
	e := testEngine(t)
	img := packedCrowd(t, e, 6000, 60)
	opt := engine.Options{MinFaceSize: 10, Embed: true}
	const margin = 300 * time.Millisecond
	for _, deadline := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 4500 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		faces, err := e.Analyze(ctx, img, opt)
		took := time.Since(start)
		cancel()
		t.Logf("deadline %v: %d faces, %v after %v", deadline, len(faces), err, took)
		if took > deadline+margin {
			t.Errorf("Analyze with a %v deadline returned after %v, over %v past it", deadline, took, took-deadline)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Analyze with a %v deadline: %v, want context.DeadlineExceeded", deadline, err)
		}
	}
}
