package video

import (
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/video/track"
)

// inPolygon reports whether p lies inside the polygon poly (even-odd rule; a point on an edge may fall either
// way).
func inPolygon(p facegate.FramePoint, poly []facegate.FramePoint) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Y > p.Y) != (b.Y > p.Y) && p.X < (b.X-a.X)*(p.Y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

// side is the side of the directed line a→b that p lies on, as the frame is shown (y down): +1 right, -1 left,
// 0 on the line.
func side(a, b, p facegate.FramePoint) int {
	c := (b.X-a.X)*(p.Y-a.Y) - (b.Y-a.Y)*(p.X-a.X)
	switch {
	case c > 0:
		return 1
	case c < 0:
		return -1
	}
	return 0
}

// crossing reports whether the move from p to q crosses the segment l.From→l.To, and which way: +1 left to
// right, -1 right to left, 0 no crossing. Touching the line without passing to the other side is no
// crossing; passing beyond the segment's ends is none either.
func crossing(l facegate.Line, p, q facegate.FramePoint) int {
	sp, sq := side(l.From, l.To, p), side(l.From, l.To, q)
	if sp == 0 || sq == 0 || sp == sq {
		return 0
	}
	// The move crosses the infinite line; it crosses the segment when the segment's ends lie on either side
	// of the move (or one lies on it).
	if side(p, q, l.From)*side(p, q, l.To) > 0 {
		return 0
	}
	if sp < 0 {
		return 1
	}
	return -1
}

// zoneAcc accumulates one crowd interval's zone, line, dwell and heatmap figures. It keeps, between frames,
// each live track's last face centre and the zones it is in: positions only, forgotten when the track ends.
type zoneAcc struct {
	zones []facegate.Zone
	lines []facegate.Line

	frames  int
	zoneSum []int // tracks in each zone, summed over frames
	zoneMax []int
	entries []int
	lr, rl  []int
	dwell   []facegate.DwellBucket
	heat    *facegate.Heatmap

	last   map[string]facegate.FramePoint // track id -> its last centre
	inside map[string][]bool              // track id -> in each zone at its last centre
}

func newZoneAcc(st *facegate.Stream) *zoneAcc {
	z := &zoneAcc{zones: st.Zones, lines: st.Lines, last: map[string]facegate.FramePoint{}, inside: map[string][]bool{}}
	z.reset()
	return z
}

// reset starts a new interval; the tracks' positions carry over.
func (z *zoneAcc) reset() {
	z.frames = 0
	z.zoneSum, z.zoneMax, z.entries = make([]int, len(z.zones)), make([]int, len(z.zones)), make([]int, len(z.zones))
	z.lr, z.rl = make([]int, len(z.lines)), make([]int, len(z.lines))
	z.dwell = facegate.NewDwellHistogram()
	z.heat = facegate.NewHeatmap()
}

// centre is b's centre in a w×h frame, normalised.
func centre(b facegate.Box, w, h int) facegate.FramePoint {
	return facegate.FramePoint{X: float64(b.X1+b.X2) / 2 / float64(w), Y: float64(b.Y1+b.Y2) / 2 / float64(h)}
}

// frame counts one analysed w×h frame: every face box in the heatmap, and the tracked faces (ids[i] is the
// confirmed track of boxes[i], "" when none) in the zones and across the lines.
func (z *zoneAcc) frame(w, h int, boxes []facegate.Box, ids []string) {
	if w <= 0 || h <= 0 {
		return
	}
	z.frames++
	present := make([]int, len(z.zones))
	for i, b := range boxes {
		c := centre(b, w, h)
		z.heat.AddPoint(c)
		if i >= len(ids) || ids[i] == "" {
			continue
		}
		id := ids[i]
		prev, seen := z.last[id]
		was := z.inside[id]
		now := make([]bool, len(z.zones))
		for k, zone := range z.zones {
			if now[k] = inPolygon(c, zone.Points); now[k] {
				present[k]++
				if !seen || !was[k] {
					z.entries[k]++
				}
			}
		}
		if seen {
			for k, l := range z.lines {
				switch crossing(l, prev, c) {
				case 1:
					z.lr[k]++
				case -1:
					z.rl[k]++
				}
			}
		}
		z.last[id], z.inside[id] = c, now
	}
	for k, n := range present {
		z.zoneSum[k] += n
		z.zoneMax[k] = max(z.zoneMax[k], n)
	}
}

// ended counts a track that ended after dwell d and forgets its position.
func (z *zoneAcc) ended(id string, d time.Duration) {
	facegate.AddDwell(z.dwell, d.Seconds())
	delete(z.last, id)
	delete(z.inside, id)
}

// fill adds the interval's figures to c.
func (z *zoneAcc) fill(c *facegate.Crowd) {
	c.DwellHistogram = z.dwell
	c.Heatmap = z.heat
	for k, zone := range z.zones {
		zc := facegate.ZoneCount{Name: zone.Name, TracksMax: z.zoneMax[k], Entries: z.entries[k]}
		if z.frames > 0 {
			zc.TracksMean = float64(z.zoneSum[k]) / float64(z.frames)
		}
		c.Zones = append(c.Zones, zc)
	}
	for k, l := range z.lines {
		c.Lines = append(c.Lines, facegate.LineCount{Name: l.Name, LeftToRight: z.lr[k], RightToLeft: z.rl[k]})
	}
}

// confirmedIDs is, for each detection, the ID of its confirmed track ("" for none or a tentative one).
func confirmedIDs(assigned []*track.Track) []string {
	ids := make([]string, len(assigned))
	for i, t := range assigned {
		if t != nil && t.Confirmed {
			ids[i] = t.ID
		}
	}
	return ids
}
