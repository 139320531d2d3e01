package engine

import (
	"fmt"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/geom"
)

// Sweep spreads the closer looks of a detection over the consecutive frames of a video, so that a crowd profile
// stream pays a share of a full search per frame instead of all of it. Every frame is searched whole at the
// coarse scale, and at the finer scales in the windows that overlap Focus (where the previous frames had faces,
// grown by their own size on every side) and in one part of the other windows in turn: window i (counting the
// fine windows of the plan from 0) is searched when i mod Parts is Phase mod Parts. A face anywhere in the frame
// is thus searched at full resolution at least every Parts frames, and a face once found is searched every
// frame while the caller passes it as Focus. A fine window's find that overlaps a Focus box at IoU > 0.5 needs
// no second looks: the frame that found it confirmed it, and it keeps its place if it still scores Threshold.
type Sweep struct {
	// Parts is how many frames one round over the fine windows takes (1: every window every frame).
	Parts int
	// Phase is this frame's part; the caller counts it up frame by frame.
	Phase int
	// Focus is where the previous frames had faces (at most MaxSweepFocus boxes are used).
	Focus []facegate.Box
}

// Bounds of a Sweep.
const (
	MaxSweepParts = 64
	MaxSweepFocus = 1000
)

// check refuses a Sweep out of bounds.
func (s *Sweep) check() error {
	if s.Parts < 1 || s.Parts > MaxSweepParts {
		return fmt.Errorf("engine: sweep parts %d, want 1..%d", s.Parts, MaxSweepParts)
	}
	return nil
}

// rects are the Focus boxes in image coordinates, at most MaxSweepFocus of them: detect converts them once and
// uses them to pick windows (tiles) and to recognise known faces (known).
func (s *Sweep) rects() []geom.Rect {
	focus := s.Focus
	if len(focus) > MaxSweepFocus {
		focus = focus[:MaxSweepFocus]
	}
	out := make([]geom.Rect, len(focus))
	for i, b := range focus {
		out[i] = fromBox(b)
	}
	return out
}

// tiles keeps the whole-image window and the fine windows this frame searches: its part, and those that overlap
// a focus rect grown by its own size on every side.
func (s *Sweep) tiles(all []geom.Tile, focus []geom.Rect) []geom.Tile {
	if len(all) <= 1 || s.Parts <= 1 {
		return all
	}
	grown := make([]geom.Rect, len(focus))
	for i, r := range focus {
		w, h := r.W(), r.H()
		grown[i] = geom.Rect{X1: r.X1 - w, Y1: r.Y1 - h, X2: r.X2 + w, Y2: r.Y2 + h}
	}
	phase := ((s.Phase % s.Parts) + s.Parts) % s.Parts
	out := all[:1:1]
	for i, t := range all[1:] {
		keep := i%s.Parts == phase
		for _, g := range grown {
			if keep {
				break
			}
			keep = t.Src.Intersect(g).Area() > 0
		}
		if keep {
			out = append(out, t)
		}
	}
	return out
}

// known reports whether r is a face of the previous frames: a focus rect overlaps it at IoU > 0.5.
func known(focus []geom.Rect, r geom.Rect) bool {
	for _, f := range focus {
		if geom.IoU(f, r) > 0.5 {
			return true
		}
	}
	return false
}
