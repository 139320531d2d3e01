package engine

import (
	"errors"
	"fmt"
	"math"
)

// Profile names a detection profile: what faces an analysis looks for and how much work it may spend on them.
type Profile string

// The profiles.
const (
	// ProfileDefault looks for faces of DefaultMinFace (40) pixels and up: portraits, doors, desks. It keeps a
	// 1080p stream at 5 frames a second in real time on two cores (docs/performance.md).
	ProfileDefault Profile = "default"
	// ProfileCrowd looks for faces down to CrowdMinFace (12) pixels: streets, stations, stadiums. It searches
	// enlarged tiles, confirms their finds with a threshold calibrated per scale and keeps up to CrowdMaxFaces
	// faces, within its own detector-run budget (CrowdMaxDetectorRuns).
	ProfileCrowd Profile = "crowd"
)

// ErrUnknownProfile is returned by ParseProfile for a name that is no profile (errors.Is).
var ErrUnknownProfile = errors.New("engine: unknown profile")

// ParseProfile parses a profile name: "" and "default" are ProfileDefault, "crowd" is ProfileCrowd. It is the one
// place the CLI, the API and stream settings turn a name into a Profile.
func ParseProfile(s string) (Profile, error) {
	switch Profile(s) {
	case "", ProfileDefault:
		return ProfileDefault, nil
	case ProfileCrowd:
		return ProfileCrowd, nil
	}
	return "", fmt.Errorf("%w %q: want default or crowd", ErrUnknownProfile, s)
}

// The crowd profile's limits. They replace the defaults of MinFaceSize, MaxFaces and MaxDetectorRuns when those
// are unset; a value set in Options wins.
const (
	// CrowdMinFace is the smallest face height the crowd profile looks for, in image pixels: such faces are
	// searched in tiles enlarged 1.67 times (detMinFace/CrowdMinFace).
	CrowdMinFace = 12
	// CrowdMaxDetectorRuns bounds the crowd profile's tiling plan: 900 windows search a 3840x2160 frame down to
	// 12 px faces (848 windows; a 1920x1080 one takes 227). Confirming what the windows find costs at most as
	// many runs again, so one image costs at most 1,800 detector runs (docs/performance.md has their time).
	CrowdMaxDetectorRuns = 900
	// CrowdMaxFaces is how many faces of one image the crowd profile analyses at most, the largest kept.
	CrowdMaxFaces = 500
)

// Why the default profile misses small faces, measured on 1920x1080 mosaics of the dlib photos downscaled to 9-55
// px faces (engine/crowd_test.go, docs/accuracy.md): with MinFaceSize 10 the tiles find 55 of the 65 faces under
// 16 px, but the confirmation looks at each candidate again with the face 32, 56 and 80 detector pixels high, and a
// 10-15 px face enlarged 3-8 times is a blur the detector does not take for a face: 24 of those 55 survive. A lower
// Threshold does not help (confirmation asks for at least confirmThreshold, 0.8, whatever Threshold is). The crowd
// profile confirms at the candidate's own resolution instead.

// crowdLooks are the crowd profile's confirmation looks at a candidate face h image pixels high, in detector
// pixels, and the score each must reach. The looks enlarge the face 1.6 and 2.2 times (at least 24 and at most
// 80 detector pixels), never so far that it blurs away; the threshold is calibrated per scale: 0.7 for faces
// under 24 px, which the detector scores lower however real they are, 0.8 (confirmThreshold) above.
func crowdLooks(h float64) ([]float64, float64) {
	var out []float64
	for _, up := range []float64{1.6, 2.2} {
		f := math.Min(math.Max(up*h, 24), 80)
		if len(out) == 0 || out[len(out)-1] != f {
			out = append(out, f)
		}
	}
	if h < 24 {
		return out, crowdSmallThreshold
	}
	return out, confirmThreshold
}

// crowdSmallThreshold is the score the crowd profile's confirmation looks must give a face under 24 px.
const crowdSmallThreshold = 0.7

// Defaults returns the limits an analysis under profile p uses when Options leaves them unset: MinFaceSize,
// Threshold, MaxFaces and MaxDetectorRuns.
func (p Profile) Defaults() Options {
	return withDefaults(Options{Profile: p})
}
