package recognize_test

import (
	"math"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/recognize"
)

// unit returns the unit vector along the given components (the rest of an 8-d template are zero).
func unit(c ...float64) []float32 {
	v := make([]float32, 8)
	var n float64
	for i, x := range c {
		n += x * x
		v[i] = float32(x)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(n))
	}
	return v
}

// at returns a unit vector whose similarity to e1 = unit(1) is exactly s (s and the other component are
// exact in binary for the values used here, so the boundaries below are exact).
func at(s float64) []float32 {
	v := make([]float32, 8)
	v[0] = float32(s)
	v[1] = float32(math.Sqrt(1 - s*s))
	return v
}

func neg(id string, tmpl []float32) facegate.Negative {
	return facegate.Negative{ID: id, GalleryID: "g", SubjectID: "s1", AlertID: "alert-" + id, Template: tmpl}
}

func TestSuppresses(t *testing.T) {
	const thr = 0.3326 // the default threshold (FMR 1e-3)
	m := recognize.DefaultSuppressMargin
	e1 := unit(1)
	enrolledTmpl := unit(0, 0, 1) // the subject's enrolment photo, orthogonal to e1

	cases := []struct {
		name      string
		probe     []float32
		enrolled  float32
		negatives []facegate.Negative
		threshold float64
		margin    float64
		want      string // the ID of the suppressing rejection, "" for none
	}{
		{name: "no rejections", probe: e1, enrolled: 0.5, threshold: thr, margin: m},
		{
			// The incident of issue 11: the enrolment photo searched after a true alert was rejected. The probe
			// is the enrolled template (score 1); the rejected capture is the same person (0.8): not suppressed.
			name: "probe equal to an enrolled template", probe: enrolledTmpl, enrolled: 1,
			negatives: []facegate.Negative{neg("r1", unit(0.6, 0, 0.8))}, threshold: thr, margin: m,
		},
		{
			// Even when the rejection is the enrolment photo itself, with any positive margin.
			name: "probe equal to an enrolled template and to the rejection", probe: enrolledTmpl, enrolled: 1,
			negatives: []facegate.Negative{neg("r1", enrolledTmpl)}, threshold: thr, margin: 0.01,
		},
		{
			name: "probe equal to the rejection, far from the enrolled templates", probe: e1, enrolled: 0.40,
			negatives: []facegate.Negative{neg("r1", e1)}, threshold: thr, margin: m, want: "r1",
		},
		{
			name: "closer to the rejection but within the margin", probe: e1, enrolled: 0.75,
			negatives: []facegate.Negative{neg("r1", at(0.78))}, threshold: thr, margin: 0.05,
		},
		{
			name: "closer to the enrolled template than to the rejection", probe: e1, enrolled: 0.9,
			negatives: []facegate.Negative{neg("r1", at(0.6))}, threshold: thr, margin: 0,
		},
		// Margin boundary: sim(probe, rejection) = 0.5 exactly; enrolled + margin = 0.5 suppresses (>=), one
		// float32 step more does not.
		{
			name: "margin boundary: exactly enrolled + margin", probe: e1, enrolled: 0.25,
			negatives: []facegate.Negative{neg("r1", at(0.5))}, threshold: thr, margin: 0.25, want: "r1",
		},
		{
			name: "margin boundary: one step past", probe: e1, enrolled: math.Nextafter32(0.25, 1),
			negatives: []facegate.Negative{neg("r1", at(0.5))}, threshold: thr, margin: 0.25,
		},
		{
			name: "margin 0: a tie with the enrolled template suppresses", probe: e1, enrolled: 0.5,
			negatives: []facegate.Negative{neg("r1", at(0.5))}, threshold: thr, margin: 0, want: "r1",
		},
		// The threshold: a rejection the probe does not match is ignored, however far the enrolled templates are.
		{
			name: "below-threshold rejection ignored", probe: e1, enrolled: -0.5,
			negatives: []facegate.Negative{neg("r1", at(0.25))}, threshold: thr, margin: m,
		},
		{
			name: "threshold boundary: exactly the threshold", probe: e1, enrolled: 0,
			negatives: []facegate.Negative{neg("r1", at(0.5))}, threshold: 0.5, margin: 0.25, want: "r1",
		},
		{
			name: "threshold boundary: just below", probe: e1, enrolled: 0,
			negatives: []facegate.Negative{neg("r1", at(0.5))}, threshold: math.Nextafter(0.5, 1), margin: 0.25,
		},
		{
			name: "strongest of several rejections", probe: e1, enrolled: 0.4,
			negatives: []facegate.Negative{
				neg("weak", at(0.5)), neg("below-threshold", at(0.25)), neg("strongest", at(0.875)),
				neg("middle", at(0.75)), neg("within-margin", at(0.4375)),
			},
			threshold: thr, margin: 0.05, want: "strongest",
		},
		{
			name: "only the qualifying rejection of several", probe: e1, enrolled: 0.5,
			negatives: []facegate.Negative{
				neg("within-margin", at(0.53125)), neg("below-threshold", at(0.25)), neg("qualifies", at(0.625)),
			},
			threshold: thr, margin: 0.05, want: "qualifies",
		},
		// The old rule ("any rejection the probe matches suppresses") is the same function with margin -2, as the
		// LFW evaluation uses it: similarities are within [-1, 1], so enrolled + margin never binds.
		{
			name: "old rule: probe equal to an enrolled template is suppressed", probe: enrolledTmpl, enrolled: 1,
			negatives: []facegate.Negative{neg("r1", unit(0.6, 0, 0.8))}, threshold: thr, margin: -2, want: "r1",
		},
		{
			name: "old rule: below-threshold rejection ignored", probe: e1, enrolled: 1,
			negatives: []facegate.Negative{neg("r1", at(0.25))}, threshold: thr, margin: -2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := recognize.Suppresses(c.probe, c.enrolled, c.negatives, c.threshold, c.margin)
			if c.want == "" {
				if got != nil {
					t.Fatalf("suppressed by %+v, want not suppressed", *got)
				}
				return
			}
			if got == nil {
				t.Fatalf("not suppressed, want suppressed by %s", c.want)
			}
			var n *facegate.Negative
			for i := range c.negatives {
				if c.negatives[i].ID == c.want {
					n = &c.negatives[i]
				}
			}
			want := facegate.Suppression{
				Subject: n.SubjectID, Rejection: n.ID, Alert: n.AlertID,
				Score: facegate.Similarity(c.probe, n.Template), Enrolled: c.enrolled,
			}
			if *got != want {
				t.Fatalf("got %+v, want %+v", *got, want)
			}
		})
	}
}

// TestSuppressesDefaultMarginNeverSilencesTheEnrolmentPhoto: whatever was rejected, a probe that scores 1 against
// an enrolled template (the enrolment photo itself) is never suppressed under the default margin.
func TestSuppressesDefaultMarginNeverSilencesTheEnrolmentPhoto(t *testing.T) {
	if recognize.DefaultSuppressMargin <= 0 {
		t.Fatalf("DefaultSuppressMargin %v: a positive margin is what keeps the enrolment photo matching", recognize.DefaultSuppressMargin)
	}
	probe := unit(1, 2, 3, 4, 5, 6, 7, 8)
	negs := []facegate.Negative{neg("same", probe), neg("near", unit(1, 2, 3, 4, 5, 6, 7, 9)), neg("other", unit(8, 7, 6, 5, 4, 3, 2, 1))}
	if s := recognize.Suppresses(probe, 1, negs, 0.3326, recognize.DefaultSuppressMargin); s != nil {
		t.Fatalf("enrolment photo suppressed: %+v", *s)
	}
}
