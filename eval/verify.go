package eval

import (
	"cmp"
	"math"
	"slices"
)

// Scored is the outcome of one verification comparison.
type Scored struct {
	// Score is the similarity of the pair; higher means more alike.
	Score float64
	// Same is the ground truth: whether the pair shows one person.
	Same bool
	// Fold is the 0-based cross-validation fold of the pair, or -1 if none
	// (see KFold).
	Fold int
}

// ROCPoint is one operating point of a verification system: accepting every
// pair whose score is >= Threshold gives false accept rate FAR (the fraction
// of impostor pairs accepted) and true accept rate TAR (the fraction of
// genuine pairs accepted).
type ROCPoint struct {
	Threshold, FAR, TAR float64
}

// clean maps NaN to -Inf so that a failed comparison never matches and
// sorting stays well defined.
func clean(x float64) float64 {
	if math.IsNaN(x) {
		return math.Inf(-1)
	}
	return x
}

// rate returns num/den, or 0 when den is 0.
func rate(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

type sample struct {
	score float64
	same  bool
}

// sortedDesc returns the cleaned samples of s sorted by score, highest
// first, and the number of genuine and impostor pairs.
func sortedDesc(s []Scored) (xs []sample, genuine, impostor int) {
	xs = make([]sample, len(s))
	for i, v := range s {
		xs[i] = sample{clean(v.Score), v.Same}
		if v.Same {
			genuine++
		} else {
			impostor++
		}
	}
	slices.SortFunc(xs, func(a, b sample) int { return cmp.Compare(b.score, a.score) })
	return xs, genuine, impostor
}

// ROC returns the exact receiver operating characteristic of s: one point
// per distinct score, with that score as the threshold, sorted by threshold
// descending (so FAR and TAR are non-decreasing). It is preceded by the point
// {+Inf, 0, 0} (reject everything) unless some score is +Inf, and its last
// point accepts every pair. ROC returns nil for empty input. When s has no
// impostor (genuine) pairs, FAR (TAR) is 0 throughout.
func ROC(s []Scored) []ROCPoint {
	if len(s) == 0 {
		return nil
	}
	xs, nGen, nImp := sortedDesc(s)
	pts := make([]ROCPoint, 0, 64)
	if !math.IsInf(xs[0].score, 1) {
		pts = append(pts, ROCPoint{Threshold: math.Inf(1)})
	}
	tp, fp := 0, 0
	for i := 0; i < len(xs); {
		v := xs[i].score
		for ; i < len(xs) && xs[i].score == v; i++ {
			if xs[i].same {
				tp++
			} else {
				fp++
			}
		}
		pts = append(pts, ROCPoint{Threshold: v, FAR: rate(fp, nImp), TAR: rate(tp, nGen)})
	}
	return pts
}

// TARAtFAR returns the largest TAR of the exact ROC of s among the operating
// points whose FAR is <= far, and the threshold of that point (the highest
// one, should several thresholds reach the same TAR). Nothing is
// interpolated: the result is an achievable step of the ROC. If no operating
// point qualifies (s is empty, or far is negative or NaN) it returns 0 and
// +Inf.
func TARAtFAR(s []Scored, far float64) (tar, threshold float64) {
	tar, threshold = 0, math.Inf(1)
	found := false
	for _, p := range ROC(s) {
		if !(p.FAR <= far) {
			break // FAR is non-decreasing along the ROC
		}
		if !found || p.TAR > tar {
			tar, threshold, found = p.TAR, p.Threshold, true
		}
	}
	return tar, threshold
}

// ThresholdForFMR returns the lowest threshold t such that the false-match
// rate on the impostor scores, the fraction of them that are >= t, is <= fmr.
//
// Because the rate only changes at impostor scores, t is either -Inf (every
// impostor may be accepted: fmr >= 1, or impostor is empty) or the smallest
// float64 strictly above the highest impostor score that has to be rejected
// (math.Nextafter of that score). If no threshold can satisfy fmr (fmr is
// negative or NaN, or too many impostor scores are +Inf) it returns +Inf.
func ThresholdForFMR(impostor []float64, fmr float64) float64 {
	xs := make([]float64, len(impostor))
	for i, v := range impostor {
		xs[i] = clean(v)
	}
	slices.SortFunc(xs, func(a, b float64) int { return cmp.Compare(b, a) })
	return thresholdForRate(xs, fmr)
}

// thresholdForRate implements ThresholdForFMR on scores sorted descending
// (and free of NaN).
func thresholdForRate(desc []float64, r float64) float64 {
	n := len(desc)
	if !(r >= 0) {
		return math.Inf(1)
	}
	for i := 0; i < n; {
		v := desc[i]
		for i < n && desc[i] == v {
			i++
		}
		// Accepting v accepts the i highest scores.
		if float64(i)/float64(n) > r {
			return math.Nextafter(v, math.Inf(1))
		}
	}
	return math.Inf(-1)
}

// AccuracyAt returns the fraction of pairs in s classified correctly when a
// pair is declared "same" iff its score is >= t. It returns 0 for empty s.
func AccuracyAt(s []Scored, t float64) float64 {
	correct := 0
	for _, v := range s {
		if (clean(v.Score) >= t) == v.Same {
			correct++
		}
	}
	return rate(correct, len(s))
}

// AUC returns the area under an ROC curve (TAR against FAR, both in [0, 1])
// by the trapezoidal rule. The points are taken in order of increasing FAR
// (then TAR), whatever their order in roc; points with a NaN rate are
// skipped, and the curve is anchored at (0, 0) and (1, 1). For the exact ROC
// returned by ROC this equals the Mann-Whitney statistic: the probability
// that a random genuine pair scores above a random impostor pair, ties
// counting one half. AUC returns 0 for an empty curve.
func AUC(roc []ROCPoint) float64 {
	pts := make([]ROCPoint, 0, len(roc)+2)
	for _, p := range roc {
		if !math.IsNaN(p.FAR) && !math.IsNaN(p.TAR) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return 0
	}
	slices.SortStableFunc(pts, func(a, b ROCPoint) int {
		if c := cmp.Compare(a.FAR, b.FAR); c != 0 {
			return c
		}
		return cmp.Compare(a.TAR, b.TAR)
	})
	area := 0.0
	px, py := 0.0, 0.0
	for _, p := range pts {
		x, y := min(max(p.FAR, 0), 1), min(max(p.TAR, 0), 1)
		area += (x - px) * (y + py) / 2
		px, py = x, y
	}
	area += (1 - px) * (1 + py) / 2
	return area
}

// EER returns the equal error rate of s and the threshold at which it is
// reached. Scanning the exact ROC, it picks the operating point where the
// false accept rate and the false reject rate (1 - TAR) are closest (the
// highest such threshold on ties) and reports their mean; nothing is
// interpolated between points. It returns 0 and +Inf for empty s.
func EER(s []Scored) (eer, threshold float64) {
	eer, threshold = 0, math.Inf(1)
	best := math.Inf(1)
	for _, p := range ROC(s) {
		frr := 1 - p.TAR
		if d := math.Abs(p.FAR - frr); d < best {
			best, eer, threshold = d, (p.FAR+frr)/2, p.Threshold
		}
	}
	return eer, threshold
}

// KFoldResult is the outcome of KFold.
type KFoldResult struct {
	// Folds holds the accuracy on each test fold, in fold order.
	Folds []float64
	// Mean is the mean of Folds; Std their population standard deviation
	// (divided by K, not K-1), as the LFW results are conventionally
	// reported.
	Mean, Std float64
	// Threshold is the mean of Thresholds.
	Threshold float64
	// Thresholds holds the threshold chosen for each fold, in fold order.
	Thresholds []float64
}

// KFold runs the standard LFW cross-validation protocol on s.
//
// Folds: if every pair has Fold >= 0 and there are at least two distinct
// fold numbers, those folds are used (in increasing order of fold number).
// Otherwise pair i is assigned to fold i*k/len(s), i.e. k contiguous,
// near-equal folds; k is clamped to len(s).
//
// For each fold, the threshold that maximises accuracy (score >= t means
// "same") on the union of the other folds is chosen among the midpoints
// between consecutive distinct training scores; ties are broken by taking
// the median of the best candidates. That threshold is then applied to the
// held-out fold. If the training folds hold a single distinct score, that
// score is used as the threshold.
//
// KFold returns the zero KFoldResult if fewer than two folds can be formed
// (len(s) < 2, or k < 2 without usable Fold values).
func KFold(s []Scored, k int) KFoldResult {
	n := len(s)
	fold := make([]int, n)
	K := 0
	useGiven := n > 0
	for _, v := range s {
		if v.Fold < 0 {
			useGiven = false
			break
		}
	}
	if useGiven {
		ids := make([]int, n)
		for i, v := range s {
			ids[i] = v.Fold
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) < 2 {
			useGiven = false
		} else {
			K = len(ids)
			for i, v := range s {
				fold[i], _ = slices.BinarySearch(ids, v.Fold)
			}
		}
	}
	if !useGiven {
		k = min(k, n)
		if k < 2 {
			return KFoldResult{}
		}
		K = k
		for i := range fold {
			fold[i] = int(int64(i) * int64(k) / int64(n))
		}
	}

	// Sort once, ascending by score; each fold then walks the sorted order.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(clean(s[a].Score), clean(s[b].Score)) })
	xs := make([]sample, n)
	xf := make([]int, n)
	for j, i := range order {
		xs[j] = sample{clean(s[i].Score), s[i].Same}
		xf[j] = fold[i]
	}
	genPerFold := make([]int, K)
	for j := range xs {
		if xs[j].same {
			genPerFold[xf[j]]++
		}
	}
	totalGen := 0
	for _, g := range genPerFold {
		totalGen += g
	}

	res := KFoldResult{Folds: make([]float64, K), Thresholds: make([]float64, K)}
	var cands []float64
	for f := 0; f < K; f++ {
		trainGen := totalGen - genPerFold[f]
		// Walk the training scores upwards. After a group of equal scores
		// u, every training score <= u is rejected by a threshold lying
		// between u and the next distinct score.
		rejGen, rejImp := 0, 0
		bestCorrect := -1
		cands = cands[:0]
		havePrev := false
		prev := 0.0
		for j := range xs {
			if xf[j] == f {
				continue
			}
			v := xs[j].score
			if havePrev && v != prev {
				correct := rejImp + trainGen - rejGen
				if correct > bestCorrect {
					bestCorrect = correct
					cands = cands[:0]
				}
				if correct == bestCorrect {
					cands = append(cands, midpoint(prev, v))
				}
			}
			if xs[j].same {
				rejGen++
			} else {
				rejImp++
			}
			prev, havePrev = v, true
		}
		t := 0.0
		switch {
		case len(cands) > 0:
			t = cands[(len(cands)-1)/2]
		case havePrev:
			t = prev
		}
		correct, total := 0, 0
		for j := range xs {
			if xf[j] != f {
				continue
			}
			total++
			if (xs[j].score >= t) == xs[j].same {
				correct++
			}
		}
		res.Thresholds[f] = t
		res.Folds[f] = rate(correct, total)
	}
	res.Mean, res.Std = meanStd(res.Folds)
	res.Threshold, _ = meanStd(res.Thresholds)
	return res
}

// midpoint returns a value m with a < m <= b (for a < b), as close to the
// arithmetic mean as floating point allows, without overflow.
func midpoint(a, b float64) float64 {
	m := a/2 + b/2
	if m <= a || math.IsNaN(m) {
		m = math.Nextafter(a, b)
	}
	if m > b {
		m = b
	}
	return m
}

// meanStd returns the mean and the population standard deviation of xs.
func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}
