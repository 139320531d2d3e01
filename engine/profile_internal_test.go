package engine

import (
	"math"
	"slices"
	"testing"
)

// TestCrowdLooks: the crowd profile's confirmation looks enlarge a candidate 1.3 and 1.6 times within 20-80
// detector pixels (never the 3-8 times of confirmFaces that blur a 10-15 px face away).
func TestCrowdLooks(t *testing.T) {
	for _, c := range []struct {
		h     float64
		looks []float64
	}{
		{10, []float64{20}}, // 1.3x and 1.6x both below 20: one look at 20
		{12, []float64{20}},
		{14, []float64{20, 22.4}},
		{20, []float64{26, 32}},
		{40, []float64{52, 64}},
		{55, []float64{71.5, 80}},
		{100, []float64{80}}, // both capped at 80
	} {
		looks := crowdLooks(c.h)
		for i := range looks {
			looks[i] = float64(int(looks[i]*10+0.5)) / 10
		}
		if !slices.Equal(looks, c.looks) {
			t.Errorf("crowdLooks(%g) = %v; want %v", c.h, looks, c.looks)
		}
	}
}

// TestCrowdBar: the crowd confirmation's mean-score bar is 0.6 at the default threshold and below it, and rises
// with a stricter threshold.
func TestCrowdBar(t *testing.T) {
	for _, c := range []struct{ thresh, want float64 }{{0.5, 0.6}, {DefaultDetThreshold, 0.6}, {0.8, 0.7}, {0.95, 0.85}} {
		if got := crowdBar(c.thresh); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("crowdBar(%g) = %g, want %g", c.thresh, got, c.want)
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
