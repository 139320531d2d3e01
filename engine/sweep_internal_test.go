package engine

import (
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/geom"
)

// TestSweepTiles: over Parts consecutive phases every fine window of a 1080p crowd plan is searched exactly
// once, the whole-image window every time; a focus box adds the windows that overlap it (grown by its size) in
// every phase; Parts 1 searches everything.
func TestSweepTiles(t *testing.T) {
	all := geom.Tiles(1920, 1080, detW, detH, CrowdMinFace, detMinFace)
	if len(all) < 100 {
		t.Fatalf("plan of %d windows; want a crowd plan of 1080p", len(all))
	}
	seen := map[geom.Rect]int{}
	for phase := -4; phase < 0; phase++ { // negative phases are taken modulo Parts too
		got := (&Sweep{Parts: 4, Phase: phase}).tiles(all, nil)
		if got[0] != all[0] {
			t.Fatalf("phase %d: first window %+v is not the whole image", phase, got[0])
		}
		if n := len(got) - 1; n < (len(all)-1)/4 || n > (len(all)-1)/4+1 {
			t.Errorf("phase %d: %d fine windows of %d", phase, n, len(all)-1)
		}
		for _, tl := range got[1:] {
			seen[tl.Src]++
		}
	}
	for _, tl := range all[1:] {
		if seen[tl.Src] != 1 {
			t.Errorf("window %+v searched %d times in one round", tl.Src, seen[tl.Src])
		}
	}
	if got := (&Sweep{Parts: 1}).tiles(all, nil); len(got) != len(all) {
		t.Errorf("Parts 1: %d windows of %d", len(got), len(all))
	}
	face := facegate.Box{X1: 1000, Y1: 500, X2: 1014, Y2: 516}
	grown := geom.Rect{X1: 986, Y1: 484, X2: 1028, Y2: 532}
	for phase := range 4 {
		sw := &Sweep{Parts: 4, Phase: phase, Focus: []facegate.Box{face}}
		got := sw.tiles(all, sw.rects())
		for _, tl := range all[1:] {
			if tl.Src.Intersect(grown).Area() == 0 {
				continue
			}
			found := false
			for _, g := range got {
				found = found || g.Src == tl.Src
			}
			if !found {
				t.Errorf("phase %d: window %+v over the focus face not searched", phase, tl.Src)
			}
		}
	}
	if err := (&Sweep{Parts: 0}).check(); err == nil {
		t.Error("Parts 0 accepted")
	}
	if err := (&Sweep{Parts: MaxSweepParts + 1}).check(); err == nil {
		t.Error("Parts above the bound accepted")
	}
}
