// Package eval implements the evaluation side of face recognition:
// parsers for verification pair lists (the LFW pairs.txt layout and CSV
// files), 1:1 verification metrics (ROC, TAR at FAR, thresholds for a target
// false-match rate, AUC, EER and the LFW k-fold protocol), closed- and
// open-set 1:N identification metrics (rank-k, FNIR at FPIR as defined by
// NIST FRVT), per-group error rates with Wilson intervals and their spread
// for fairness reporting (group-label parser, GroupFairness, GroupIdentify,
// see docs/fairness.md), face-detection benchmarking (WIDER FACE and CSV
// box-label parsers, greedy IoU matching, recall by face height, precision,
// AP@0.5 and a precision-recall plot; SynthCrowd composes labelled synthetic
// crowd images), ROC and bar charts rendered to PNG and a small progress bar
// for long evaluation runs.
//
// # Conventions
//
// Scores are similarities: a higher score means "more likely the same
// person", and a comparison is accepted when score >= threshold. Distances
// must be negated (or otherwise mapped) before they are passed in.
//
// A NaN score is treated as -Inf: it never matches at any finite threshold,
// so a failed comparison counts as a rejection (a false non-match for a
// genuine pair, a correct rejection for an impostor pair).
//
// A rate whose denominator is empty (for example the false accept rate when
// there are no impostor pairs) is reported as 0 rather than NaN; callers that
// need to tell the cases apart should check the class counts themselves.
//
// All metrics sort their input once and are O(n log n) in the number of
// scores; none of them modify the slices they are given.
package eval
