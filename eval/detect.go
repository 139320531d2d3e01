package eval

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

// Detection is one face a detector reported.
type Detection struct {
	Box   BoxXYWH `json:"box"`
	Score float64 `json:"score"`
}

// MatchIoU is the overlap at which a detection counts as finding a labelled face (WIDER FACE and PASCAL VOC's 0.5).
const MatchIoU = 0.5

// HeightBuckets are the upper bounds, in pixels, of the face-height buckets recall is reported in; the last
// bucket is open (> 80 px).
var HeightBuckets = []float64{12, 16, 24, 40, 80}

// BucketName names bucket i of HeightBuckets ("<12", "12-16", ..., ">80").
func BucketName(i int) string {
	switch {
	case i == 0:
		return "<" + ftoa(HeightBuckets[0])
	case i >= len(HeightBuckets):
		return ">" + ftoa(HeightBuckets[len(HeightBuckets)-1])
	}
	return ftoa(HeightBuckets[i-1]) + "-" + ftoa(HeightBuckets[i])
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// bucketOf is the HeightBuckets index of a face of height h.
func bucketOf(h float64) int {
	for i, b := range HeightBuckets {
		if h < b {
			return i
		}
	}
	return len(HeightBuckets)
}

// ImageMatch is the outcome of matching one image's detections to its labels.
type ImageMatch struct {
	// TruthFound[i] says whether labelled face i was found (always false for ignored faces).
	TruthFound []bool
	// Outcomes are the detections in descending score order: true positive, false positive or ignored (on an
	// ignored face).
	Outcomes []Outcome
}

// Outcome is what one detection turned out to be.
type Outcome struct {
	Score   float64
	TP      bool
	Ignored bool
	// NearFace marks a false positive that overlaps a labelled face at IoU >= NearIoU: a box misplaced or
	// mis-sized on a real face, or a duplicate, rather than a detection where there is no face.
	NearFace bool
}

// NearIoU is the overlap from which a false positive counts as near a labelled face (Outcome.NearFace).
const NearIoU = 0.3

// MatchImage matches detections to labelled faces greedily by descending score: each detection takes the
// unmatched, not ignored face it overlaps most at IoU >= minIoU (a true positive); otherwise, if it overlaps an
// ignored face at minIoU, it is ignored; otherwise it is a false positive. Each face is matched at most once.
func MatchImage(truth []TruthBox, dets []Detection, minIoU float64) ImageMatch {
	order := make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(dets[b].Score, dets[a].Score) })
	m := ImageMatch{TruthFound: make([]bool, len(truth)), Outcomes: make([]Outcome, 0, len(dets))}
	for _, di := range order {
		d := dets[di]
		best, bestIoU, ignored, maxIoU := -1, minIoU, false, 0.0
		for ti, t := range truth {
			v := d.Box.IoU(t.Box)
			if !t.Ignore {
				maxIoU = math.Max(maxIoU, v)
			}
			if v < minIoU {
				continue
			}
			if t.Ignore {
				ignored = true
				continue
			}
			if !m.TruthFound[ti] && v >= bestIoU {
				best, bestIoU = ti, v
			}
		}
		o := Outcome{Score: d.Score}
		switch {
		case best >= 0:
			m.TruthFound[best], o.TP = true, true
		case ignored:
			o.Ignored = true
		default:
			o.NearFace = maxIoU >= math.Min(NearIoU, minIoU)
		}
		m.Outcomes = append(m.Outcomes, o)
	}
	return m
}

// DetImageResult is one evaluated image: its labels, what the detector found and how long it took.
type DetImageResult struct {
	Path    string
	Truth   []TruthBox
	Dets    []Detection
	Elapsed time.Duration
}

// BucketRecall is the recall over the labelled faces of one height bucket.
type BucketRecall struct {
	Bucket string  `json:"bucket"`
	Faces  int     `json:"faces"`
	Found  int     `json:"found"`
	Recall float64 `json:"recall"`
}

// PRPoint is one point of a precision-recall curve.
type PRPoint struct {
	Score     float64 `json:"score"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
}

// DetectSummary is the detection benchmark's figures over a set of images.
type DetectSummary struct {
	Images         int `json:"images"`
	Faces          int `json:"faces"`
	IgnoredFaces   int `json:"ignored_faces"`
	Detections     int `json:"detections"`
	TruePositives  int `json:"true_positives"`
	FalsePositives int `json:"false_positives"`
	// FalsePositivesNearFace are the false positives on a labelled face (IoU >= NearIoU): misplaced, mis-sized
	// or duplicate boxes.
	FalsePositivesNearFace int            `json:"false_positives_near_face"`
	Recall                 float64        `json:"recall"`
	Precision              float64        `json:"precision"`
	AP                     float64        `json:"ap50"`
	ByHeight               []BucketRecall `json:"recall_by_height"`
	MeanSeconds            float64        `json:"seconds_per_image_mean"`
	P95Seconds             float64        `json:"seconds_per_image_p95"`
	// Curve is the precision-recall curve, one point per distinct detection score (not in the JSON; see --plot).
	Curve []PRPoint `json:"-"`
}

// SummarizeDetection matches every image's detections to its labels at minIoU and computes recall (overall and
// per face-height bucket), precision, AP (area under the all-point interpolated precision-recall curve, as
// PASCAL VOC 2010+ and WIDER FACE compute it) and the time per image (mean and 95th percentile).
func SummarizeDetection(res []DetImageResult, minIoU float64) DetectSummary {
	s := DetectSummary{Images: len(res)}
	s.ByHeight = make([]BucketRecall, len(HeightBuckets)+1)
	for i := range s.ByHeight {
		s.ByHeight[i].Bucket = BucketName(i)
	}
	var all []Outcome
	times := make([]float64, 0, len(res))
	for _, r := range res {
		m := MatchImage(r.Truth, r.Dets, minIoU)
		for i, t := range r.Truth {
			if t.Ignore {
				s.IgnoredFaces++
				continue
			}
			s.Faces++
			b := &s.ByHeight[bucketOf(t.Box.H)]
			b.Faces++
			if m.TruthFound[i] {
				b.Found++
				s.TruePositives++
			}
		}
		for _, o := range m.Outcomes {
			if o.Ignored {
				continue
			}
			s.Detections++
			if !o.TP {
				s.FalsePositives++
				if o.NearFace {
					s.FalsePositivesNearFace++
				}
			}
			all = append(all, o)
		}
		times = append(times, r.Elapsed.Seconds())
	}
	for i := range s.ByHeight {
		s.ByHeight[i].Recall = ratio(s.ByHeight[i].Found, s.ByHeight[i].Faces)
	}
	s.Recall = ratio(s.TruePositives, s.Faces)
	s.Precision = ratio(s.TruePositives, s.Detections)
	s.Curve = prCurve(all, s.Faces)
	s.AP = averagePrecision(s.Curve)
	if len(times) > 0 {
		sum := 0.0
		for _, t := range times {
			sum += t
		}
		s.MeanSeconds = sum / float64(len(times))
		slices.Sort(times)
		s.P95Seconds = times[int(math.Ceil(0.95*float64(len(times))))-1]
	}
	return s
}

// ratio is n/d, or 0 when d is 0.
func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// prCurve is the precision-recall curve of the outcomes against faces labelled faces: one point after each
// group of equal scores, in descending score order.
func prCurve(all []Outcome, faces int) []PRPoint {
	slices.SortStableFunc(all, func(a, b Outcome) int { return cmp.Compare(b.Score, a.Score) })
	var pts []PRPoint
	tp, n := 0, 0
	for i, o := range all {
		n++
		if o.TP {
			tp++
		}
		if i+1 < len(all) && all[i+1].Score == o.Score {
			continue
		}
		pts = append(pts, PRPoint{Score: o.Score, Recall: ratio(tp, faces), Precision: ratio(tp, n)})
	}
	return pts
}

// averagePrecision is the area under the all-point interpolated curve: the precision at recall r is the highest
// precision at any recall >= r.
func averagePrecision(pts []PRPoint) float64 {
	best := make([]float64, len(pts))
	m := 0.0
	for i := len(pts) - 1; i >= 0; i-- {
		m = math.Max(m, pts[i].Precision)
		best[i] = m
	}
	ap, prevR := 0.0, 0.0
	for i, p := range pts {
		ap += (p.Recall - prevR) * best[i]
		prevR = p.Recall
	}
	return ap
}
