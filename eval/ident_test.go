package eval

import (
	"math"
	"testing"
)

// identProbes are hand-made searches over gallery identities A..F.
var matedProbes = []Probe{
	{"A", map[string]float64{"A": 0.9, "B": 0.5, "C": 0.3}},                                 // rank 1, score 0.9
	{"B", map[string]float64{"A": 0.8, "B": 0.7, "C": 0.1}},                                 // rank 2
	{"C", map[string]float64{"A": 0.6, "B": 0.6, "C": 0.6, "D": 0.2}},                       // tie: rank 3
	{"D", map[string]float64{"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.65, "E": 0.6, "F": 0.5}},  // rank 4
	{"E", map[string]float64{"A": 0.9, "B": 0.85, "C": 0.8, "D": 0.75, "F": 0.7, "E": 0.1}}, // rank 6
	{"F", map[string]float64{"A": 0.1}},                                                     // mate absent
	{"A", map[string]float64{"A": 0.4, "B": 0.3}},                                           // rank 1, score 0.4
}

var nonMatedProbes = []Probe{
	{"", map[string]float64{"A": 0.85, "B": 0.2}},        // top 0.85
	{"", map[string]float64{"C": 0.45}},                  // top 0.45
	{"", nil},                                            // top -Inf
	{"", map[string]float64{"D": 0.35, "E": math.NaN()}}, // top 0.35
}

func TestIdentify(t *testing.T) {
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	tests := []struct {
		name         string
		probes       []Probe
		fpir         []float64
		mated, non   int
		rank1, rank5 float64
		fnir, thresh map[float64]float64
	}{
		{
			name:   "open set",
			probes: append(append([]Probe{}, matedProbes...), nonMatedProbes...),
			fpir:   []float64{0, 0.25, 0.5, 1, math.NaN()},
			mated:  7, non: 4,
			rank1: 2.0 / 7, rank5: 5.0 / 7,
			// Non-mated tops 0.85, 0.45, 0.35, -Inf; rank-1 mates score 0.9
			// and 0.4.
			fnir:   map[float64]float64{0: 6.0 / 7, 0.25: 6.0 / 7, 0.5: 5.0 / 7, 1: 5.0 / 7},
			thresh: map[float64]float64{0: up(0.85), 0.25: up(0.45), 0.5: up(0.35), 1: math.Inf(-1)},
		},
		{
			name:   "closed set: threshold from best non-mate scores",
			probes: matedProbes,
			fpir:   []float64{0.3, 0.8},
			mated:  7, non: 0,
			rank1: 2.0 / 7, rank5: 5.0 / 7,
			// Best wrong scores 0.9, 0.9, 0.8, 0.6, 0.5, 0.3, 0.1: 0.3
			// allows 2 of 7, 0.8 allows 5 of 7.
			fnir:   map[float64]float64{0.3: 6.0 / 7, 0.8: 5.0 / 7},
			thresh: map[float64]float64{0.3: up(0.8), 0.8: up(0.3)},
		},
		{
			name:   "no probes",
			probes: nil,
			fpir:   []float64{0.01},
			fnir:   map[float64]float64{0.01: 0},
			thresh: map[float64]float64{0.01: math.Inf(-1)},
		},
		{
			name:   "non-mated only",
			probes: nonMatedProbes,
			fpir:   []float64{0.5},
			non:    4,
			fnir:   map[float64]float64{0.5: 0},
			thresh: map[float64]float64{0.5: up(0.35)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Identify(tc.probes, tc.fpir)
			if r.Mated != tc.mated || r.NonMated != tc.non {
				t.Errorf("mated %d non-mated %d, want %d %d", r.Mated, r.NonMated, tc.mated, tc.non)
			}
			if !near(r.Rank1, tc.rank1) || !near(r.Rank5, tc.rank5) {
				t.Errorf("rank1 %v rank5 %v, want %v %v", r.Rank1, r.Rank5, tc.rank1, tc.rank5)
			}
			if len(r.FNIRAtFPIR) != len(tc.fnir) || len(r.Thresholds) != len(tc.thresh) {
				t.Fatalf("got FNIR %v thresholds %v, want %v %v", r.FNIRAtFPIR, r.Thresholds, tc.fnir, tc.thresh)
			}
			for k, want := range tc.fnir {
				if got, ok := r.FNIRAtFPIR[k]; !ok || !near(got, want) {
					t.Errorf("FNIR @ FPIR %v = %v, want %v", k, got, want)
				}
			}
			for k, want := range tc.thresh {
				if got := r.Thresholds[k]; got != want {
					t.Errorf("threshold @ FPIR %v = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestIdentifyDoesNotModifyInput(t *testing.T) {
	p := []Probe{{"", map[string]float64{"A": 0.2}}, {"", map[string]float64{"A": 0.9}}}
	Identify(p, []float64{0.5})
	if p[0].Scores["A"] != 0.2 || p[1].Scores["A"] != 0.9 || len(p) != 2 {
		t.Errorf("input modified: %v", p)
	}
}
