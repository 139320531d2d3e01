package recognize

import "github.com/facegate/facegate"

// DefaultSuppressMargin is how much closer a probe must be to a rejected capture than to the subject's closest
// enrolled template before the rejection suppresses the match. 0.10 is the largest margin that still stops 99%
// of the repeats of a rejected false match on LFW (99.1%, against 99.6% at 0.05), and it halves the later true
// sightings that a wrongly rejected true alert suppresses (16.6% against 30.9% at 0.05; the old rule: 99.6%).
// docs/suppression.md has the measurement ('make eval-suppression').
const DefaultSuppressMargin = 0.10

// maxSimilarity is the largest similarity two unit vectors have, with room for float32 rounding.
const maxSimilarity = 1.001

// Suppresses applies the scoped rejection rule to a probe that matched a subject with enrolled score (its
// similarity to the subject's closest enrolled template). A rejected capture suppresses the match only when
// the probe resembles it at least as much as the gallery's threshold demands of a match AND more than it
// resembles any enrolled template of the subject, by margin:
//
//	sim(probe, rejected) >= threshold  and  sim(probe, rejected) >= enrolled + margin
//
// So a probe that matches an enrolled template as well as the enrolment photo itself does (enrolled close to
// 1) is never suppressed, and a rejection of one capture does not silence the person: only probes that look
// more like the rejected capture than like the person's own photos are stopped. It returns the strongest
// suppressing rejection, or nil.
func Suppresses(probe []float32, enrolled float32, negatives []facegate.Negative, threshold, margin float64) *facegate.Suppression {
	var best *facegate.Suppression
	for i := range negatives {
		n := &negatives[i]
		s := facegate.Similarity(probe, n.Template)
		// Written so that NaN (a template of another length, or a corrupt one) never suppresses, nor does a
		// "similarity" above 1 that only a template that is no unit vector (infinite or huge components) gives.
		if !(float64(s) >= threshold && float64(s) >= float64(enrolled)+margin && s <= maxSimilarity) {
			continue
		}
		if best == nil || s > best.Score {
			best = &facegate.Suppression{Subject: n.SubjectID, Rejection: n.ID, Alert: n.AlertID, Score: s, Enrolled: enrolled}
		}
	}
	return best
}
