package engine

import (
	"errors"
	"fmt"

	"github.com/facegate/facegate/internal/geom"
)

// The limits of one analysis. The engine owns them: the server, the CLI and the video pipeline pass Options and
// get these defaults, so an image costs the same bounded work whoever asks.
const (
	// MinFaceFloor is the smallest MinFaceSize accepted, in image pixels. The detector finds faces down to
	// detMinFace (20) of its own pixels, so a face of MinFaceFloor pixels must be looked at twice enlarged;
	// enlarging further invents no detail (bilinear upsampling) while each halving of the minimum quadruples the
	// detector runs. Faces of 10 px (eyes about 4 px apart) are still found in crowds; nothing smaller is.
	MinFaceFloor = 10
	// DefaultMaxDetectorRuns bounds the detector windows of one image's tiling plan (Options.MaxDetectorRuns):
	// 300 lets a 1920x1080 frame be searched down to 10 px faces (287 windows), a 3840x2160 one down to 19 px
	// and a 4000x3000 photo down to 25 px (at the default 40 px: 19 and 99 windows). Confirming what the
	// windows find costs at most as many runs again.
	DefaultMaxDetectorRuns = 300
	// DefaultMaxFaces is how many faces of one image are analysed (landmarks, quality, templates) at most
	// (Options.MaxFaces); the largest are kept.
	DefaultMaxFaces = 100
)

// ErrMinFaceTooSmall is returned for a MinFaceSize below MinFaceFloor (errors.Is).
var ErrMinFaceTooSmall = errors.New("engine: min face too small")

// CheckMinFace reports whether px is an acceptable MinFaceSize: 0 (the default, DefaultMinFace) or at least
// MinFaceFloor. The API, the CLI and stream settings check with it before any work; Analyze checks again.
func CheckMinFace(px int) error {
	if px == 0 || px >= MinFaceFloor {
		return nil
	}
	return fmt.Errorf("%w: the smallest face to look for must be at least %d pixels (asked for %d)", ErrMinFaceTooSmall, MinFaceFloor, px)
}

// Report says what one analysis did where the limits shaped it. Analyze fills it when Options.Report is set.
type Report struct {
	// MinFaceUsed is the smallest face height searched for, in pixels: the one asked for (or the default),
	// raised when searching that small would have taken more than MaxDetectorRuns detector windows.
	MinFaceUsed int
	// DetectorRuns is the number of detector runs made: the tiling plan's windows and the confirmation looks.
	DetectorRuns int
	// FacesFound is the number of faces detected; more than the faces returned when Truncated.
	FacesFound int
	// Truncated is true when the image may hold more faces than were returned: faces beyond MaxFaces were
	// dropped (the largest are kept), or the detector stopped confirming candidates because MaxFaces larger
	// faces were already found or its confirmation budget (MaxDetectorRuns) was spent, in which case FacesFound
	// counts only the faces confirmed.
	Truncated bool
}

// planMinFace returns the smallest face height, at least minFace, whose tiling plan for a w x h image takes at
// most maxRuns detector windows. The whole-image window alone always fits, so there is one.
func planMinFace(w, h, minFace, maxRuns int) int {
	for m := minFace; ; m++ {
		if n := geom.TileCount(w, h, detW, detH, float64(m), detMinFace); n <= maxRuns || n <= 1 {
			return m
		}
	}
}
