package facegate

import (
	"math"
	"strconv"
)

// FramePoint is a position in a frame in coordinates normalised to 0..1: x from the left edge to the right, y from
// the top edge to the bottom, whatever the frame's size.
type FramePoint struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Zone is a named area of a stream's frames, a polygon (its points in order, at least 3; the last joins the
// first). The crowd figures count the tracks whose face centre lies in it.
type Zone struct {
	Name   string       `json:"name"`
	Points []FramePoint `json:"points"`
}

// Line is a named counting line, the segment From→To. A track whose face centre passes from one side of the
// segment to the other crosses it: left to right or right to left as seen looking from From towards To in the
// frame (y pointing down, as the image is shown).
type Line struct {
	Name string     `json:"name"`
	From FramePoint `json:"from"`
	To   FramePoint `json:"to"`
}

// ZoneCount is one zone's figures over a crowd interval: the tracks in it per analysed frame (most and mean),
// and the tracks that entered it (first seen inside it, or moved into it).
type ZoneCount struct {
	Name       string  `json:"name"`
	TracksMax  int     `json:"tracks_max"`
	TracksMean float64 `json:"tracks_mean"`
	Entries    int     `json:"entries"`
}

// LineCount is one line's crossings over a crowd interval, each way (see Line).
type LineCount struct {
	Name        string `json:"name"`
	LeftToRight int    `json:"left_to_right"`
	RightToLeft int    `json:"right_to_left"`
}

// DwellBucket is one bar of the dwell histogram: the tracks that ended in the interval having been in view at
// least MinSeconds and less than MaxSeconds (0: no upper bound).
type DwellBucket struct {
	MinSeconds float64 `json:"min_seconds"`
	MaxSeconds float64 `json:"max_seconds,omitempty"`
	Tracks     int     `json:"tracks"`
}

// DwellBucketBounds are the edges of the dwell histogram, in seconds: <5 s, 5–30 s, 30 s–2 min, 2–10 min, ≥10 min.
var DwellBucketBounds = []float64{5, 30, 120, 600}

// NewDwellHistogram returns the empty dwell histogram, one bucket per interval of DwellBucketBounds.
func NewDwellHistogram() []DwellBucket {
	out := make([]DwellBucket, len(DwellBucketBounds)+1)
	for i := range out {
		if i > 0 {
			out[i].MinSeconds = DwellBucketBounds[i-1]
		}
		if i < len(DwellBucketBounds) {
			out[i].MaxSeconds = DwellBucketBounds[i]
		}
	}
	return out
}

// AddDwell counts one track of dwell d seconds in its bucket of h (made by NewDwellHistogram).
func AddDwell(h []DwellBucket, d float64) {
	for i := range h {
		if d >= h[i].MinSeconds && (h[i].MaxSeconds == 0 || d < h[i].MaxSeconds) {
			h[i].Tracks++
			return
		}
	}
}

// The heatmap's grid: the frame cut into HeatmapCols × HeatmapRows cells, whatever its size.
const (
	HeatmapCols = 32
	HeatmapRows = 18
)

// Heatmap is where faces were: for each cell of the frame's grid (row-major, row 0 at the top), the number of
// analysed frames in which a face's centre lay in it. Counts only, nothing about who.
type Heatmap struct {
	Cols  int   `json:"cols"`
	Rows  int   `json:"rows"`
	Cells []int `json:"cells"`
}

// NewHeatmap returns an empty heatmap of the standard grid.
func NewHeatmap() *Heatmap {
	return &Heatmap{Cols: HeatmapCols, Rows: HeatmapRows, Cells: make([]int, HeatmapCols*HeatmapRows)}
}

// AddPoint counts a face centre at p (normalised; points outside 0..1 count in the nearest edge cell).
func (h *Heatmap) AddPoint(p FramePoint) {
	c := min(max(int(math.Floor(p.X*float64(h.Cols))), 0), h.Cols-1)
	r := min(max(int(math.Floor(p.Y*float64(h.Rows))), 0), h.Rows-1)
	h.Cells[r*h.Cols+c]++
}

// Add adds o's counts to h cell by cell; it reports false, adding nothing, when the grids differ.
func (h *Heatmap) Add(o *Heatmap) bool {
	if o == nil || o.Cols != h.Cols || o.Rows != h.Rows || len(o.Cells) != len(h.Cells) {
		return false
	}
	for i, v := range o.Cells {
		h.Cells[i] += v
	}
	return true
}

// Total is the sum of the cells: the face-frames counted.
func (h *Heatmap) Total() int {
	n := 0
	for _, v := range h.Cells {
		n += v
	}
	return n
}

// Max is the largest cell.
func (h *Heatmap) Max() int {
	m := 0
	for _, v := range h.Cells {
		m = max(m, v)
	}
	return m
}

// CheckGeometry reports the first problem of the stream's zones and lines as a UserError: more than MaxZones
// or MaxLines, or a polygon over MaxZonePoints (ErrTooLong); a missing or repeated name, a zone of fewer than
// 3 points or with no area (its points on one line), a line whose ends coincide, or a point outside 0..1
// (ErrInvalid).
func (s *Stream) CheckGeometry() error {
	switch {
	case len(s.Zones) > MaxZones:
		return Userf(ErrTooLong, "zones lists %d zones; the limit is %d", len(s.Zones), MaxZones)
	case len(s.Lines) > MaxLines:
		return Userf(ErrTooLong, "lines lists %d lines; the limit is %d", len(s.Lines), MaxLines)
	}
	names := map[string]bool{}
	named := func(kind, name string, i int) error {
		if name == "" {
			return Userf(ErrInvalid, "%s[%d] has no name: give each a name", kind, i)
		}
		if err := CheckLen(kind+"["+strconv.Itoa(i)+"].name", name, MaxNameLen); err != nil {
			return err
		}
		if names[kind+"\x00"+name] {
			return Userf(ErrInvalid, "%s[%d]: the name %q is used twice: give each a different name", kind, i, name)
		}
		names[kind+"\x00"+name] = true
		return nil
	}
	for i, z := range s.Zones {
		if err := named("zones", z.Name, i); err != nil {
			return err
		}
		switch {
		case len(z.Points) < 3:
			return Userf(ErrInvalid, "zone %q has %d points; a zone is a polygon of at least 3 points", z.Name, len(z.Points))
		case len(z.Points) > MaxZonePoints:
			return Userf(ErrTooLong, "zone %q has %d points; the limit is %d", z.Name, len(z.Points), MaxZonePoints)
		}
		for j, p := range z.Points {
			if !p.inFrame() {
				return Userf(ErrInvalid, "zone %q: point %d (%g, %g) is outside the frame: x and y are fractions of the frame's width and height, 0 to 1", z.Name, j, p.X, p.Y)
			}
		}
		if flat(z.Points) {
			return Userf(ErrInvalid, "zone %q encloses no area: its points lie on one line or on one point (within %g of the frame); give the corners of the area to count", z.Name, minGeometrySpan)
		}
	}
	for i, l := range s.Lines {
		if err := named("lines", l.Name, i); err != nil {
			return err
		}
		if !l.From.inFrame() || !l.To.inFrame() {
			return Userf(ErrInvalid, "line %q has an end outside the frame: x and y are fractions of the frame's width and height, 0 to 1", l.Name)
		}
		if math.Hypot(l.To.X-l.From.X, l.To.Y-l.From.Y) < minGeometrySpan {
			return Userf(ErrInvalid, "line %q starts and ends at the same point (less than %g of the frame apart): give it two different ends", l.Name, minGeometrySpan)
		}
	}
	return nil
}

// minGeometrySpan is the least extent, in frame fractions, of a zone across its longest chord and of a line: a
// zone flatter than that, or a shorter line, would count no one (two pixels of a 1920-pixel frame).
const minGeometrySpan = 1e-3

// flat reports whether the polygon pts has no area: every point within minGeometrySpan of the line through its
// first point and the point farthest from it (or all of them within minGeometrySpan of the first).
func flat(pts []FramePoint) bool {
	p0, far, d := pts[0], pts[0], 0.0
	for _, p := range pts {
		if h := math.Hypot(p.X-p0.X, p.Y-p0.Y); h > d {
			far, d = p, h
		}
	}
	if d < minGeometrySpan {
		return true
	}
	for _, p := range pts {
		if math.Abs((far.X-p0.X)*(p.Y-p0.Y)-(far.Y-p0.Y)*(p.X-p0.X))/d >= minGeometrySpan {
			return false
		}
	}
	return true
}

func (p FramePoint) inFrame() bool { return p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1 }
