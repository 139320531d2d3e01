package eval

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// PlotPR draws a precision-recall curve (both axes linear, 0 to 1) and writes it to w as a width x height PNG
// with grid, tick labels, axis titles and the title. Points are joined in the order given (descending score, as
// SummarizeDetection makes them), starting from recall 0 at the first point's precision. The size limits are
// PlotROC's.
func PlotPR(w io.Writer, title string, pts []PRPoint, width, height int) error {
	img, err := newCanvas(width, height)
	if err != nil {
		return err
	}
	face := basicfont.Face7x13
	const ascent = 11
	x0, x1 := 56, width-24
	y0, y1 := 34, height-48
	mapX := func(r float64) int { return x0 + int(math.Round(r*float64(x1-x0))) }
	mapY := func(p float64) int { return y1 - int(math.Round(p*float64(y1-y0))) }
	text := &font.Drawer{Dst: img, Src: image.NewUniform(colText), Face: face}
	drawText := func(s string, x, baseline int) {
		text.Dot = fixed.P(x, baseline)
		text.DrawString(s)
	}
	textW := func(s string) int { return font.MeasureString(face, s).Round() }
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		c := colGridMinor
		if i%2 == 0 {
			c = colGridMajor
		}
		vline(img, mapX(v), y0, y1, c)
		hline(img, x0, x1, mapY(v), c)
		if i%2 == 0 {
			lab := fmt.Sprintf("%.1f", v)
			drawText(lab, mapX(v)-textW(lab)/2, y1+6+ascent)
			drawText(lab, x0-7-textW(lab), mapY(v)+ascent/2)
		}
	}
	hline(img, x0, x1, y0, colAxis)
	hline(img, x0, x1, y1, colAxis)
	vline(img, x0, y0, y1, colAxis)
	vline(img, x1, y0, y1, colAxis)
	drawText("Recall", x0+(x1-x0-textW("Recall"))/2, y1+6+ascent+19)
	drawRotated(img, "Precision", 8, y0+(y1-y0+textW("Precision"))/2, face, colText)
	if title != "" {
		if maxChars := (width - 16) / 7; len([]rune(title)) > maxChars {
			title = string([]rune(title)[:max(maxChars-3, 0)]) + "..."
		}
		drawText(title, (width-textW(title))/2, 10+ascent)
		drawText(title, (width-textW(title))/2+1, 10+ascent)
	}
	plot := img.SubImage(image.Rect(x0-1, y0-1, x1+2, y1+2)).(*image.RGBA)
	col := curveColors[0]
	if len(pts) > 0 {
		px, py := mapX(0), mapY(pts[0].Precision)
		for _, p := range pts {
			if math.IsNaN(p.Recall) || math.IsNaN(p.Precision) {
				continue
			}
			x, y := mapX(p.Recall), mapY(p.Precision)
			thickLine(plot, px, py, x, y, col)
			px, py = x, y
		}
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("eval: encode PR plot: %w", err)
	}
	return nil
}
