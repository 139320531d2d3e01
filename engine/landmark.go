package engine

import (
	"fmt"

	"github.com/facegate/facegate/internal/geom"
)

// The landmark model takes a 64x64 grey crop of the face's square box (side = box height, same centre), scaled
// to 0..1 by /256, and returns 68 (x, y) pairs normalised to that crop.
const lmkSize = 64

// squareBox is the square with the box's centre and the box's height as side, as the landmark model was fed.
func squareBox(r geom.Rect) geom.Rect {
	c := r.Center()
	s := r.H() / 2
	return geom.Rect{X1: c.X - s, Y1: c.Y - s, X2: c.X + s, Y2: c.Y + s}
}

// landmarks predicts the 68 points for a detected face; with Precise it averages the predictions for seven
// crops (the box, shifted by 3% of its size in each direction, and scaled by 0.94 and 1.06).
func (e *Engine) landmarks(p *pyramid, box geom.Rect) ([]geom.Point, error) {
	if !e.cfg.Precise {
		return e.landmarksOnce(p, box)
	}
	jitter := [][3]float64{{0, 0, 1}, {0.03, 0, 1}, {-0.03, 0, 1}, {0, 0.03, 1}, {0, -0.03, 1}, {0, 0, 0.94}, {0, 0, 1.06}}
	var acc []geom.Point
	for _, j := range jitter {
		c := box.Center()
		w, h := box.W()*j[2], box.H()*j[2]
		c.X += j[0] * box.W()
		c.Y += j[1] * box.H()
		lm, err := e.landmarksOnce(p, geom.Rect{X1: c.X - w/2, Y1: c.Y - h/2, X2: c.X + w/2, Y2: c.Y + h/2})
		if err != nil {
			return nil, err
		}
		if acc == nil {
			acc = make([]geom.Point, len(lm))
		}
		for i := range lm {
			acc[i].X += lm[i].X / float64(len(jitter))
			acc[i].Y += lm[i].Y / float64(len(jitter))
		}
	}
	return acc, nil
}

func (e *Engine) landmarksOnce(p *pyramid, box geom.Rect) ([]geom.Point, error) {
	sq := squareBox(box)
	in := make([]float32, lmkSize*lmkSize)
	p.warp(in, lmkSize, lmkSize, cropTransform(sq, lmkSize, lmkSize), layout{grey: true, mul: [3]float32{1. / 256}})
	out, err := e.lmk.Run(in)
	if err != nil {
		return nil, fmt.Errorf("engine: landmarks: %w", err)
	}
	v := out[0]
	pts := make([]geom.Point, len(v)/2)
	for i := range pts {
		pts[i] = geom.Point{X: sq.X1 + float64(v[2*i])*sq.W(), Y: sq.Y1 + float64(v[2*i+1])*sq.H()}
	}
	if len(pts) != 68 {
		return nil, fmt.Errorf("engine: landmark model returned %d points, want 68", len(pts))
	}
	return pts, nil
}

// fivePoints reduces 68 iBUG landmarks to the five alignment points: eye centres (mean of each eye's six
// contour points), nose tip, and mouth corners (mean of the outer and inner corner), in image-left-to-right order.
func fivePoints(lm []geom.Point) [5]geom.Point {
	mean := func(idx ...int) geom.Point {
		var p geom.Point
		for _, i := range idx {
			p.X += lm[i].X
			p.Y += lm[i].Y
		}
		n := float64(len(idx))
		return geom.Point{X: p.X / n, Y: p.Y / n}
	}
	return [5]geom.Point{
		mean(36, 37, 38, 39, 40, 41),
		mean(42, 43, 44, 45, 46, 47),
		lm[30],
		mean(48, 60),
		mean(54, 64),
	}
}
