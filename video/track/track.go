// Package track follows faces from frame to frame so that each person in view keeps one id.
//
// Association is greedy on the overlap (IoU) between each track's predicted box and each detection, the
// prediction being the last box moved by the track's smoothed velocity (constant-velocity model). At the low
// frame rates facegate analyses (5 fps), a walking person's face can move by more than its own width between
// frames, so detections left over after the IoU pass are matched on centre distance relative to the face size,
// with a size-ratio gate. A track is confirmed after MinHits detections (a single-frame false detection never
// becomes a track) and ends when it has not been seen for MaxAge.
//
// Geometry is all the Tracker sees. Appearance comes from its user: Split cuts a track whose face turned out to
// be someone else's, and a Relinker says which recently ended track a new one continues, by face template.
package track

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/facegate/facegate"
)

// Track is one face followed across frames.
type Track struct {
	// ID is stable for the life of the track and never reused by its Tracker ("t1", "t2", ...).
	ID  string
	Box facegate.Box // last observed box
	// FirstSeen and LastSeen are the times of the first and the latest detection.
	FirstSeen, LastSeen time.Time
	Hits                int  // detections associated with the track
	Confirmed           bool // Hits reached MinHits
	// Jumped is set when the latest detection was associated by centre distance, not by overlap: the face
	// moved further than predicted, so it may be someone else's (the pipeline checks its template).
	Jumped bool

	vx, vy float64 // centre velocity, pixels per second (smoothed)
	prev   state   // before the latest detection, for Split
}

// state is where a track was.
type state struct {
	box      facegate.Box
	lastSeen time.Time
	vx, vy   float64
	hits     int
}

// Dwell is how long the track has been in view.
func (t *Track) Dwell() time.Duration { return t.LastSeen.Sub(t.FirstSeen) }

// predict is the box expected at time at.
func (t *Track) predict(at time.Time) facegate.Box {
	dt := at.Sub(t.LastSeen).Seconds()
	dx, dy := float32(t.vx*dt), float32(t.vy*dt)
	return facegate.Box{X1: t.Box.X1 + dx, Y1: t.Box.Y1 + dy, X2: t.Box.X2 + dx, Y2: t.Box.Y2 + dy}
}

// Tracker associates detections with tracks. It is not safe for concurrent use.
type Tracker struct {
	// MinIoU is the overlap a detection needs with a track's prediction in the first pass (default 0.3).
	MinIoU float64
	// MaxCentreDist is the largest centre distance, in units of the track's face size, for the second pass
	// (default 0.8; 1.5 times that for a track seen once, which has no velocity yet); MaxSizeRatio the largest
	// ratio of face sizes (default 1.6).
	MaxCentreDist float64
	MaxSizeRatio  float64
	// MinHits confirms a track (default 2); MaxAge ends one not seen for that long (default 1.5 s).
	MinHits int
	MaxAge  time.Duration

	tracks []*Track
	next   uint64
}

// New returns a Tracker with the defaults.
func New() *Tracker {
	return &Tracker{MinIoU: 0.3, MaxCentreDist: 0.8, MaxSizeRatio: 1.6, MinHits: 2, MaxAge: 1500 * time.Millisecond}
}

// Result is what one Step did.
type Result struct {
	// Assigned[i] is the track of detection i (confirmed or not).
	Assigned []*Track
	// Started are the tracks confirmed in this step; Ended the confirmed tracks that ended (not seen for MaxAge).
	Started, Ended []*Track
}

// Live returns the confirmed tracks now followed.
func (tr *Tracker) Live() []*Track {
	var out []*Track
	for _, t := range tr.tracks {
		if t.Confirmed {
			out = append(out, t)
		}
	}
	return out
}

// Step associates the detections of the frame taken at time now with the tracks.
func (tr *Tracker) Step(now time.Time, boxes []facegate.Box) Result {
	res := Result{Assigned: make([]*Track, len(boxes))}
	type pair struct {
		t, d  int
		score float64
	}
	var pairs []pair
	pred := make([]facegate.Box, len(tr.tracks))
	for ti, t := range tr.tracks {
		pred[ti] = t.predict(now)
		for di, b := range boxes {
			if iou := IoU(pred[ti], b); iou >= tr.MinIoU {
				pairs = append(pairs, pair{ti, di, iou})
			}
		}
	}
	usedT := make([]bool, len(tr.tracks))
	usedD := make([]bool, len(boxes))
	assign := func(ps []pair, jumped bool) {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].score > ps[j].score })
		for _, p := range ps {
			if usedT[p.t] || usedD[p.d] {
				continue
			}
			usedT[p.t], usedD[p.d] = true, true
			tr.tracks[p.t].observe(now, boxes[p.d])
			tr.tracks[p.t].Jumped = jumped
			res.Assigned[p.d] = tr.tracks[p.t]
		}
	}
	assign(pairs, false)
	// Second pass: what the IoU pass left, by centre distance relative to the face size.
	pairs = pairs[:0]
	for ti := range tr.tracks {
		if usedT[ti] {
			continue
		}
		p := pred[ti]
		ps := float64(max(p.W(), p.H()))
		for di, b := range boxes {
			if usedD[di] || ps <= 0 {
				continue
			}
			bs := float64(max(b.W(), b.H()))
			if r := bs / ps; r > tr.MaxSizeRatio || r < 1/tr.MaxSizeRatio {
				continue
			}
			d := math.Hypot(float64((p.X1+p.X2)/2-(b.X1+b.X2)/2), float64((p.Y1+p.Y2)/2-(b.Y1+b.Y2)/2)) / ps
			maxD := tr.MaxCentreDist
			if tr.tracks[ti].Hits == 1 {
				maxD *= 1.5
			}
			if d <= maxD {
				pairs = append(pairs, pair{ti, di, 1 - d})
			}
		}
	}
	assign(pairs, true)
	for di, b := range boxes {
		if usedD[di] {
			continue
		}
		tr.next++
		t := &Track{ID: fmt.Sprintf("t%d", tr.next), Box: b, FirstSeen: now, LastSeen: now, Hits: 1}
		tr.tracks = append(tr.tracks, t)
		res.Assigned[di] = t
	}
	keep := tr.tracks[:0]
	for _, t := range tr.tracks {
		if !t.Confirmed && t.Hits >= tr.MinHits {
			t.Confirmed = true
			res.Started = append(res.Started, t)
		}
		switch {
		case t.LastSeen.Equal(now):
			keep = append(keep, t)
		case !t.Confirmed:
			// an unconfirmed track that missed a frame was most likely a false detection: dropped silently
		case now.Sub(t.LastSeen) > tr.MaxAge:
			res.Ended = append(res.Ended, t)
		default:
			keep = append(keep, t)
		}
	}
	clear(tr.tracks[len(keep):])
	tr.tracks = keep
	return res
}

// Split undoes the association, in the latest Step, of confirmed track t with its detection, which turned out
// to be another person's face (the pipeline compares their templates): t goes back to where it was and ends
// now (the caller ends it as it would a track in Result.Ended: left in place, it would take the face back), and
// the detection starts a new track, confirmed at once (it is a face seen in several frames, not a one-frame
// false detection) and returned. Split returns nil, and changes nothing, when t is not a confirmed track of tr
// or had no earlier detection.
func (tr *Tracker) Split(t *Track) *Track {
	if t == nil || !t.Confirmed || t.prev.hits == 0 {
		return nil
	}
	i := slices.Index(tr.tracks, t)
	if i < 0 {
		return nil
	}
	tr.next++
	nt := &Track{ID: fmt.Sprintf("t%d", tr.next), Box: t.Box, FirstSeen: t.LastSeen, LastSeen: t.LastSeen, Hits: 1,
		Confirmed: true}
	t.Box, t.LastSeen, t.vx, t.vy, t.Hits = t.prev.box, t.prev.lastSeen, t.prev.vx, t.prev.vy, t.prev.hits
	t.prev = state{}
	tr.tracks[i] = nt
	return nt
}

// EndAll ends every confirmed track (the stream stopped) and returns them.
func (tr *Tracker) EndAll() []*Track {
	out := tr.Live()
	tr.tracks = nil
	return out
}

// observe moves the track to box b seen at time now, updating its smoothed velocity.
func (t *Track) observe(now time.Time, b facegate.Box) {
	t.prev = state{box: t.Box, lastSeen: t.LastSeen, vx: t.vx, vy: t.vy, hits: t.Hits}
	if dt := now.Sub(t.LastSeen).Seconds(); dt > 0 {
		vx := float64((b.X1+b.X2)/2-(t.Box.X1+t.Box.X2)/2) / dt
		vy := float64((b.Y1+b.Y2)/2-(t.Box.Y1+t.Box.Y2)/2) / dt
		if t.Hits == 1 {
			t.vx, t.vy = vx, vy
		} else {
			t.vx, t.vy = 0.5*t.vx+0.5*vx, 0.5*t.vy+0.5*vy
		}
	}
	t.Box, t.LastSeen = b, now
	t.Hits++
}

// IoU is the intersection over union of two boxes.
func IoU(a, b facegate.Box) float64 {
	iw := min(a.X2, b.X2) - max(a.X1, b.X1)
	ih := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := float64(iw) * float64(ih)
	u := float64(a.W())*float64(a.H()) + float64(b.W())*float64(b.H()) - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}
