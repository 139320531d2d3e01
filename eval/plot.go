package eval

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Curve is one named ROC curve for PlotROC.
type Curve struct {
	// Name is shown in the legend; an empty name becomes "curve N".
	Name string
	// Points are ROC operating points, in any order (see ROC).
	Points []ROCPoint
}

// Plot size limits accepted by PlotROC, in pixels.
const (
	MinPlotWidth  = 240
	MinPlotHeight = 180
	MaxPlotSize   = 4096
)

// The FAR axis spans 10^minLogFAR .. 10^0.
const minLogFAR = -4

var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colGridMajor  = color.RGBA{214, 214, 214, 255}
	colGridMinor  = color.RGBA{238, 238, 238, 255}
	colAxis       = color.RGBA{60, 60, 60, 255}
	colText       = color.RGBA{30, 30, 30, 255}
	colLegendEdge = color.RGBA{170, 170, 170, 255}

	// curveColors is the palette PlotROC cycles through, one colour per
	// curve in order (matplotlib's "tab10").
	curveColors = []color.RGBA{
		{31, 119, 180, 255},  // blue
		{214, 39, 40, 255},   // red
		{44, 160, 44, 255},   // green
		{255, 127, 14, 255},  // orange
		{148, 103, 189, 255}, // purple
		{140, 86, 75, 255},   // brown
		{227, 119, 194, 255}, // pink
		{127, 127, 127, 255}, // grey
		{188, 189, 34, 255},  // olive
		{23, 190, 207, 255},  // cyan
	}
)

// PlotROC draws ROC curves, TAR against FAR with FAR on a log10 axis from
// 1e-4 to 1, and writes the chart to w as a width x height PNG, with grid,
// tick labels, axis titles, the given title and a legend. Curves are drawn
// with 2-pixel lines in a fixed 10-colour palette (matplotlib's tab10: blue,
// red, green, orange, purple, ... in curve order, repeating after ten).
// Each curve's points are joined in order of increasing FAR, each segment
// following the linear interpolation between its two operating points
// (which bends on the log axis). Operating points with FAR below 1e-4 are drawn on the left edge;
// points with a NaN rate are skipped. The size must lie within
// [MinPlotWidth, MaxPlotSize] x [MinPlotHeight, MaxPlotSize].
func PlotROC(w io.Writer, title string, curves []Curve, width, height int) error {
	img, err := newCanvas(width, height)
	if err != nil {
		return err
	}

	face := basicfont.Face7x13
	const (
		charW  = 7
		lineH  = 13
		ascent = 11
	)
	// Plot area [x0, x1] x [y0, y1], inclusive.
	x0, x1 := 66, width-24
	y0, y1 := 34, height-48
	if title == "" {
		y0 = 16
	}
	ax := axes{x0: float64(x0), y1: float64(y1), pw: float64(x1 - x0), ph: float64(y1 - y0)}
	mapX, mapY, ph := ax.mapX, ax.mapY, ax.ph

	// Grid: minor lines at 2..9 x 10^k and every 0.1 of TAR, major lines at
	// the decades and the labelled TAR ticks.
	yStep := 0.1
	switch {
	case ph/10 < 16 && ph/5 >= 16:
		yStep = 0.2
	case ph/10 < 16:
		yStep = 0.5
	}
	for e := minLogFAR; e < 0; e++ {
		for m := 2; m <= 9; m++ {
			x := int(math.Round(mapX(float64(m) * math.Pow(10, float64(e)))))
			vline(img, x, y0, y1, colGridMinor)
		}
	}
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		c := colGridMinor
		if isMultiple(v, yStep) {
			c = colGridMajor
		}
		hline(img, x0, x1, int(math.Round(mapY(v))), c)
	}
	for e := minLogFAR; e <= 0; e++ {
		vline(img, int(math.Round(mapX(math.Pow(10, float64(e))))), y0, y1, colGridMajor)
	}

	// Frame and ticks.
	hline(img, x0, x1, y0, colAxis)
	hline(img, x0, x1, y1, colAxis)
	vline(img, x0, y0, y1, colAxis)
	vline(img, x1, y0, y1, colAxis)

	text := &font.Drawer{Dst: img, Src: image.NewUniform(colText), Face: face}
	drawText := func(s string, x, baseline int) {
		text.Dot = fixed.P(x, baseline)
		text.DrawString(s)
	}
	textW := func(s string) int { return font.MeasureString(face, s).Round() }

	xLabels := []string{"1e-4", "1e-3", "0.01", "0.1", "1"}
	for i, lab := range xLabels {
		x := int(math.Round(mapX(math.Pow(10, float64(minLogFAR+i)))))
		vline(img, x, y1, y1+4, colAxis)
		drawText(lab, x-textW(lab)/2, y1+6+ascent)
	}
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		if !isMultiple(v, yStep) {
			continue
		}
		y := int(math.Round(mapY(v)))
		hline(img, x0-4, x0, y, colAxis)
		lab := fmt.Sprintf("%.1f", v)
		drawText(lab, x0-7-textW(lab), y+ascent/2)
	}

	// Axis titles and chart title.
	// fit returns the first of the candidate labels that fits in n pixels.
	fit := func(n int, labels ...string) string {
		for _, l := range labels {
			if textW(l) <= n {
				return l
			}
		}
		return labels[len(labels)-1]
	}
	xTitle := fit(x1-x0, "False accept rate (FAR, log scale)", "FAR (log scale)", "FAR")
	drawText(xTitle, x0+(x1-x0-textW(xTitle))/2, y1+6+ascent+lineH+6)
	yTitle := fit(y1-y0, "True accept rate (TAR)", "TAR")
	drawRotated(img, yTitle, 8, y0+(y1-y0+textW(yTitle))/2, face, colText)
	if title != "" {
		if maxChars := (width - 16) / charW; len([]rune(title)) > maxChars {
			title = string([]rune(title)[:max(maxChars-3, 0)]) + "..."
		}
		tx := (width - textW(title)) / 2
		// Draw twice, one pixel apart, for a bold title.
		drawText(title, tx, 10+ascent)
		drawText(title, tx+1, 10+ascent)
	}

	// Curves, clipped to the plot area (plus one pixel for the 2 px pen).
	plot := img.SubImage(image.Rect(x0-1, y0-1, x1+2, y1+2)).(*image.RGBA)
	for i, c := range curves {
		col := curveColors[i%len(curveColors)]
		drawCurve(plot, c.Points, ax, col)
	}

	// Legend in the lower right corner of the plot area.
	if len(curves) > 0 {
		names := make([]string, len(curves))
		maxChars := max((x1-x0-60)/charW, 4)
		longest := 0
		for i, c := range curves {
			name := c.Name
			if name == "" {
				name = fmt.Sprintf("curve %d", i+1)
			}
			if r := []rune(name); len(r) > maxChars {
				name = string(r[:maxChars-3]) + "..."
			}
			names[i] = name
			longest = max(longest, textW(name))
		}
		const entryH, sample, pad = 17, 22, 8
		bw := pad + sample + 6 + longest + pad
		bh := pad/2 + entryH*len(names) + pad/2
		bx, by := x1-bw-10, y1-bh-10
		box := image.Rect(bx, by, bx+bw, by+bh)
		draw.Draw(img, box, image.NewUniform(colBackground), image.Point{}, draw.Src)
		hline(img, box.Min.X, box.Max.X-1, box.Min.Y, colLegendEdge)
		hline(img, box.Min.X, box.Max.X-1, box.Max.Y-1, colLegendEdge)
		vline(img, box.Min.X, box.Min.Y, box.Max.Y-1, colLegendEdge)
		vline(img, box.Max.X-1, box.Min.Y, box.Max.Y-1, colLegendEdge)
		for i, name := range names {
			cy := by + pad/2 + entryH*i + entryH/2
			col := curveColors[i%len(curveColors)]
			thickLine(img, bx+pad, cy, bx+pad+sample, cy, col)
			drawText(name, bx+pad+sample+6, cy+ascent/2)
		}
	}

	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("eval: encode ROC plot: %w", err)
	}
	return nil
}

// isMultiple reports whether v is (within rounding) an integer multiple of
// step.
func isMultiple(v, step float64) bool {
	q := v / step
	return math.Abs(q-math.Round(q)) < 1e-9
}

// axes maps rates to pixel coordinates: FAR 10^minLogFAR..1 onto x0..x0+pw
// (log scale), TAR 0..1 onto y1..y1-ph.
type axes struct{ x0, y1, pw, ph float64 }

func (a axes) mapX(far float64) float64 {
	lx := math.Log10(min(max(far, math.Pow(10, minLogFAR)), 1))
	return a.x0 + (lx-minLogFAR)/-minLogFAR*a.pw
}

func (a axes) mapY(tar float64) float64 {
	return a.y1 - min(max(tar, 0), 1)*a.ph
}

// farAt is the inverse of mapX.
func (a axes) farAt(x float64) float64 {
	return math.Pow(10, minLogFAR+(x-a.x0)/a.pw*-minLogFAR)
}

// drawCurve draws the polyline through pts (sorted by FAR, then TAR).
func drawCurve(img *image.RGBA, pts []ROCPoint, ax axes, col color.RGBA) {
	ps := make([]ROCPoint, 0, len(pts))
	for _, p := range pts {
		if !math.IsNaN(p.FAR) && !math.IsNaN(p.TAR) {
			ps = append(ps, ROCPoint{FAR: min(max(p.FAR, 0), 1), TAR: min(max(p.TAR, 0), 1)})
		}
	}
	slices.SortStableFunc(ps, func(a, b ROCPoint) int {
		if c := cmp.Compare(a.FAR, b.FAR); c != 0 {
			return c
		}
		return cmp.Compare(a.TAR, b.TAR)
	})
	if len(ps) == 0 {
		return
	}
	px := func(p ROCPoint) (int, int) {
		return int(math.Round(ax.mapX(p.FAR))), int(math.Round(ax.mapY(p.TAR)))
	}
	cx, cy := px(ps[0])
	if len(ps) == 1 {
		thickLine(img, cx, cy, cx, cy, col)
		return
	}
	for i := 1; i < len(ps); i++ {
		p, q := ps[i-1], ps[i]
		qx, qy := px(q)
		if qx == cx && qy == cy {
			continue
		}
		if p.FAR == q.FAR || p.TAR == q.TAR || qx-cx < 2 {
			thickLine(img, cx, cy, qx, qy, col)
			cx, cy = qx, qy
			continue
		}
		// Both rates change: follow the straight segment of linear ROC
		// space, which is curved on the log FAR axis, column by column.
		for x := cx + 1; x <= qx; x++ {
			far := q.FAR
			if x < qx {
				far = ax.farAt(float64(x))
			}
			u := min(max((far-p.FAR)/(q.FAR-p.FAR), 0), 1)
			y := int(math.Round(ax.mapY(p.TAR + u*(q.TAR-p.TAR))))
			thickLine(img, cx, cy, x, y, col)
			cx, cy = x, y
		}
		cx, cy = qx, qy
	}
}

// thickLine draws a 2-pixel-wide line from (x0, y0) to (x1, y1) with
// Bresenham's algorithm. Pixels outside img's bounds are dropped.
func thickLine(img *image.RGBA, x0, y0, x1, y1 int, col color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, col)
		img.SetRGBA(x0+1, y0, col)
		img.SetRGBA(x0, y0+1, col)
		img.SetRGBA(x0+1, y0+1, col)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// hline draws a 1-pixel horizontal line from x0 to x1 inclusive.
func hline(img *image.RGBA, x0, x1, y int, col color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, col)
	}
}

// vline draws a 1-pixel vertical line from y0 to y1 inclusive.
func vline(img *image.RGBA, x, y0, y1 int, col color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, col)
	}
}

// drawRotated draws s rotated a quarter turn anticlockwise (reading bottom
// to top), with the top-left corner of the rotated text at (x, yBottom) -
// (0, width of s): the text starts at yBottom and runs upwards.
func drawRotated(dst *image.RGBA, s string, x, yBottom int, face font.Face, col color.RGBA) {
	w := font.MeasureString(face, s).Ceil()
	m := face.Metrics()
	h := (m.Ascent + m.Descent).Ceil()
	if w <= 0 || h <= 0 {
		return
	}
	tmp := image.NewAlpha(image.Rect(0, 0, w, h))
	d := &font.Drawer{Dst: tmp, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{X: 0, Y: m.Ascent}}
	d.DrawString(s)
	for sy := 0; sy < h; sy++ {
		for sx := 0; sx < w; sx++ {
			if tmp.AlphaAt(sx, sy).A >= 128 {
				dst.SetRGBA(x+sy, yBottom-sx, col)
			}
		}
	}
}

// newCanvas checks a plot's size and returns a canvas of that size filled with the background colour.
func newCanvas(width, height int) (*image.RGBA, error) {
	if width < MinPlotWidth || height < MinPlotHeight || width > MaxPlotSize || height > MaxPlotSize {
		return nil, fmt.Errorf("eval: plot size %dx%d outside %dx%d .. %dx%d",
			width, height, MinPlotWidth, MinPlotHeight, MaxPlotSize, MaxPlotSize)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)
	return img, nil
}
