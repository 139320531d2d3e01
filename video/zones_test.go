package video

import (
	"slices"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func pt(x, y float64) facegate.FramePoint { return facegate.FramePoint{X: x, Y: y} }

func TestInPolygon(t *testing.T) {
	square := []facegate.FramePoint{pt(0.2, 0.2), pt(0.6, 0.2), pt(0.6, 0.6), pt(0.2, 0.6)}
	// An L shape: the square (0,0)-(1,1) without its top-right quarter.
	ell := []facegate.FramePoint{pt(0, 0), pt(0.5, 0), pt(0.5, 0.5), pt(1, 0.5), pt(1, 1), pt(0, 1)}
	triangle := []facegate.FramePoint{pt(0.5, 0.1), pt(0.9, 0.9), pt(0.1, 0.9)}
	for _, c := range []struct {
		name string
		poly []facegate.FramePoint
		p    facegate.FramePoint
		want bool
	}{
		{"square centre", square, pt(0.4, 0.4), true},
		{"square left of it", square, pt(0.1, 0.4), false},
		{"square below it", square, pt(0.4, 0.7), false},
		{"square diagonal outside", square, pt(0.7, 0.7), false},
		{"L lower arm", ell, pt(0.8, 0.8), true},
		{"L upper arm", ell, pt(0.2, 0.2), true},
		{"L missing quarter", ell, pt(0.8, 0.2), false},
		{"triangle middle", triangle, pt(0.5, 0.6), true},
		{"triangle beside the apex", triangle, pt(0.2, 0.2), false},
		{"triangle beside the right edge", triangle, pt(0.85, 0.5), false},
	} {
		if got := inPolygon(c.p, c.poly); got != c.want {
			t.Errorf("%s: inPolygon(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestCrossing(t *testing.T) {
	// A vertical line from the top to the bottom of the middle: looking from (0.5,0.1) towards (0.5,0.9) with
	// y pointing down, the right-hand side is x < 0.5 and the left-hand side x > 0.5.
	down := facegate.Line{Name: "door", From: pt(0.5, 0.1), To: pt(0.5, 0.9)}
	// A horizontal line left to right: its right-hand side is below it (y > 0.5).
	across := facegate.Line{Name: "gate", From: pt(0.1, 0.5), To: pt(0.9, 0.5)}
	for _, c := range []struct {
		name string
		l    facegate.Line
		p, q facegate.FramePoint
		want int
	}{
		{"left to right", down, pt(0.6, 0.5), pt(0.4, 0.5), 1},
		{"right to left", down, pt(0.4, 0.5), pt(0.6, 0.5), -1},
		{"diagonal move across", down, pt(0.7, 0.2), pt(0.3, 0.8), 1},
		{"stays on one side", down, pt(0.6, 0.2), pt(0.9, 0.8), 0},
		{"passes above the segment's end", down, pt(0.6, 0.05), pt(0.4, 0.05), 0},
		{"passes below the segment's end", down, pt(0.4, 0.95), pt(0.6, 0.95), 0},
		{"stops on the line", down, pt(0.6, 0.5), pt(0.5, 0.5), 0},
		{"no move", down, pt(0.6, 0.5), pt(0.6, 0.5), 0},
		{"downwards over a horizontal line", across, pt(0.3, 0.4), pt(0.3, 0.6), 1},
		{"upwards over a horizontal line", across, pt(0.3, 0.6), pt(0.3, 0.4), -1},
		{"beyond the horizontal line's end", across, pt(0.95, 0.4), pt(0.95, 0.6), 0},
	} {
		if got := crossing(c.l, c.p, c.q); got != c.want {
			t.Errorf("%s: crossing(%v→%v) = %d, want %d", c.name, c.p, c.q, got, c.want)
		}
	}
}

func TestHeatmapAccumulation(t *testing.T) {
	// A 320×180 frame: cells of 10×10 pixels.
	box := func(cx, cy float32) facegate.Box { return facegate.Box{X1: cx - 4, Y1: cy - 4, X2: cx + 4, Y2: cy + 4} }
	for _, c := range []struct {
		name   string
		frames [][]facegate.Box
		cells  map[int]int // cell index -> count; every other cell 0
	}{
		{"one face top left", [][]facegate.Box{{box(5, 5)}}, map[int]int{0: 1}},
		{"one face bottom right", [][]facegate.Box{{box(315, 175)}}, map[int]int{17*32 + 31: 1}},
		{"same place three frames", [][]facegate.Box{{box(55, 25)}, {box(56, 24)}, {box(54, 26)}}, map[int]int{2*32 + 5: 3}},
		{"two faces one frame", [][]facegate.Box{{box(5, 5), box(165, 95)}}, map[int]int{0: 1, 9*32 + 16: 1}},
		{"box over the edge counts in the edge cell", [][]facegate.Box{{{X1: 310, Y1: 170, X2: 340, Y2: 200}}}, map[int]int{17*32 + 31: 1}},
		{"no faces", [][]facegate.Box{{}, {}}, map[int]int{}},
	} {
		z := newZoneAcc(&facegate.Stream{})
		for _, boxes := range c.frames {
			z.frame(320, 180, boxes, nil)
		}
		var cr facegate.Crowd
		z.fill(&cr)
		h := cr.Heatmap
		if h.Cols != 32 || h.Rows != 18 || len(h.Cells) != 32*18 {
			t.Fatalf("%s: grid %dx%d with %d cells", c.name, h.Cols, h.Rows, len(h.Cells))
		}
		want := 0
		for i, v := range h.Cells {
			if v != c.cells[i] {
				t.Errorf("%s: cell %d (row %d col %d) = %d, want %d", c.name, i, i/32, i%32, v, c.cells[i])
			}
			want += c.cells[i]
		}
		if h.Total() != want {
			t.Errorf("%s: total %d, want %d", c.name, h.Total(), want)
		}
	}
}

// TestZoneAccTracks follows two hand-made tracks through a zone and over a line, across two intervals.
func TestZoneAccTracks(t *testing.T) {
	st := &facegate.Stream{
		Zones: []facegate.Zone{{Name: "left", Points: []facegate.FramePoint{pt(0, 0), pt(0.5, 0), pt(0.5, 1), pt(0, 1)}}},
		Lines: []facegate.Line{{Name: "middle", From: pt(0.5, 0), To: pt(0.5, 1)}},
	}
	z := newZoneAcc(st)
	at := func(x, y float32) facegate.Box { return facegate.Box{X1: x - 5, Y1: y - 5, X2: x + 5, Y2: y + 5} }
	// 100×100 frame. t1 walks right to left (into the zone); t2 stays in the zone, then walks out.
	z.frame(100, 100, []facegate.Box{at(80, 50), at(20, 50)}, []string{"t1", "t2"})
	z.frame(100, 100, []facegate.Box{at(40, 50), at(20, 50)}, []string{"t1", "t2"})
	z.frame(100, 100, []facegate.Box{at(30, 50), at(20, 50), at(90, 90)}, []string{"t1", "t2", ""}) // an untracked face
	var c1 facegate.Crowd
	z.fill(&c1)
	z.reset()
	z.frame(100, 100, []facegate.Box{at(30, 50), at(70, 50)}, []string{"t1", "t2"})
	z.ended("t1", 3*time.Second)
	z.ended("t2", 45*time.Second)
	var c2 facegate.Crowd
	z.fill(&c2)

	want1 := facegate.ZoneCount{Name: "left", TracksMax: 2, TracksMean: 5.0 / 3, Entries: 2}
	if c1.Zones[0] != want1 {
		t.Errorf("first interval zone %+v, want %+v", c1.Zones[0], want1)
	}
	// Looking down the line (y grows), the frame's left half is its right-hand side: t1 crossed left to right.
	if l := c1.Lines[0]; l.LeftToRight != 1 || l.RightToLeft != 0 {
		t.Errorf("first interval line %+v, want 1 left to right", l)
	}
	if c1.Heatmap.Total() != 7 {
		t.Errorf("first interval heatmap total %d, want 7 face-frames", c1.Heatmap.Total())
	}
	want2 := facegate.ZoneCount{Name: "left", TracksMax: 1, TracksMean: 1, Entries: 0}
	if c2.Zones[0] != want2 {
		t.Errorf("second interval zone %+v, want %+v (t1 stayed in: no new entry)", c2.Zones[0], want2)
	}
	if l := c2.Lines[0]; l.LeftToRight != 0 || l.RightToLeft != 1 {
		t.Errorf("second interval line %+v, want 1 right to left", l)
	}
	got := []int{}
	for _, b := range c2.DwellHistogram {
		got = append(got, b.Tracks)
	}
	if want := []int{1, 0, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("dwell histogram %v, want %v", got, want)
	}
	if len(z.last) != 0 || len(z.inside) != 0 {
		t.Errorf("positions of ended tracks kept: %v %v", z.last, z.inside)
	}
}
