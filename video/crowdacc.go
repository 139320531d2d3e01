package video

import (
	"time"

	"github.com/facegate/facegate"
)

// maxIntervalTracks bounds the tracks one crowd interval remembers (about 150 bytes each) to count its people.
// A crowd interval may last a day (crowd_interval_seconds), and a busy or crafted scene starts tracks without
// end: past the bound, a track new to the interval counts as a person of its own, with no memory kept of it.
// The default interval (60 s) holds at most 30,000 tracks even at 5 frames a second with 100 new faces in each.
const maxIntervalTracks = 50_000

// crowdAcc accumulates one interval's crowd figures. What it holds is bounded whatever the interval's length:
// at most maxIntervalTracks tracks, and templates for at most maxDedupTracks of them (countPeople compares no
// more); the dwell of ended tracks is summed as they end.
type crowdAcc struct {
	from, last time.Time
	frames     int
	faces      int
	facesMax   int
	newTracks  int
	relinked   int
	tracks     map[string]*crowdTrack // by track id
	// templates counts the tracks holding a template; overflow the tracks past maxIntervalTracks.
	templates, overflow int
	// interval numbers the intervals (from 1), so that a track past the bound counts once in each.
	interval int
	// ended, dwellSum and dwellMax are the dwell figures of the tracks that ended in the interval.
	ended              int
	dwellSum, dwellMax time.Duration
	sameFace           float32
	// noAppearance counts tracks, not faces (Config.NoAppearance).
	noAppearance bool
}

func (c *crowdAcc) reset(at time.Time) {
	*c = crowdAcc{from: at, last: at, tracks: map[string]*crowdTrack{}, sameFace: c.sameFace,
		noAppearance: c.noAppearance, interval: c.interval + 1}
}

func (c *crowdAcc) frame(at time.Time, faces int) {
	c.last = at
	c.frames++
	c.faces += faces
	c.facesMax = max(c.facesMax, faces)
}

// seen records that track id, in state st, was in view at time at.
func (c *crowdAcc) seen(id string, st *trackState, at time.Time) {
	ct := c.tracks[id]
	if ct == nil {
		if len(c.tracks) >= maxIntervalTracks {
			if st.overflowIn != c.interval {
				st.overflowIn = c.interval
				c.overflow++
			}
			return
		}
		ct = &crowdTrack{first: at}
		c.tracks[id] = ct
	}
	ct.last, ct.person = at, st.person
	if !c.noAppearance {
		ct.embedded = st.tmpl != nil
		switch {
		case st.tmpl == nil:
			if ct.tmpl != nil {
				c.templates--
			}
			ct.tmpl = nil
		case ct.tmpl != nil:
			ct.tmpl = st.tmpl
		case c.templates < maxDedupTracks:
			c.templates++
			ct.tmpl = st.tmpl
		}
	}
	if st.match != nil {
		ct.subject = st.match.Subject
	}
}

// ended counts a track that ended in the interval after dwell d.
func (c *crowdAcc) trackEnded(d time.Duration) {
	c.ended++
	c.dwellSum += d
	c.dwellMax = max(c.dwellMax, d)
}

func (c *crowdAcc) figures(to time.Time) facegate.Crowd {
	out := facegate.Crowd{From: c.from, To: to, FacesMax: c.facesMax, NewTracks: c.newTracks, EndedTracks: c.ended,
		RelinkedTracks: c.relinked}
	if c.frames > 0 {
		out.FacesMean = float64(c.faces) / float64(c.frames)
	}
	out.UniquePeople = countPeople(c.tracks, c.sameFace) + c.overflow
	for _, ct := range c.tracks {
		if !ct.embedded {
			out.UnembeddedTracks++
		}
	}
	out.DwellMaxSeconds = c.dwellMax.Seconds()
	if c.ended > 0 {
		out.DwellMeanSeconds = c.dwellSum.Seconds() / float64(c.ended)
	}
	return out
}
