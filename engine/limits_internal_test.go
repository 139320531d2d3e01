package engine

import (
	"errors"
	"testing"

	"github.com/facegate/facegate/internal/geom"
)

// TestPlanMinFaceBoundsDetectorRuns replays issue 12's attack on the plan: min face 1 px (refused now, so the
// floor) on a 640x480 and a 6240x6240 image asked for 4,521 and about 700,000 detector windows. Within the
// budget, the plan searches the smallest face that fits, and no smaller one than asked.
func TestPlanMinFaceBoundsDetectorRuns(t *testing.T) {
	tests := []struct {
		w, h, minFace, maxRuns int
		want                   int // the face size searched
	}{
		{640, 480, MinFaceFloor, DefaultMaxDetectorRuns, MinFaceFloor}, // 35 windows: fits as asked
		{640, 480, 40, DefaultMaxDetectorRuns, 40},
		{1920, 1080, MinFaceFloor, DefaultMaxDetectorRuns, MinFaceFloor}, // 287 windows: crowds in full HD
		{6240, 6240, MinFaceFloor, DefaultMaxDetectorRuns, 0},            // 4,688 windows at 10 px: raised
		{6240, 6240, 1, DefaultMaxDetectorRuns, 0},                       // the engine refuses 1; the plan still bounds it
		{640, 480, 1, 10, 0},
		{6240, 6240, 1, 1, 0}, // a budget of one run: the whole image only
	}
	for _, tc := range tests {
		got := planMinFace(tc.w, tc.h, tc.minFace, tc.maxRuns)
		n := geom.TileCount(tc.w, tc.h, detW, detH, float64(got), detMinFace)
		if n > tc.maxRuns {
			t.Errorf("%dx%d min %d budget %d: searches %d px with %d windows, over the budget", tc.w, tc.h, tc.minFace, tc.maxRuns, got, n)
		}
		if got < tc.minFace || (tc.want != 0 && got != tc.want) {
			t.Errorf("%dx%d min %d budget %d: searches %d px, want %d", tc.w, tc.h, tc.minFace, tc.maxRuns, got, tc.want)
		}
		// The smallest that fits: one pixel less is over the budget (unless it is what was asked for).
		if got > tc.minFace && geom.TileCount(tc.w, tc.h, detW, detH, float64(got-1), detMinFace) <= tc.maxRuns {
			t.Errorf("%dx%d min %d budget %d: searches %d px, but %d px fits too", tc.w, tc.h, tc.minFace, tc.maxRuns, got, got-1)
		}
		t.Logf("%dx%d min %d budget %d: %d px, %d windows", tc.w, tc.h, tc.minFace, tc.maxRuns, got, n)
	}
}

func TestCheckMinFace(t *testing.T) {
	for _, tc := range []struct {
		px int
		ok bool
	}{{0, true}, {MinFaceFloor, true}, {40, true}, {MinFaceFloor - 1, false}, {1, false}, {-5, false}} {
		err := CheckMinFace(tc.px)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMinFaceTooSmall)) {
			t.Errorf("CheckMinFace(%d) = %v, want ok %v", tc.px, err, tc.ok)
		}
	}
}
