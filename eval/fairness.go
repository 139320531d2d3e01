package eval

import (
	"cmp"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Confidence is the coverage of the intervals in Rate (95%).
const Confidence = 0.95

// DefaultMinPairs is the default FairnessOptions.MinPairs.
const DefaultMinPairs = 50

// Rate is an error (or success) rate measured on a finite sample: Count
// events out of Total trials, with a 95% Wilson score interval.
type Rate struct {
	// Count is the number of events: false matches, false non-matches,
	// misses or hits, depending on the rate.
	Count int `json:"count"`
	// Total is the number of trials: pairs or searches.
	Total int `json:"total"`
	// Rate is Count/Total, or 0 when Total is 0.
	Rate float64 `json:"rate"`
	// Low and High bound the 95% Wilson score interval of the rate; [0, 1]
	// when Total is 0.
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
}

// NewRate returns the Rate of count events out of total trials with its 95%
// Wilson score interval.
func NewRate(count, total int) Rate {
	lo, hi := WilsonInterval(count, total, z95)
	return Rate{Count: count, Total: total, Rate: rate(count, total), Low: lo, High: hi}
}

// WilsonInterval returns the Wilson score interval for a binomial
// proportion of count successes out of total trials at the standard normal
// quantile z (1.96 for 95%). Unlike the normal approximation it stays within
// [0, 1] and is not degenerate for 0 or total successes: for 0 out of n the
// upper bound is z²/(n+z²), about 3.84/(n+3.84) at 95%, close to the "rule
// of three". It returns [0, 1] when total <= 0; count is clamped to
// [0, total].
func WilsonInterval(count, total int, z float64) (lo, hi float64) {
	if total <= 0 {
		return 0, 1
	}
	count = min(max(count, 0), total)
	n := float64(total)
	p := float64(count) / n
	z2 := z * z
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z / den * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	lo, hi = max(centre-half, 0), min(centre+half, 1)
	if count == 0 {
		lo = 0
	}
	if count == total {
		hi = 1
	}
	return lo, hi
}

// GroupPair is one scored verification comparison together with the
// identity of the person on each side, for GroupFairness.
type GroupPair struct {
	// Score is the similarity of the pair (see the package conventions: NaN
	// never matches).
	Score float64
	// Same is the ground truth: whether the pair shows one person.
	Same bool
	// A and B are the identities of the two sides, as GroupLabels knows
	// them; "" means unknown.
	A, B string
}

// FairnessOptions configures GroupFairness and GroupIdentify.
type FairnessOptions struct {
	// Threshold is the operating threshold: a comparison (search) is
	// accepted when its score is >= Threshold.
	Threshold float64
	// MinPairs is the number of trials a group needs on a rate (genuine
	// pairs for FNMR, impostor pairs for FMR, searches for FNIR and FPIR)
	// to take part in that rate's spread; groups with fewer are listed as
	// insufficient. Values < 1 mean 1.
	MinPairs int
	// Thresholds are further thresholds at which every group's rates are
	// reported (the per-group "ROC" points), in the given order; non-finite
	// values are skipped.
	Thresholds []float64
}

func (o FairnessOptions) minPairs() int { return max(o.MinPairs, 1) }

func (o FairnessOptions) thresholds() []float64 {
	var ts []float64
	for _, t := range o.Thresholds {
		if !math.IsInf(t, 0) && !math.IsNaN(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// GroupPoint is one group's false-match and false-non-match rates at one
// threshold.
type GroupPoint struct {
	Threshold float64 `json:"threshold"`
	FMR       float64 `json:"fmr"`
	FNMR      float64 `json:"fnmr"`
}

// GroupVerification is the outcome of GroupFairness for one group.
type GroupVerification struct {
	Group string `json:"group"`
	// Identities counts the group's identities that occur in the labelled
	// pairs.
	Identities int `json:"identities"`
	// FNMR counts false non-matches (Count) among the genuine pairs whose
	// person belongs to the group (Total), at the operating threshold.
	FNMR Rate `json:"fnmr"`
	// FMR counts false matches (Count) among the impostor pairs whose two
	// identities both belong to the group (Total), at the operating
	// threshold.
	FMR Rate `json:"fmr"`
	// ROC holds the group's rates at FairnessOptions.Thresholds.
	ROC []GroupPoint `json:"roc,omitempty"`
}

// CrossGroupFMR is the false-match rate of the impostor pairs between two
// different groups.
type CrossGroupFMR struct {
	A   string `json:"group_a"`
	B   string `json:"group_b"`
	FMR Rate   `json:"fmr"`
}

// Spread summarises how far apart one rate lies across the groups with
// enough trials.
type Spread struct {
	// Groups lists the groups with at least MinPairs trials, which the
	// figures below are computed over; Insufficient lists the others.
	Groups       []string `json:"groups"`
	Insufficient []string `json:"insufficient"`
	// Min and Max are the lowest and highest rate among Groups, reached by
	// MinGroup and MaxGroup (the first in name order on ties). All four are
	// zero values when Groups is empty.
	Min      float64 `json:"min"`
	MinGroup string  `json:"min_group"`
	Max      float64 `json:"max"`
	MaxGroup string  `json:"max_group"`
	// Ratio is Max/Min; it is null (nil) when Groups is empty or Min is 0,
	// where the ratio is undefined or infinite: read Difference and the
	// intervals instead.
	Ratio *float64 `json:"max_min_ratio"`
	// Difference is Max - Min.
	Difference float64 `json:"max_min_difference"`
}

// FairnessReport is the outcome of GroupFairness: per-group verification
// error rates at one operating threshold. It marshals to JSON as is.
type FairnessReport struct {
	Threshold  float64 `json:"threshold"`
	MinPairs   int     `json:"min_pairs"`
	Confidence float64 `json:"confidence"`
	// Pairs, GenuinePairs and ImpostorPairs count every pair given.
	Pairs         int `json:"pairs"`
	GenuinePairs  int `json:"genuine_pairs"`
	ImpostorPairs int `json:"impostor_pairs"`
	// UnlabelledGenuine and UnlabelledImpostor count the pairs left out
	// because a side's identity is unknown or has no group;
	// UnlabelledIdentities names those identities (sorted; "" is not
	// listed).
	UnlabelledGenuine    int      `json:"unlabelled_genuine_pairs"`
	UnlabelledImpostor   int      `json:"unlabelled_impostor_pairs"`
	UnlabelledIdentities []string `json:"unlabelled_identities"`
	// GenuineCrossGroup counts genuine pairs whose two sides share no group
	// (inconsistent identity labels); they are in no group's FNMR.
	GenuineCrossGroup int `json:"genuine_cross_group_pairs"`
	// CrossGroupFMR is the false-match rate of the labelled impostor pairs
	// whose two identities share no group; CrossGroups breaks it down by
	// pair of groups (a pair counts once for each group of one side paired
	// with each group of the other).
	CrossGroupFMR Rate            `json:"cross_group_fmr"`
	CrossGroups   []CrossGroupFMR `json:"cross_group"`
	// Groups holds one entry per group of the labels, in name order.
	Groups []GroupVerification `json:"groups"`
	// FMRSpread and FNMRSpread compare the groups' FMR and FNMR.
	FMRSpread  Spread `json:"fmr_spread"`
	FNMRSpread Spread `json:"fnmr_spread"`
}

// GroupFairness measures verification error rates per group at the
// operating threshold opt.Threshold.
//
// A pair takes part only when both its identities are labelled. A genuine
// pair (Same) counts towards the FNMR of every group its two sides share
// (normally the groups of its one person). An impostor pair counts towards
// the FMR of every group both of its identities belong to; an impostor pair
// whose identities share no group counts towards CrossGroupFMR instead.
// With one group per identity, each labelled pair therefore counts exactly
// once: the groups' genuine totals plus GenuineCrossGroup add up to the
// labelled genuine pairs, and the groups' impostor totals plus
// CrossGroupFMR.Total to the labelled impostor pairs. With several groups
// per identity a pair counts in each group it shares.
//
// Every group of the labels is reported, also those no pair reaches (with
// zero totals). The spreads compare the groups with at least opt.MinPairs
// trials on the rate concerned.
func GroupFairness(pairs []GroupPair, labels GroupLabels, opt FairnessOptions) FairnessReport {
	groups := labels.Groups()
	gidx := make(map[string]int, len(groups))
	for i, g := range groups {
		gidx[g] = i
	}
	ts := opt.thresholds()
	type acc struct {
		gen, fnm, imp, fm int
		ids               map[string]bool
		genS, impS        []float64
	}
	accs := make([]acc, len(groups))
	for i := range accs {
		accs[i].ids = map[string]bool{}
	}
	type crossKey struct{ a, b int }
	cross := map[crossKey][2]int{} // {false matches, pairs}
	unlabelled := map[string]bool{}
	rep := FairnessReport{Threshold: opt.Threshold, MinPairs: opt.minPairs(), Confidence: Confidence, Pairs: len(pairs),
		UnlabelledIdentities: []string{}, CrossGroups: []CrossGroupFMR{}}
	crossFM, crossN := 0, 0
	for _, p := range pairs {
		s := clean(p.Score)
		match := s >= opt.Threshold
		if p.Same {
			rep.GenuinePairs++
		} else {
			rep.ImpostorPairs++
		}
		okA, okB := labels.Has(p.A), labels.Has(p.B)
		if !okA || !okB {
			for _, id := range []string{p.A, p.B} {
				if id != "" && !labels.Has(id) {
					unlabelled[id] = true
				}
			}
			if p.Same {
				rep.UnlabelledGenuine++
			} else {
				rep.UnlabelledImpostor++
			}
			continue
		}
		for _, id := range []string{p.A, p.B} {
			for _, g := range labels[id] {
				accs[gidx[g]].ids[id] = true
			}
		}
		sh := labels.shared(p.A, p.B)
		if len(sh) == 0 {
			if p.Same {
				rep.GenuineCrossGroup++
				continue
			}
			crossN++
			if match {
				crossFM++
			}
			for _, ga := range labels[p.A] {
				for _, gb := range labels[p.B] {
					k := crossKey{gidx[ga], gidx[gb]}
					if k.a > k.b {
						k.a, k.b = k.b, k.a
					}
					c := cross[k]
					c[1]++
					if match {
						c[0]++
					}
					cross[k] = c
				}
			}
			continue
		}
		for _, g := range sh {
			a := &accs[gidx[g]]
			if p.Same {
				a.gen++
				if !match {
					a.fnm++
				}
				if len(ts) > 0 {
					a.genS = append(a.genS, s)
				}
			} else {
				a.imp++
				if match {
					a.fm++
				}
				if len(ts) > 0 {
					a.impS = append(a.impS, s)
				}
			}
		}
	}
	for id := range unlabelled {
		rep.UnlabelledIdentities = append(rep.UnlabelledIdentities, id)
	}
	slices.Sort(rep.UnlabelledIdentities)
	rep.CrossGroupFMR = NewRate(crossFM, crossN)
	keys := make([]crossKey, 0, len(cross))
	for k := range cross {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y crossKey) int {
		if c := cmp.Compare(x.a, y.a); c != 0 {
			return c
		}
		return cmp.Compare(x.b, y.b)
	})
	for _, k := range keys {
		c := cross[k]
		rep.CrossGroups = append(rep.CrossGroups, CrossGroupFMR{A: groups[k.a], B: groups[k.b], FMR: NewRate(c[0], c[1])})
	}
	fmrs, fnmrs := make([]Rate, len(groups)), make([]Rate, len(groups))
	rep.Groups = make([]GroupVerification, len(groups))
	for i, g := range groups {
		a := accs[i]
		gv := GroupVerification{Group: g, Identities: len(a.ids), FNMR: NewRate(a.fnm, a.gen), FMR: NewRate(a.fm, a.imp)}
		for _, t := range ts {
			gv.ROC = append(gv.ROC, GroupPoint{Threshold: t, FMR: rate(countAtLeast(a.impS, t), len(a.impS)),
				FNMR: rate(len(a.genS)-countAtLeast(a.genS, t), len(a.genS))})
		}
		rep.Groups[i] = gv
		fmrs[i], fnmrs[i] = gv.FMR, gv.FNMR
	}
	rep.FMRSpread = spreadOf(groups, fmrs, rep.MinPairs)
	rep.FNMRSpread = spreadOf(groups, fnmrs, rep.MinPairs)
	return rep
}

// countAtLeast returns how many of xs are >= t.
func countAtLeast(xs []float64, t float64) int {
	n := 0
	for _, x := range xs {
		if x >= t {
			n++
		}
	}
	return n
}

// spreadOf computes the Spread of rates (one per group, in the order of
// groups) over the groups with at least minTotal trials.
func spreadOf(groups []string, rates []Rate, minTotal int) Spread {
	sp := Spread{Groups: []string{}, Insufficient: []string{}}
	first := true
	for i, g := range groups {
		r := rates[i]
		if r.Total < minTotal {
			sp.Insufficient = append(sp.Insufficient, g)
			continue
		}
		sp.Groups = append(sp.Groups, g)
		if first || r.Rate < sp.Min {
			sp.Min, sp.MinGroup = r.Rate, g
		}
		if first || r.Rate > sp.Max {
			sp.Max, sp.MaxGroup = r.Rate, g
		}
		first = false
	}
	if first {
		return sp
	}
	sp.Difference = sp.Max - sp.Min
	if sp.Min > 0 {
		ratio := sp.Max / sp.Min
		sp.Ratio = &ratio
	}
	return sp
}

// SampleGroupImpostors proposes impostor pairs for measuring each group's
// false-match rate on more pairs than a pair list holds. ids gives the
// identity of each evaluated image (item); items whose identity is "" or has
// no group are ignored.
//
// For every group (in name order), the candidates are all pairs of items of
// the group that show two different identities. When there are at most
// maxPerGroup of them, or maxPerGroup <= 0, all are taken; otherwise
// maxPerGroup are drawn uniformly without replacement, with a random source
// seeded by seed and the group's name, so the result depends only on ids,
// labels, maxPerGroup and seed. A pair drawn for one group also lies in any
// other group both identities share, where GroupFairness counts it too.
//
// The result holds each pair once, as item indices {i, j} with i < j,
// sorted.
func SampleGroupImpostors(ids []string, labels GroupLabels, maxPerGroup int, seed uint64) [][2]int {
	seen := map[[2]int]bool{}
	var out [][2]int
	add := func(i, j int) {
		k := [2]int{min(i, j), max(i, j)}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, g := range labels.Groups() {
		var members []int
		perID := map[string]int64{}
		for i, id := range ids {
			if labels.In(id, g) {
				members = append(members, i)
				perID[id]++
			}
		}
		m := int64(len(members))
		cand := m * (m - 1) / 2
		for _, c := range perID {
			cand -= c * (c - 1) / 2
		}
		if cand == 0 {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(g))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		limit := int64(maxPerGroup)
		if maxPerGroup <= 0 || cand <= max(2*limit, 1<<20) {
			// Enumerate, then keep a random subset if there are too many.
			all := make([][2]int, 0, cand)
			for x := 0; x < len(members); x++ {
				for y := x + 1; y < len(members); y++ {
					i, j := members[x], members[y]
					if ids[i] != ids[j] {
						all = append(all, [2]int{i, j})
					}
				}
			}
			if maxPerGroup > 0 && len(all) > maxPerGroup {
				for k := 0; k < maxPerGroup; k++ {
					r := k + rng.IntN(len(all)-k)
					all[k], all[r] = all[r], all[k]
				}
				all = all[:maxPerGroup]
			}
			for _, p := range all {
				add(p[0], p[1])
			}
			continue
		}
		// Far more candidates than wanted: draw by rejection.
		picked := make(map[[2]int]bool, maxPerGroup)
		for len(picked) < maxPerGroup {
			i, j := members[rng.IntN(len(members))], members[rng.IntN(len(members))]
			if i == j || ids[i] == ids[j] {
				continue
			}
			k := [2]int{min(i, j), max(i, j)}
			if picked[k] {
				continue
			}
			picked[k] = true
			add(k[0], k[1])
		}
	}
	slices.SortFunc(out, func(x, y [2]int) int {
		if c := cmp.Compare(x[0], y[0]); c != 0 {
			return c
		}
		return cmp.Compare(x[1], y[1])
	})
	return out
}
