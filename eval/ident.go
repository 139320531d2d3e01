package eval

import (
	"cmp"
	"math"
	"slices"
)

// Probe is the candidate list returned by one 1:N identification search.
type Probe struct {
	// Truth is the gallery identity of the probe, or "" if the probe's
	// identity is not enrolled in the gallery (a non-mated search).
	Truth string
	// Scores maps gallery identity labels to similarity scores (higher means
	// more similar), in no particular order.
	Scores map[string]float64
}

// IdentResult is the outcome of Identify.
type IdentResult struct {
	// Rank1 and Rank5 are the fractions of mated searches whose mate is
	// ranked first, respectively within the first five.
	Rank1, Rank5 float64
	// FNIRAtFPIR maps each requested FPIR target to the false-negative
	// identification rate at the matching threshold.
	FNIRAtFPIR map[float64]float64
	// Thresholds maps each requested FPIR target to the threshold used.
	Thresholds map[float64]float64
	// Mated and NonMated count the mated and non-mated searches.
	Mated, NonMated int
}

// Identify evaluates 1:N identification searches, closed and open set.
//
// Rank-k (closed set) is computed over the mated probes (Truth != ""). The
// rank of the mate is 1 plus the number of other identities scoring >= the
// mate, so ties are broken pessimistically: a wrong identity tied with the
// mate is ranked ahead of it. A mated probe whose Scores lack its Truth
// misses at every rank.
//
// FNIR at FPIR (open set) follows the NIST FRVT 1:N definitions at rank 1.
// For a threshold t, FPIR(t) is the fraction of non-mated searches whose top
// score is >= t, and FNIR(t) is the fraction of mated searches that are
// misses: a mated search is a hit only if its mate is at rank 1 (as above)
// and scores >= t. For each target in fpirs, t is the lowest threshold with
// FPIR(t) <= target, computed as ThresholdForFMR on the non-mated top scores
// (a non-mated probe with no candidates has top score -Inf).
//
// If there are no non-mated probes, the threshold is instead derived from
// the non-mate scores inside the mated searches: each mated search
// contributes its best wrong-identity score (-Inf if it has none), and t is
// the lowest threshold at which at most the target fraction of those scores
// is >= t. This approximates open-set performance on a closed-set test; the
// result is only as meaningful as that approximation.
//
// Rates over an empty set of probes are 0. NaN targets in fpirs are skipped.
func Identify(probes []Probe, fpirs []float64) IdentResult {
	res := IdentResult{
		FNIRAtFPIR: make(map[float64]float64, len(fpirs)),
		Thresholds: make(map[float64]float64, len(fpirs)),
	}
	type mated struct {
		rank  int // 0 if the mate is absent from the candidate list
		score float64
	}
	var (
		mates       []mated
		nonMatedTop []float64
		wrongTop    []float64 // best non-mate score of each mated search
		r1, r5      int
	)
	for _, p := range probes {
		if p.Truth == "" {
			top := math.Inf(-1)
			for _, v := range p.Scores {
				top = max(top, clean(v))
			}
			nonMatedTop = append(nonMatedTop, top)
			continue
		}
		m, ok := p.Scores[p.Truth]
		ms := clean(m)
		rank, wrong := 1, math.Inf(-1)
		for id, v := range p.Scores {
			if id == p.Truth {
				continue
			}
			v = clean(v)
			wrong = max(wrong, v)
			if v >= ms {
				rank++
			}
		}
		if !ok {
			rank = 0
		}
		if rank == 1 {
			r1++
		}
		if rank >= 1 && rank <= 5 {
			r5++
		}
		mates = append(mates, mated{rank, ms})
		wrongTop = append(wrongTop, wrong)
	}
	res.Mated, res.NonMated = len(mates), len(nonMatedTop)
	res.Rank1, res.Rank5 = rate(r1, res.Mated), rate(r5, res.Mated)

	impostor := nonMatedTop
	if len(impostor) == 0 {
		impostor = wrongTop
	}
	slices.SortFunc(impostor, func(a, b float64) int { return cmp.Compare(b, a) })
	for _, target := range fpirs {
		if math.IsNaN(target) {
			continue
		}
		t := thresholdForRate(impostor, target)
		miss := 0
		for _, m := range mates {
			if m.rank != 1 || !(m.score >= t) {
				miss++
			}
		}
		res.Thresholds[target] = t
		res.FNIRAtFPIR[target] = rate(miss, res.Mated)
	}
	return res
}
