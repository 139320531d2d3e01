package engine

import (
	"math"
	"slices"
	"testing"
)

// TestCrowdChecks: the crowd profile's confirmation per scale: under 20 px two looks enlarging the find 1.3 and
// 1.6 times within 20-80 detector pixels (never the 3-8 times of confirmFaces that blur a 10-15 px face away),
// from 20 px also a check look at 2.2 times (at most 80), from 40 px the default profile's looks with a mean
// of 0.7.
func TestCrowdChecks(t *testing.T) {
	for _, c := range []struct {
		h     float64
		looks []float64
		bar   float64
		check float64
	}{
		{10, []float64{20}, 0.6, 0}, // 1.3x and 1.6x both below 20: one look at 20
		{12, []float64{20}, 0.6, 0},
		{14, []float64{20, 22.4}, 0.6, 0},
		{19, []float64{24.7, 30.4}, 0.6, 0},
		{20, []float64{26, 32}, 0.6, 44},
		{39, []float64{50.7, 62.4}, 0.6, 80},
		{40, []float64{32, 56, 80}, 0.7, 0},
		{100, []float64{32, 56, 80}, 0.7, 0},
	} {
		got := crowdChecks(c.h)
		looks := slices.Clone(got.looks)
		for i := range looks {
			looks[i] = math.Round(looks[i]*10) / 10
		}
		if !slices.Equal(looks, c.looks) || got.bar != c.bar || math.Round(got.check*10)/10 != c.check {
			t.Errorf("crowdChecks(%g) = %v bar %g check %g; want %v bar %g check %g", c.h, looks, got.bar, got.check, c.looks, c.bar, c.check)
		}
	}
}

// TestCrowdBar: the crowd confirmation's mean-score bar is the check's own at the default threshold and below
// it, and rises with a stricter threshold.
func TestCrowdBar(t *testing.T) {
	for _, c := range []struct{ bar, thresh, want float64 }{{0.6, 0.5, 0.6}, {0.6, DefaultDetThreshold, 0.6}, {0.6, 0.8, 0.7}, {0.7, 0.95, 0.95}} {
		if got := crowdBar(c.bar, c.thresh); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("crowdBar(%g, %g) = %g, want %g", c.bar, c.thresh, got, c.want)
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
