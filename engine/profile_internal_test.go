package engine

import (
	"slices"
	"testing"
)

// TestCrowdLooks: the crowd profile's confirmation looks enlarge a candidate 1.6 and 2.2 times within 24-80
// detector pixels (never the 3-8 times of confirmFaces that blur a 10-15 px face away), with the threshold of
// its scale.
func TestCrowdLooks(t *testing.T) {
	for _, c := range []struct {
		h      float64
		looks  []float64
		thresh float64
	}{
		{10, []float64{24}, 0.7}, // 1.6x and 2.2x both below 24: one look at 24
		{12, []float64{24, 26.4}, 0.7},
		{20, []float64{32, 44}, 0.7},
		{24, []float64{38.4, 52.8}, 0.8},
		{40, []float64{64, 80}, 0.8},
		{100, []float64{80}, 0.8}, // both capped at 80
	} {
		looks, thresh := crowdLooks(c.h)
		for i := range looks {
			looks[i] = float64(int(looks[i]*10+0.5)) / 10
		}
		if !slices.Equal(looks, c.looks) || thresh != c.thresh {
			t.Errorf("crowdLooks(%g) = %v, %g; want %v, %g", c.h, looks, thresh, c.looks, c.thresh)
		}
	}
}

// TestProfileDefaults: each profile's limits, and a limit set in Options wins over the profile's.
func TestProfileDefaults(t *testing.T) {
	for _, c := range []struct {
		opt                     Options
		minFace, maxFaces, runs int
	}{
		{Options{}, DefaultMinFace, DefaultMaxFaces, DefaultMaxDetectorRuns},
		{Options{Profile: ProfileDefault}, DefaultMinFace, DefaultMaxFaces, DefaultMaxDetectorRuns},
		{Options{Profile: ProfileCrowd}, CrowdMinFace, CrowdMaxFaces, CrowdMaxDetectorRuns},
		{Options{Profile: ProfileCrowd, MinFaceSize: 20, MaxFaces: 50, MaxDetectorRuns: 100}, 20, 50, 100},
	} {
		o := withDefaults(c.opt)
		if o.MinFaceSize != c.minFace || o.MaxFaces != c.maxFaces || o.MaxDetectorRuns != c.runs || o.Threshold != DefaultDetThreshold {
			t.Errorf("%+v: min face %d, max faces %d, runs %d, threshold %g", c.opt, o.MinFaceSize, o.MaxFaces, o.MaxDetectorRuns, o.Threshold)
		}
	}
	if d := ProfileCrowd.Defaults(); d.MinFaceSize != CrowdMinFace {
		t.Errorf("ProfileCrowd.Defaults() min face %d", d.MinFaceSize)
	}
}
