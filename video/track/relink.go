package track

import (
	"math"
	"time"
)

// Relinker re-links tracks broken by an occlusion, a missed detection or a face leaving the frame for a moment:
// it keeps the face template of each track that ended for Window, and a later track whose template is at least
// MinSimilarity (cosine) like one of them is the same person. Templates are kept in memory only, anonymous (a
// person id, no image, no name), and dropped when their window ends or when they are re-linked. It is not safe
// for concurrent use.
type Relinker struct {
	// Window is how long an ended track can be re-linked (default 5 s); MinSimilarity the cosine similarity a
	// later track's template needs with it.
	Window        time.Duration
	MinSimilarity float32

	lost []lost
}

// lost is a track that ended within the window.
type lost struct {
	person string
	tmpl   []float32
	ended  time.Time
}

// NewRelinker returns a Relinker with the default window and the given similarity threshold.
func NewRelinker(minSimilarity float32) *Relinker {
	return &Relinker{Window: 5 * time.Second, MinSimilarity: minSimilarity}
}

// Lost records that the track of person ended at time at with the (unit-length) template tmpl.
func (r *Relinker) Lost(person string, tmpl []float32, at time.Time) {
	r.expire(at)
	if len(tmpl) == 0 {
		return
	}
	r.lost = append(r.lost, lost{person: person, tmpl: tmpl, ended: at})
}

// Relink returns the person of the most similar track that ended within the window before since (the new
// track's first sighting: a track still in view then is someone else) and at least MinSimilarity like tmpl, and
// forgets it; ok is false when there is none. now is the current time, which expires old templates.
func (r *Relinker) Relink(tmpl []float32, since, now time.Time) (person string, sim float32, ok bool) {
	r.expire(now)
	best := -1
	for i, l := range r.lost {
		if l.ended.After(since) {
			continue
		}
		if s := Cosine(tmpl, l.tmpl); s >= r.MinSimilarity && (best < 0 || s > sim) {
			best, sim = i, s
		}
	}
	if best < 0 {
		return "", 0, false
	}
	person = r.lost[best].person
	r.lost = append(r.lost[:best], r.lost[best+1:]...)
	return person, sim, true
}

// Pending is the number of templates kept now.
func (r *Relinker) Pending() int { return len(r.lost) }

// Clear drops every template (the stream stopped).
func (r *Relinker) Clear() { clear(r.lost); r.lost = nil }

// expire drops the templates of the tracks that ended more than Window before now.
func (r *Relinker) expire(now time.Time) {
	keep := r.lost[:0]
	for _, l := range r.lost {
		if now.Sub(l.ended) <= r.Window {
			keep = append(keep, l)
		}
	}
	clear(r.lost[len(keep):])
	r.lost = keep
}

// Cosine is the cosine similarity of two templates (0 when either is empty or zero, or their lengths differ).
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return float32(dot / math.Sqrt(na*nb))
}
