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
// profile confirms at the candidate's own resolution instead, and by the mean of its scores rather than the least:
// a real face 12-24 px high often scores 0.9 at one look and 0.4 at the next (measured on the synthetic crowd
// benchmark, docs/accuracy.md), while texture that passes for a face at one scale rarely keeps a high mean.

// crowdCheck is how the crowd profile confirms a tile's find h image pixels high: looks (face heights in
// detector pixels) whose scores, with the find's own, must average at least bar (before crowdBar raises it), and,
// when check is not 0, one more look with the face check detector pixels high that must score crowdCheckThreshold.
type crowdCheck struct {
	looks []float64
	bar   float64
	check float64
}

// The crowd profile's confirmation, calibrated per scale on the synthetic crowd benchmark (seeds 1 and 2), the
// dlib mosaics and the frames of the clip (docs/accuracy.md has the measurements); a tile's find is a candidate
// from crowdCandidateThreshold:
//   - under crowdCheckHeight (20 px): the mean of its score and two looks with the face enlarged 1.3 and 1.6
//     times (at least 20, the detector's smallest reliable face, and at most 80 detector pixels: never so far
//     that it blurs away) must reach crowdMeanThreshold;
//   - from 20 px: the same, and a look with the face enlarged crowdCheckUp times (44 detector pixels and up,
//     where the detector scores real faces high) must score crowdCheckThreshold: a raised hand or a fist round a
//     microphone that passed the mean scores low there;
//   - from crowdBigHeight (40 px, the default profile's own size): the mean of its score and the default
//     profile's looks (confirmFaces: the face 32, 56 and 80 detector pixels high) must reach crowdBigThreshold.
//     The default profile asks each look for 0.8, which refuses one real face in ten of the benchmark; the mean
//     keeps them and still refuses every hand of the clip.
const (
	crowdCandidateThreshold = 0.5
	crowdMeanThreshold      = 0.6
	crowdCheckHeight        = 20
	crowdCheckUp            = 2.2
	crowdCheckThreshold     = 0.5
	crowdBigHeight          = 40
	crowdBigThreshold       = 0.7
)

// crowdChecks returns the crowd profile's confirmation of a find h image pixels high.
func crowdChecks(h float64) crowdCheck {
	if h >= crowdBigHeight {
		return crowdCheck{looks: confirmFaces, bar: crowdBigThreshold}
	}
	c := crowdCheck{bar: crowdMeanThreshold}
	for _, up := range []float64{1.3, 1.6} {
		f := math.Min(math.Max(up*h, detMinFace), 80)
		if len(c.looks) == 0 || c.looks[len(c.looks)-1] != f {
			c.looks = append(c.looks, f)
		}
	}
	if h >= crowdCheckHeight {
		c.check = math.Min(crowdCheckUp*h, 80)
	}
	return c
}

// crowdBar is the mean score a crowd candidate needs when its check asks for bar and the detector threshold is
// thresh: a threshold above the default raises it by as much.
func crowdBar(bar, thresh float64) float64 {
	return bar + math.Max(0, thresh-DefaultDetThreshold)
}

// Defaults returns the limits an analysis under profile p uses when Options leaves them unset: MinFaceSize,
// Threshold, MaxFaces and MaxDetectorRuns.
func (p Profile) Defaults() Options {
	return withDefaults(Options{Profile: p})
}
