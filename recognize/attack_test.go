package recognize_test

import (
	"math"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/recognize"
)

// Attacks on the decision rules: templates that are not unit vectors of the index's length (NaN, ±Inf, another
// length), and floods of rejections. The engine normalises its templates, but the recognizer is the one owner
// of the decision for every caller (API, streams, CLI), so it must not let such a vector decide anything.

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// TestAttackNonFiniteProbe: a probe with an infinite component scores +Inf against half the gallery. It must not
// be a match (nor a verified identity), and no candidate may carry a score that JSON cannot encode.
func TestAttackNonFiniteProbe(t *testing.T) {
	w := newWorld(t, facegate.PurposeWatchlist)
	enrolled := w.unit()
	s := w.enrol(t, "Wanted", enrolled)
	for name, bad := range map[string]float32{"+Inf": float32(math.Inf(1)), "-Inf": float32(math.Inf(-1)), "NaN": float32(math.NaN())} {
		probe := append([]float32(nil), enrolled...)
		// The sign that makes the product with the enrolled template +Inf.
		probe[0] = bad
		if enrolled[0] < 0 {
			probe[0] = -bad
		}
		id, err := w.rec.Identify(w.ctx, w.g, probe, 5, recognize.FromSearch)
		if err == nil {
			if id.Match != nil {
				t.Errorf("%s probe: a match %+v", name, *id.Match)
			}
			for _, c := range id.Candidates {
				if !finite32(c.Score) {
					t.Errorf("%s probe: candidate score %v", name, c.Score)
				}
			}
		}
		v, err := w.rec.Verify(w.ctx, w.g, s.ID, probe)
		if err == nil && (v.Match || !finite32(v.Score)) {
			t.Errorf("%s probe: verification %+v", name, v)
		}
		out, err := w.rec.Alert(w.ctx, w.g, recognize.Sighting{Match: recognize.Candidate{Subject: s.ID, Score: float32(math.Inf(1)), Match: true},
			Probe: probe, StreamID: "st", At: w.now})
		if err == nil && out != nil {
			t.Errorf("%s probe: an alert was raised: %+v", name, out.Alert)
		}
	}
	as, err := w.db.Alerts(w.ctx, facegate.AlertFilter{})
	if err != nil || len(as) != 0 {
		t.Fatalf("alerts from non-finite probes: %+v %v", as, err)
	}
}

// TestAttackPoisonedNegativeNeverSuppresses: a rejection whose kept template is not a unit vector of the right
// length (an infinite component, NaN, a short one) must never suppress a match: an infinite one would otherwise
// reach any threshold and margin and hide the person from half of all probes.
func TestAttackPoisonedNegativeNeverSuppresses(t *testing.T) {
	enrolled := []float32{0.6, 0.8, 0}
	probe := []float32{0.6, 0.8, 0} // the enrolment photo itself
	near := []float32{0.8, 0.6, 0}  // a true sighting at 0.96
	inf := float32(math.Inf(1))
	for name, tmpl := range map[string][]float32{
		"+Inf":  {inf, inf, inf},
		"NaN":   {float32(math.NaN()), 0, 0},
		"short": {0.6, 0.8},
		"long":  {0.6, 0.8, 0, 0},
		"empty": {},
		"huge":  {1e30, 1e30, 0}, // finite, but no unit vector: a "similarity" of 1.4e30
	} {
		negs := []facegate.Negative{{ID: "neg_" + name, SubjectID: "s", Template: tmpl}}
		for _, p := range [][]float32{probe, near} {
			if sup := recognize.Suppresses(p, facegate.Similarity(p, enrolled), negs, 0.33, 0.10); sup != nil {
				t.Errorf("negative %s suppressed a true match: %+v", name, sup)
			}
		}
	}
}

// TestAttackRejectionFloodKeepsEnrolmentPhoto: an operator who rejects hundreds of captures of a watchlisted
// person (each a little different) still cannot suppress a probe that is as close to an enrolled photo as that
// photo is to itself, and the person's own enrolment photo keeps alerting.
func TestAttackRejectionFloodKeepsEnrolmentPhoto(t *testing.T) {
	w := newWorld(t, facegate.PurposeWatchlist)
	enrolled := w.unit()
	s := w.enrol(t, "Wanted", enrolled)
	for i := range 60 {
		w.reject(t, s, mix(enrolled, w.unit(), 0.5+float64(i%40)/100))
	}
	id, err := w.rec.Identify(w.ctx, w.g, enrolled, 5, recognize.FromSearch)
	if err != nil || id.Match == nil || id.Match.Subject != s.ID || id.Match.Suppressed != nil {
		t.Fatalf("the enrolment photo after 60 rejections: %+v %v", id, err)
	}
	if v, err := w.rec.Verify(w.ctx, w.g, s.ID, enrolled); err != nil || !v.Match {
		t.Fatalf("verifying the enrolment photo after 60 rejections: %+v %v", v, err)
	}
}
