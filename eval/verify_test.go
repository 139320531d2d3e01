package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

const eps = 1e-12

func near(a, b float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= eps
}

// scored builds a score set from genuine and impostor scores.
func scored(genuine, impostor []float64) []Scored {
	var s []Scored
	for _, g := range genuine {
		s = append(s, Scored{Score: g, Same: true, Fold: -1})
	}
	for _, i := range impostor {
		s = append(s, Scored{Score: i, Same: false, Fold: -1})
	}
	return s
}

var inf = math.Inf(1)

// s1: genuine {0.9, 0.8, 0.4}, impostor {0.7, 0.3, 0.2}; 8 of the 9
// genuine/impostor orderings are correct.
var s1 = scored([]float64{0.4, 0.9, 0.8}, []float64{0.2, 0.7, 0.3})

func TestROC(t *testing.T) {
	tests := []struct {
		name string
		in   []Scored
		want []ROCPoint
	}{
		{"empty", nil, nil},
		{"s1", s1, []ROCPoint{
			{inf, 0, 0},
			{0.9, 0, 1.0 / 3},
			{0.8, 0, 2.0 / 3},
			{0.7, 1.0 / 3, 2.0 / 3},
			{0.4, 1.0 / 3, 1},
			{0.3, 2.0 / 3, 1},
			{0.2, 1, 1},
		}},
		{"ties across classes", scored([]float64{0.5, 0.5}, []float64{0.5, 0.1}), []ROCPoint{
			{inf, 0, 0},
			{0.5, 0.5, 1},
			{0.1, 1, 1},
		}},
		{"NaN is -Inf, +Inf has no origin point", scored([]float64{inf, math.NaN()}, []float64{0}), []ROCPoint{
			{inf, 0, 0.5},
			{0, 1, 0.5},
			{math.Inf(-1), 1, 1},
		}},
		{"genuine only", scored([]float64{2, 1}, nil), []ROCPoint{
			{inf, 0, 0}, {2, 0, 0.5}, {1, 0, 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ROC(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if !near(g.Threshold, w.Threshold) || !near(g.FAR, w.FAR) || !near(g.TAR, w.TAR) {
					t.Errorf("point %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestTARAtFAR(t *testing.T) {
	tests := []struct {
		name          string
		in            []Scored
		far           float64
		tar, thresold float64
	}{
		{"s1 far 0", s1, 0, 2.0 / 3, 0.8},
		{"s1 far 0.2", s1, 0.2, 2.0 / 3, 0.8},
		{"s1 far 1/3", s1, 1.0 / 3, 1, 0.4},
		{"s1 far 0.5", s1, 0.5, 1, 0.4},
		{"s1 far 1 keeps highest threshold", s1, 1, 1, 0.4},
		{"negative far", s1, -0.1, 0, inf},
		{"NaN far", s1, math.NaN(), 0, inf},
		{"empty", nil, 0.1, 0, inf},
		{"ties", scored([]float64{0.5, 0.5}, []float64{0.5, 0.1}), 0.4, 0, inf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tar, th := TARAtFAR(tc.in, tc.far)
			if !near(tar, tc.tar) || !near(th, tc.thresold) {
				t.Errorf("TARAtFAR = %v @ %v, want %v @ %v", tar, th, tc.tar, tc.thresold)
			}
		})
	}
}

func TestThresholdForFMR(t *testing.T) {
	tenths := []float64{0.3, 0.1, 0.2, 0.5, 0.4, 0.7, 0.6, 0.9, 0.8, 1.0}
	up := func(x float64) float64 { return math.Nextafter(x, inf) }
	tests := []struct {
		name     string
		impostor []float64
		fmr      float64
		want     float64
	}{
		{"fmr 0 rejects all", tenths, 0, up(1.0)},
		{"fmr 0.1 accepts one", tenths, 0.1, up(0.9)},
		{"fmr 0.25 accepts two", tenths, 0.25, up(0.8)},
		{"fmr 0.95 accepts nine", tenths, 0.95, up(0.1)},
		{"fmr 1 accepts all", tenths, 1, math.Inf(-1)},
		{"negative fmr", tenths, -0.5, inf},
		{"NaN fmr", tenths, math.NaN(), inf},
		{"empty", nil, 0.01, math.Inf(-1)},
		{"tie group too big", []float64{0.5, 0.1, 0.5, 0.5}, 0.5, up(0.5)},
		{"tie group fits", []float64{0.5, 0.1, 0.5, 0.5}, 0.75, up(0.1)},
		{"+Inf impostor cannot be rejected", []float64{inf, 0}, 0, inf},
		{"NaN impostor is never accepted", []float64{math.NaN(), 0.3}, 0.5, math.Nextafter(math.Inf(-1), 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ThresholdForFMR(tc.impostor, tc.fmr); got != tc.want {
				t.Errorf("ThresholdForFMR = %v, want %v", got, tc.want)
			}
		})
	}

	// Exactness with rates that are not exact binary fractions: 0.29 of
	// 100 scores is 29 of them.
	var hundred []float64
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, float64(i)/100)
	}
	for _, fmr := range []float64{0.01, 0.07, 0.29, 0.3, 0.57} {
		th := ThresholdForFMR(hundred, fmr)
		n, below := 0, 0
		lower := math.Nextafter(th, math.Inf(-1))
		for _, v := range hundred {
			if v >= th {
				n++
			}
			if v >= lower {
				below++
			}
		}
		if float64(n)/100 > fmr || float64(below)/100 <= fmr {
			t.Errorf("fmr %v: threshold %v accepts %d, next lower accepts %d", fmr, th, n, below)
		}
		if want := int(math.Round(fmr * 100)); n != want {
			t.Errorf("fmr %v: accepts %d, want %d", fmr, n, want)
		}
	}
}

func TestVerifyAccuracyAt(t *testing.T) {
	tests := []struct {
		in   []Scored
		t    float64
		want float64
	}{
		{s1, 0.5, 4.0 / 6},
		{s1, 0.75, 5.0 / 6},
		{s1, 0.8, 5.0 / 6}, // score >= t is "same"
		{s1, 0, 0.5},
		{s1, 1, 0.5},
		{nil, 0.5, 0},
		{scored([]float64{math.NaN()}, []float64{math.NaN()}), -1e300, 0.5},
	}
	for _, tc := range tests {
		if got := AccuracyAt(tc.in, tc.t); !near(got, tc.want) {
			t.Errorf("AccuracyAt(t=%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		roc  []ROCPoint
		want float64
	}{
		{"s1 is Mann-Whitney 8/9", ROC(s1), 8.0 / 9},
		{"ties count half", ROC(scored([]float64{0.5, 0.5}, []float64{0.5, 0.1})), 0.75},
		{"perfect", ROC(scored([]float64{2, 3}, []float64{0, 1})), 1},
		{"inverted", ROC(scored([]float64{0, 1}, []float64{2, 3})), 0},
		{"all tied", ROC(scored([]float64{1, 1}, []float64{1})), 0.5},
		{"empty", nil, 0},
		{"unsorted and anchored", []ROCPoint{{FAR: 0.5, TAR: 1}, {FAR: 0, TAR: 0.5}}, 0.875},
		{"NaN skipped", []ROCPoint{{FAR: math.NaN(), TAR: 0}, {FAR: 0, TAR: 1}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AUC(tc.roc); !near(got, tc.want) {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEER(t *testing.T) {
	tests := []struct {
		name      string
		in        []Scored
		eer, thre float64
	}{
		// At 0.7: FAR 1/3 (0.7), FRR 1/3 (0.4).
		{"s1", s1, 1.0 / 3, 0.7},
		{"separable", scored([]float64{0.8, 0.9}, []float64{0.1, 0.2}), 0, 0.8},
		// Thresholds 4,3,2,1: (FAR,FRR) = (0,.75) (.25,.5)... genuine {4,2},
		// impostor {3,1}: at 3 FAR .5 FRR .5.
		{"crossing", scored([]float64{4, 2}, []float64{3, 1}), 0.5, 3},
		{"empty", nil, 0, inf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eer, th := EER(tc.in)
			if !near(eer, tc.eer) || !near(th, tc.thre) {
				t.Errorf("EER = %v @ %v, want %v @ %v", eer, th, tc.eer, tc.thre)
			}
		})
	}
}

// foldSet returns k folds of 10 pairs: genuine {0.55, 0.6, 0.7, 0.8, 0.9},
// impostor {0.1, 0.2, 0.3, 0.4, 0.45}, with the first errs[f] impostors of
// fold f replaced by 0.99 (above every genuine score, so they are errors at
// any sensible threshold).
func foldSet(errs []int, withFolds bool) []Scored {
	var s []Scored
	for f, e := range errs {
		fold := f
		if !withFolds {
			fold = -1
		}
		for _, g := range []float64{0.55, 0.6, 0.7, 0.8, 0.9} {
			s = append(s, Scored{g, true, fold})
		}
		for i, v := range []float64{0.1, 0.2, 0.3, 0.4, 0.45} {
			if i < e {
				v = 0.99
			}
			s = append(s, Scored{v, false, fold})
		}
	}
	return s
}

func TestKFold(t *testing.T) {
	tests := []struct {
		name      string
		in        []Scored
		k         int
		folds     []float64
		mean, std float64
		threshold float64
	}{
		{
			name:  "separable, 10 given folds",
			in:    foldSet(make([]int, 10), true),
			k:     3, // ignored: the folds are given
			folds: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			mean:  1, std: 0, threshold: 0.5,
		},
		{
			name:  "known errors per fold, given folds",
			in:    foldSet([]int{0, 1, 2}, true),
			k:     10,
			folds: []float64{1, 0.9, 0.8},
			mean:  0.9, std: math.Sqrt(0.02 / 3), threshold: 0.5,
		},
		{
			name:  "known errors per fold, folds by index",
			in:    foldSet([]int{0, 1, 2}, false),
			k:     3,
			folds: []float64{1, 0.9, 0.8},
			mean:  0.9, std: math.Sqrt(0.02 / 3), threshold: 0.5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := KFold(tc.in, tc.k)
			if len(r.Folds) != len(tc.folds) || len(r.Thresholds) != len(tc.folds) {
				t.Fatalf("got %+v, want %d folds", r, len(tc.folds))
			}
			for i := range r.Folds {
				if !near(r.Folds[i], tc.folds[i]) {
					t.Errorf("fold %d accuracy %v, want %v", i, r.Folds[i], tc.folds[i])
				}
				if !near(r.Thresholds[i], tc.threshold) {
					t.Errorf("fold %d threshold %v, want %v", i, r.Thresholds[i], tc.threshold)
				}
			}
			if !near(r.Mean, tc.mean) || !near(r.Std, tc.std) || !near(r.Threshold, tc.threshold) {
				t.Errorf("mean %v std %v threshold %v, want %v %v %v", r.Mean, r.Std, r.Threshold, tc.mean, tc.std, tc.threshold)
			}
		})
	}
}

func TestKFoldEdgeCases(t *testing.T) {
	if r := KFold(nil, 10); r.Folds != nil || r.Mean != 0 {
		t.Errorf("empty: %+v", r)
	}
	if r := KFold(s1, 1); r.Folds != nil {
		t.Errorf("k=1: %+v", r)
	}
	// One given fold only: falls back to k folds by index.
	one := scored([]float64{1, 1, 1}, []float64{0, 0, 0})
	for i := range one {
		one[i].Fold = 0
	}
	if r := KFold(one, 2); len(r.Folds) != 2 {
		t.Errorf("single given fold: %+v", r)
	}
	// k larger than the input is clamped; all scores equal still works.
	same := scored([]float64{0.5, 0.5}, []float64{0.5})
	if r := KFold(same, 100); len(r.Folds) != 3 || math.IsNaN(r.Mean) {
		t.Errorf("clamped k: %+v", r)
	}
	// Ties between equally good thresholds pick the median candidate. The
	// training fold 0 for test fold 1 alternates impostor/genuine on
	// 0..5: cuts at 0.5, 2.5 and 4.5 all get 4 of 6 right, so 2.5 wins.
	tie := []Scored{
		{0, false, 0}, {1, true, 0}, {2, false, 0}, {3, true, 0}, {4, false, 0}, {5, true, 0},
		{2.6, true, 1}, {2.4, false, 1},
	}
	r := KFold(tie, 0)
	if !near(r.Thresholds[1], 2.5) || !near(r.Folds[1], 1) {
		t.Errorf("tie: %+v", r)
	}
	// Fold 0 is tested at 2.5 (learnt from fold 1): 4 of 6 right.
	if !near(r.Thresholds[0], 2.5) || !near(r.Folds[0], 4.0/6) {
		t.Errorf("tie: %+v", r)
	}
}

func TestLargeInputs(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]Scored, n)
	for i := range s {
		same := i%2 == 0
		mu := 0.0
		if same {
			mu = 2
		}
		s[i] = Scored{Score: mu + rng.NormFloat64(), Same: same, Fold: -1}
	}
	roc := ROC(s)
	if auc := AUC(roc); auc < 0.9 || auc > 0.95 {
		// AUC of two unit normals 2 apart is Phi(2/sqrt 2) = 0.921.
		t.Errorf("AUC = %v, want about 0.921", auc)
	}
	r := KFold(s, 10)
	if r.Mean < 0.83 || r.Mean > 0.85 || math.Abs(r.Threshold-1) > 0.05 {
		// Accuracy of the midpoint rule is Phi(1) = 0.841.
		t.Errorf("KFold = mean %v threshold %v, want about 0.841 at 1", r.Mean, r.Threshold)
	}
	eer, _ := EER(s)
	if eer < 0.15 || eer > 0.17 {
		t.Errorf("EER = %v, want about 0.159", eer)
	}
}

func BenchmarkKFoldMillion(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]Scored, 1_000_000)
	for i := range s {
		s[i] = Scored{Score: rng.Float64(), Same: i%2 == 0, Fold: -1}
	}
	for b.Loop() {
		KFold(s, 10)
	}
}

func BenchmarkROCMillion(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]Scored, 1_000_000)
	for i := range s {
		s[i] = Scored{Score: rng.Float64(), Same: i%2 == 0, Fold: -1}
	}
	for b.Loop() {
		ROC(s)
	}
}
