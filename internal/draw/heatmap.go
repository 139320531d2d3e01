package draw

import (
	"image"
	"image/color"

	"github.com/facegate/facegate"
)

// heatRamp is the heatmap's colour ramp, from an empty cell to the fullest: dark blue, blue, cyan, green, yellow,
// red.
var heatRamp = []color.RGBA{{10, 10, 40, 255}, {30, 60, 200, 255}, {0, 200, 220, 255}, {40, 200, 60, 255}, {250, 220, 0, 255}, {230, 30, 20, 255}}

// Heatmap renders h as an image of cell×cell pixels per grid cell, each coloured by its count relative to the
// fullest cell (linear on heatRamp; an all-empty map is all the first colour).
func Heatmap(h *facegate.Heatmap, cell int) *image.RGBA {
	cell = max(cell, 1)
	dst := image.NewRGBA(image.Rect(0, 0, h.Cols*cell, h.Rows*cell))
	top := h.Max()
	for i, v := range h.Cells {
		c := heatRamp[0]
		if top > 0 && v > 0 {
			c = rampAt(float64(v) / float64(top))
		}
		x0, y0 := (i%h.Cols)*cell, (i/h.Cols)*cell
		for y := y0; y < y0+cell; y++ {
			for x := x0; x < x0+cell; x++ {
				dst.SetRGBA(x, y, c)
			}
		}
	}
	return dst
}

// rampAt is the colour at f (0..1) along heatRamp.
func rampAt(f float64) color.RGBA {
	f = min(max(f, 0), 1) * float64(len(heatRamp)-1)
	i := min(int(f), len(heatRamp)-2)
	t := f - float64(i)
	a, b := heatRamp[i], heatRamp[i+1]
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}
