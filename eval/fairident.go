package eval

import (
	"math"
	"slices"
)

// GroupProbe is one 1:N search together with the identity of its probe, for
// GroupIdentify.
type GroupProbe struct {
	Probe
	// Identity is the probe's identity as GroupLabels knows it. When empty,
	// Truth is used (for a mated search the two are the same person).
	Identity string
}

func (p GroupProbe) identity() string {
	if p.Identity != "" {
		return p.Identity
	}
	return p.Truth
}

// IdentPoint is one group's open-set rates at one threshold.
type IdentPoint struct {
	Threshold float64 `json:"threshold"`
	FNIR      float64 `json:"fnir"`
	FPIR      float64 `json:"fpir"`
}

// GroupIdentification is the outcome of GroupIdentify for one group.
type GroupIdentification struct {
	Group string `json:"group"`
	// Identities counts the group's identities among the labelled probes.
	Identities int `json:"identities"`
	// Rank1 counts the mated searches of the group's probes whose mate is
	// ranked first (Count) out of all of them (Total): the rank-1
	// identification rate with its interval.
	Rank1 Rate `json:"rank1"`
	// FNIR counts the mated searches that miss at the operating threshold
	// (mate not ranked first, or scoring below it).
	FNIR Rate `json:"fnir"`
	// FPIR counts the non-mated searches (see
	// IdentFairnessReport.FPIRMethod) whose top score reaches the threshold.
	FPIR Rate `json:"fpir"`
	// Points holds the group's rates at FairnessOptions.Thresholds.
	Points []IdentPoint `json:"operating_points,omitempty"`
}

// IdentFairnessReport is the outcome of GroupIdentify: per-group 1:N
// identification rates at one operating threshold. It marshals to JSON as
// is.
type IdentFairnessReport struct {
	Threshold  float64 `json:"threshold"`
	MinPairs   int     `json:"min_searches"`
	Confidence float64 `json:"confidence"`
	// Searches counts every search given, Mated and NonMated split them.
	Searches int `json:"searches"`
	Mated    int `json:"mated"`
	NonMated int `json:"non_mated"`
	// UnlabelledSearches counts the searches left out because the probe's
	// identity has no group; UnlabelledIdentities names those identities.
	UnlabelledSearches   int      `json:"unlabelled_searches"`
	UnlabelledIdentities []string `json:"unlabelled_identities"`
	// FPIRMethod says which searches the FPIR is measured on.
	FPIRMethod string                `json:"fpir_method"`
	Groups     []GroupIdentification `json:"groups"`
	// FNIRSpread and FPIRSpread compare the groups' FNIR and FPIR at the
	// operating threshold.
	FNIRSpread Spread `json:"fnir_spread"`
	FPIRSpread Spread `json:"fpir_spread"`
}

// FPIR methods reported by GroupIdentify.
const (
	FPIRNonMated = "non-mated searches of the group's probes (top score >= threshold)"
	FPIRProxy    = "no non-mated searches: each mated search of the group's probes with its own identity left out (best wrong-identity score >= threshold)"
)

// GroupIdentify measures 1:N identification rates per group at the
// operating threshold opt.Threshold, with the conventions of Identify: the
// rank of the mate counts ties pessimistically, a mated search is a hit at
// threshold t when its mate is ranked first and scores >= t (FNIR counts the
// others), and a non-mated search is a false positive when its top score is
// >= t. When probes holds no non-mated search at all, each mated search
// stands in for one with its best wrong-identity score, as Identify does.
//
// A search belongs to every group of its probe's identity; searches whose
// identity has no group are counted as unlabelled and left out. Every group
// of the labels is reported. The spreads compare the groups with at least
// opt.MinPairs searches on the rate concerned.
func GroupIdentify(probes []GroupProbe, labels GroupLabels, opt FairnessOptions) IdentFairnessReport {
	groups := labels.Groups()
	gidx := make(map[string]int, len(groups))
	for i, g := range groups {
		gidx[g] = i
	}
	ts := opt.thresholds()
	type acc struct {
		ids      map[string]bool
		hits     int
		mates    []float64 // mate score if ranked first, else -Inf
		nonMated []float64 // top score of each non-mated search (or proxy)
	}
	accs := make([]acc, len(groups))
	for i := range accs {
		accs[i].ids = map[string]bool{}
	}
	rep := IdentFairnessReport{Threshold: opt.Threshold, MinPairs: opt.minPairs(), Confidence: Confidence,
		Searches: len(probes), UnlabelledIdentities: []string{}, FPIRMethod: FPIRProxy}
	for _, p := range probes {
		if p.Truth == "" {
			rep.NonMated++
		} else {
			rep.Mated++
		}
	}
	proxy := rep.NonMated == 0
	if !proxy {
		rep.FPIRMethod = FPIRNonMated
	}
	unlabelled := map[string]bool{}
	for _, p := range probes {
		id := p.identity()
		if !labels.Has(id) {
			if id != "" {
				unlabelled[id] = true
			}
			rep.UnlabelledSearches++
			continue
		}
		rank, mate, wrong, top := searchOutcome(p.Probe)
		for _, g := range labels[id] {
			a := &accs[gidx[g]]
			a.ids[id] = true
			if p.Truth == "" {
				a.nonMated = append(a.nonMated, top)
				continue
			}
			hit := math.Inf(-1)
			if rank == 1 {
				a.hits++
				hit = mate
			}
			a.mates = append(a.mates, hit)
			if proxy {
				a.nonMated = append(a.nonMated, wrong)
			}
		}
	}
	for id := range unlabelled {
		rep.UnlabelledIdentities = append(rep.UnlabelledIdentities, id)
	}
	slices.Sort(rep.UnlabelledIdentities)
	fnirs, fpirs := make([]Rate, len(groups)), make([]Rate, len(groups))
	rep.Groups = make([]GroupIdentification, len(groups))
	for i, g := range groups {
		a := accs[i]
		gi := GroupIdentification{Group: g, Identities: len(a.ids), Rank1: NewRate(a.hits, len(a.mates)),
			FNIR: NewRate(len(a.mates)-countAtLeast(a.mates, opt.Threshold), len(a.mates)),
			FPIR: NewRate(countAtLeast(a.nonMated, opt.Threshold), len(a.nonMated))}
		for _, t := range ts {
			gi.Points = append(gi.Points, IdentPoint{Threshold: t,
				FNIR: rate(len(a.mates)-countAtLeast(a.mates, t), len(a.mates)),
				FPIR: rate(countAtLeast(a.nonMated, t), len(a.nonMated))})
		}
		rep.Groups[i] = gi
		fnirs[i], fpirs[i] = gi.FNIR, gi.FPIR
	}
	rep.FNIRSpread = spreadOf(groups, fnirs, rep.MinPairs)
	rep.FPIRSpread = spreadOf(groups, fpirs, rep.MinPairs)
	return rep
}

// searchOutcome returns, for one search, the rank of the mate (as in
// Identify: 0 when absent or for a non-mated search), the mate's score, the
// best wrong-identity score and the top score overall (-Inf when there is
// none).
func searchOutcome(p Probe) (rank int, mate, wrong, top float64) {
	wrong, top = math.Inf(-1), math.Inf(-1)
	m, ok := p.Scores[p.Truth]
	mate = clean(m)
	if p.Truth == "" {
		ok = false
	}
	rank = 1
	for id, v := range p.Scores {
		v = clean(v)
		top = max(top, v)
		if id == p.Truth {
			continue
		}
		wrong = max(wrong, v)
		if v >= mate {
			rank++
		}
	}
	if !ok {
		rank = 0
	}
	return rank, mate, wrong, top
}
