package draw

import (
	"image"
	"image/color"
	"math"

	"github.com/facegate/facegate"
)

var (
	zoneColor = color.RGBA{0, 200, 255, 255}
	lineColor = color.RGBA{255, 60, 200, 255}
)

// Geometry draws a stream's zones (outlined polygons) and counting lines (with an arrow at To, so the operator
// sees which way is left to right) onto dst, each with its name, from their frame coordinates (0..1). The
// preview shows them so an operator can check that they lie where the crowd figures say.
func Geometry(dst *image.RGBA, zones []facegate.Zone, lines []facegate.Line) {
	w, h := float64(dst.Rect.Dx()), float64(dst.Rect.Dy())
	thick := max(1, int(math.Round(math.Max(w, h)/640)))
	at := func(p facegate.FramePoint) (float64, float64) {
		return float64(dst.Rect.Min.X) + p.X*(w-1), float64(dst.Rect.Min.Y) + p.Y*(h-1)
	}
	for _, z := range zones {
		if len(z.Points) == 0 {
			continue
		}
		for i, p := range z.Points {
			x1, y1 := at(p)
			x2, y2 := at(z.Points[(i+1)%len(z.Points)])
			segment(dst, x1, y1, x2, y2, thick, zoneColor)
		}
		x, y := at(z.Points[0])
		label(dst, int(x), int(y)+16, z.Name)
	}
	for _, l := range lines {
		x1, y1 := at(l.From)
		x2, y2 := at(l.To)
		segment(dst, x1, y1, x2, y2, thick+1, lineColor)
		// The arrow head at To: two strokes back along the line, 25 degrees either side.
		if d := math.Hypot(x2-x1, y2-y1); d > 0 {
			a := math.Atan2(y2-y1, x2-x1)
			n := math.Min(12*float64(thick), d/3)
			for _, s := range []float64{-1, 1} {
				b := a + math.Pi - s*25*math.Pi/180
				segment(dst, x2, y2, x2+n*math.Cos(b), y2+n*math.Sin(b), thick+1, lineColor)
			}
		}
		label(dst, int(x1), int(y1), l.Name)
	}
}

// segment draws a straight line t pixels thick from (x1, y1) to (x2, y2), clipped to dst.
func segment(dst *image.RGBA, x1, y1, x2, y2 float64, t int, c color.RGBA) {
	n := int(math.Ceil(math.Max(math.Abs(x2-x1), math.Abs(y2-y1))))
	r := t / 2
	for i := 0; i <= n; i++ {
		f := 0.0
		if n > 0 {
			f = float64(i) / float64(n)
		}
		x, y := int(math.Round(x1+f*(x2-x1))), int(math.Round(y1+f*(y2-y1)))
		if r == 0 {
			set(dst, x, y, c)
			continue
		}
		dot(dst, x, y, r, c)
	}
}
