package draw

import (
	"image"
	"image/color"
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
