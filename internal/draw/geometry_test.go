package draw

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/facegate/facegate"
)

// TestGeometry: a zone's edges and a line (with its arrow head) land where their frame coordinates say, in
// their colours, and nothing is drawn far from them; points on the frame's edge are clipped, not a crash.
func TestGeometry(t *testing.T) {
	dst := image.NewRGBA(image.Rect(0, 0, 640, 360))
	grey := color.RGBA{128, 128, 128, 255}
	for i := 0; i < len(dst.Pix); i += 4 {
		dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = 128, 128, 128, 255
	}
	zone := facegate.Zone{Name: "gate", Points: []facegate.FramePoint{{X: 0.1, Y: 0.5}, {X: 0.5, Y: 0.5}, {X: 0.5, Y: 1}, {X: 0.1, Y: 1}}}
	line := facegate.Line{Name: "door", From: facegate.FramePoint{X: 0.7, Y: 0}, To: facegate.FramePoint{X: 0.7, Y: 0.4}}
	Geometry(dst, []facegate.Zone{zone}, []facegate.Line{line})
	// The zone's top edge, from x 64 to 320 at y 180 (0.5 x 359 = 179.5), and its right edge at x 319.
	for _, p := range []image.Point{{150, 180}, {250, 180}, {319, 250}, {319, 300}} {
		if !near(dst, p, zoneColor) {
			t.Errorf("zone edge at %v is %v, want %v", p, dst.RGBAAt(p.X, p.Y), zoneColor)
		}
	}
	// The line at x 447 (0.7 x 639) from y 0 to 144, and the arrow head just above its end, on both sides.
	for _, p := range []image.Point{{447, 40}, {447, 100}, {443, 136}, {451, 136}} {
		if !near(dst, p, lineColor) {
			t.Errorf("line at %v is %v, want %v", p, dst.RGBAAt(p.X, p.Y), lineColor)
		}
	}
	// Far from both (the inside of the zone, the right of the frame) stays grey.
	for _, p := range []image.Point{{200, 300}, {600, 300}, {447, 250}} {
		if got := dst.RGBAAt(p.X, p.Y); got != grey {
			t.Errorf("%v is %v, want untouched grey", p, got)
		}
	}
}

// near reports whether c is drawn at p or a pixel next to it (coordinates round either way).
func near(img *image.RGBA, p image.Point, c color.RGBA) bool {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if img.RGBAAt(p.X+dx, p.Y+dy) == c {
				return true
			}
		}
	}
	return false
}

// TestAttackGeometryDrawBounded replays the review of issue 13: the most geometry a stream may hold
// (facegate.MaxZones zones of MaxZonePoints points zigzagging corner to corner, MaxLines lines across the
// diagonal) drawn on every preview frame of a large stream. A disc per step of each segment took 15 s a frame at
// 8192x4608 and about 4 s at 4096x2304, stalling the stream's analysis while anyone watched; a run of t pixels per
// step paints each segment's length times t pixels, no more (BenchmarkGeometryWorst times it: about 0.1 s for the
// 4096x2304 frame). The lines keep their thickness, and ends that are not numbers or lie far outside the frame
// draw nothing rather than loop or crash.
func TestAttackGeometryDrawBounded(t *testing.T) {
	dst := image.NewRGBA(image.Rect(0, 0, 4096, 2304))
	zones := make([]facegate.Zone, facegate.MaxZones)
	for z := range zones {
		zones[z].Name = "z"
		for i := 0; i < facegate.MaxZonePoints; i++ {
			zones[z].Points = append(zones[z].Points, facegate.FramePoint{X: float64(i % 2), Y: float64((i / 2) % 2)})
		}
	}
	lines := make([]facegate.Line, facegate.MaxLines)
	for l := range lines {
		lines[l] = facegate.Line{Name: "l", From: facegate.FramePoint{X: 0, Y: 0}, To: facegate.FramePoint{X: 1, Y: 1}}
	}
	Geometry(dst, zones, lines)
	// The work is the length times the thickness: a diagonal of the frame, 7 pixels thick, paints at most
	// (4096+1) x 7 pixels (a disc per step painted about 3 times as many).
	if n := segment(dst, 0, 0, 4095, 2303, 7, lineColor); n > 4097*7 {
		t.Errorf("a 4096-step diagonal 7 pixels thick painted %d pixels, want at most %d", n, 4097*7)
	}
	// The zones' top edge (y 0) is thick pixels deep: max(1, 4096/640) = 6, clipped at the frame's edge to 3.
	for y := 0; y < 3; y++ {
		if got := dst.RGBAAt(2000, y); got != zoneColor {
			t.Errorf("zone edge at (2000, %d) is %v, want %v", y, got, zoneColor)
		}
	}
	// A horizontal segment in the middle of a frame is exactly t pixels thick.
	small := image.NewRGBA(image.Rect(0, 0, 100, 100))
	segment(small, 10, 50, 90, 50, 4, lineColor)
	for y := 40; y < 60; y++ {
		want := y >= 48 && y < 52
		if got := small.RGBAAt(50, y) == lineColor; got != want {
			t.Errorf("segment 4 px thick at y 50: pixel (50, %d) drawn %v, want %v", y, got, want)
		}
	}
	// Ends that are not numbers or lie far outside draw nothing and take no step outside the frame (unclipped,
	// the last two would take 1e15 and 1e12 steps: the test would not end).
	empty := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for _, s := range [][4]float64{
		{math.NaN(), 0, 50, 50}, {0, 0, math.Inf(1), 50}, {-1e15, -1e15, -1e15 + 1, 1e15}, {200, 200, 1e12, 300},
	} {
		if n := segment(empty, s[0], s[1], s[2], s[3], 3, lineColor); n != 0 {
			t.Errorf("segment %v outside the frame painted %d pixels", s, n)
		}
	}
	for i := 0; i < len(empty.Pix); i++ {
		if empty.Pix[i] != 0 {
			t.Fatalf("a segment outside the frame drew at byte %d", i)
		}
	}
}

// BenchmarkGeometryWorst draws the most geometry a stream may hold on a 4096x2304 preview frame.
func BenchmarkGeometryWorst(b *testing.B) {
	dst := image.NewRGBA(image.Rect(0, 0, 4096, 2304))
	zones := make([]facegate.Zone, facegate.MaxZones)
	for z := range zones {
		for i := 0; i < facegate.MaxZonePoints; i++ {
			zones[z].Points = append(zones[z].Points, facegate.FramePoint{X: float64(i % 2), Y: float64((i / 2) % 2)})
		}
	}
	lines := make([]facegate.Line, facegate.MaxLines)
	for l := range lines {
		lines[l] = facegate.Line{From: facegate.FramePoint{X: 0, Y: 0}, To: facegate.FramePoint{X: 1, Y: 1}}
	}
	for b.Loop() {
		Geometry(dst, zones, lines)
	}
}
