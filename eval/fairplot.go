package eval

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// RateSeries is one kind of bar in a BarChart, for instance the FMR of every
// group.
type RateSeries struct {
	// Name is shown in the legend; an empty name becomes "series N".
	Name string
	// Rates holds one rate per group, in the order of BarChart.Groups;
	// missing entries count as rates with no trials.
	Rates []Rate
}

// BarChart is a grouped bar chart of rates with 95% interval whiskers, for
// PlotRates.
type BarChart struct {
	// Title is drawn in bold at the top.
	Title string
	// Groups names the clusters of bars, left to right.
	Groups []string
	// Series are the bars of each cluster, left to right, coloured in the
	// order of PlotROC's palette (blue, red, green, ...).
	Series []RateSeries
	// MinTotal marks rates with fewer trials as insufficient: their bars
	// are drawn in a pale tint and the legend explains the tint. 0 marks
	// nothing.
	MinTotal int
	// YTitle is the vertical axis title; empty means "error rate (log
	// scale)".
	YTitle string
}

// PlotRates draws c as a PNG of width x height pixels and writes it to w.
//
// The vertical axis is logarithmic, from the decade below the smallest
// positive rate or interval bound (at least 1e-6, at most 0.1) up to 1. Each
// rate is a bar from the bottom of the axis up to the rate, with a whisker
// spanning its 95% interval and, where there is room, its value above; a
// rate of 0 is drawn as a short stub on the axis and labelled "0", and a
// rate with no trials as the text "n/a". Under each cluster are the group's
// name and the trial counts of its series ("n=380/140"). The size must lie
// within [MinPlotWidth, MaxPlotSize] x [MinPlotHeight, MaxPlotSize].
func PlotRates(w io.Writer, c BarChart, width, height int) error {
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
	text := &font.Drawer{Dst: img, Src: image.NewUniform(colText), Face: face}
	drawText := func(s string, x, baseline int) {
		text.Dot = fixed.P(x, baseline)
		text.DrawString(s)
	}
	textW := func(s string) int { return font.MeasureString(face, s).Round() }
	clip := func(s string, px int) string {
		r := []rune(s)
		n := px / charW
		if len(r) <= n {
			return s
		}
		if n < 4 {
			return string(r[:max(n, 0)])
		}
		return string(r[:n-3]) + "..."
	}

	// Title and legend rows, plot area [x0, x1] x [y0, y1], two label rows
	// under it.
	top := 8
	title := c.Title
	if title != "" {
		title = clip(title, width-16)
		tx := (width - textW(title)) / 2
		drawText(title, tx, top+ascent)
		drawText(title, tx+1, top+ascent)
		top += lineH + 8
	}
	x0, x1 := 66, width-16
	legendY := top
	y0, y1 := top+lineH+14, height-2*lineH-14

	// Legend: one swatch per series, then the tint of insufficient bars.
	lx := x0
	pale := false
	for i, s := range c.Series {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("series %d", i+1)
		}
		col := curveColors[i%len(curveColors)]
		fillRect(img, lx, legendY+2, lx+12, legendY+lineH-1, col)
		drawText(name, lx+17, legendY+ascent)
		lx += 17 + textW(name) + 16
		for _, r := range s.Rates {
			if r.Total > 0 && r.Total < c.MinTotal {
				pale = true
			}
		}
	}
	if pale {
		note := fmt.Sprintf("pale: fewer than %d trials", c.MinTotal)
		if lx+17+textW(note) <= width-4 {
			fillRect(img, lx, legendY+2, lx+12, legendY+lineH-1, paleOf(curveColors[0]))
			drawText(note, lx+17, legendY+ascent)
		}
	}

	// Vertical range: decades lo .. 0.
	minPos := math.Inf(1)
	for _, s := range c.Series {
		for _, r := range s.Rates {
			for _, v := range []float64{r.Rate, r.Low, r.High} {
				if v > 0 && v < minPos {
					minPos = v
				}
			}
		}
	}
	lo := -4
	if !math.IsInf(minPos, 1) {
		lo = min(max(int(math.Floor(math.Log10(minPos))), -6), -1)
	}
	mapY := func(v float64) int {
		if !(v > 0) {
			return y1
		}
		l := min(max(math.Log10(v), float64(lo)), 0)
		return y1 - int(math.Round((l-float64(lo))/float64(-lo)*float64(y1-y0)))
	}

	// Grid, frame and tick labels.
	for e := lo; e < 0; e++ {
		for m := 2; m <= 9; m++ {
			hline(img, x0, x1, mapY(float64(m)*math.Pow(10, float64(e))), colGridMinor)
		}
	}
	for e := lo; e <= 0; e++ {
		y := mapY(math.Pow(10, float64(e)))
		hline(img, x0, x1, y, colGridMajor)
		hline(img, x0-4, x0, y, colAxis)
		lab := decadeLabel(e)
		drawText(lab, x0-7-textW(lab), y+ascent/2)
	}
	hline(img, x0, x1, y0, colAxis)
	hline(img, x0, x1, y1, colAxis)
	vline(img, x0, y0, y1, colAxis)
	vline(img, x1, y0, y1, colAxis)
	yTitle := c.YTitle
	if yTitle == "" {
		yTitle = "error rate (log scale)"
	}
	if textW(yTitle) > y1-y0 {
		yTitle = clip(yTitle, y1-y0)
	}
	drawRotated(img, yTitle, 8, y0+(y1-y0+textW(yTitle))/2, face, colText)

	// Bars.
	n, k := len(c.Groups), len(c.Series)
	if n == 0 || k == 0 {
		return encodePNG(w, img)
	}
	cw := float64(x1-x0-2) / float64(n)
	bw := max(int(math.Min(cw*0.8/float64(k), 64)), 1)
	for gi, g := range c.Groups {
		cx := float64(x0+1) + cw*(float64(gi)+0.5)
		left := int(math.Round(cx)) - bw*k/2
		var counts []string
		for si, s := range c.Series {
			r := Rate{Low: 0, High: 1}
			if gi < len(s.Rates) {
				r = s.Rates[gi]
			}
			counts = append(counts, strconv.Itoa(r.Total))
			bx := left + si*bw
			bx0, bx1 := bx+1, bx+bw-1
			if bw < 4 {
				bx0, bx1 = bx, bx+bw-1
			}
			mid := (bx0 + bx1) / 2
			if r.Total == 0 {
				if textW("n/a") <= bw+4 {
					drawText("n/a", mid-textW("n/a")/2, y1-4)
				}
				continue
			}
			col := curveColors[si%len(curveColors)]
			if r.Total < c.MinTotal {
				col = paleOf(col)
			}
			yTop := mapY(r.Rate)
			if r.Rate <= 0 || yTop > y1-3 {
				yTop = y1 - 3 // stub for 0 (and rates below the axis)
			}
			fillRect(img, bx0, yTop, bx1, y1-1, col)
			// Whisker over the interval, with caps.
			yLo, yHi := mapY(r.Low), mapY(r.High)
			vline(img, mid, yHi, yLo, colAxis)
			capW := max((bx1-bx0)/4, 1)
			hline(img, mid-capW, mid+capW, yHi, colAxis)
			if r.Low > 0 {
				hline(img, mid-capW, mid+capW, yLo, colAxis)
			}
			lab := rateLabel(r.Rate)
			if textW(lab) <= bw+2 {
				yl := min(yTop, yHi) - 3
				if yl-ascent < y0 {
					yl = y0 + ascent + 2
				}
				lx := mid - textW(lab)/2
				fillRect(img, lx-1, yl-ascent+1, lx+textW(lab), yl+1, colBackground)
				drawText(lab, lx, yl)
			}
		}
		// Group name and counts under the cluster.
		room := int(cw) - 4
		name := clip(g, room)
		drawText(name, int(math.Round(cx))-textW(name)/2, y1+6+ascent)
		cnt := "n=" + strings.Join(counts, "/")
		if textW(cnt) <= room {
			drawText(cnt, int(math.Round(cx))-textW(cnt)/2, y1+6+ascent+lineH)
		}
	}
	return encodePNG(w, img)
}

// PlotFairness draws the FMR and FNMR of each group of r at its threshold
// (in the title, after title if not empty) with PlotRates; groups below
// r.MinPairs on a rate are drawn pale.
func PlotFairness(w io.Writer, r FairnessReport, title string, width, height int) error {
	c := BarChart{Title: withThreshold(title, "FMR and FNMR per group", r.Threshold), MinTotal: r.MinPairs}
	fmr := RateSeries{Name: "FMR (impostor pairs in group)"}
	fnmr := RateSeries{Name: "FNMR (genuine pairs)"}
	for _, g := range r.Groups {
		c.Groups = append(c.Groups, g.Group)
		fmr.Rates = append(fmr.Rates, g.FMR)
		fnmr.Rates = append(fnmr.Rates, g.FNMR)
	}
	c.Series = []RateSeries{fmr, fnmr}
	return PlotRates(w, c, width, height)
}

// PlotIdentFairness draws the FPIR and FNIR of each group of r at its
// threshold (in the title, after title if not empty) with PlotRates.
func PlotIdentFairness(w io.Writer, r IdentFairnessReport, title string, width, height int) error {
	c := BarChart{Title: withThreshold(title, "FPIR and FNIR per group", r.Threshold), MinTotal: r.MinPairs}
	fpir := RateSeries{Name: "FPIR"}
	fnir := RateSeries{Name: "FNIR"}
	for _, g := range r.Groups {
		c.Groups = append(c.Groups, g.Group)
		fpir.Rates = append(fpir.Rates, g.FPIR)
		fnir.Rates = append(fnir.Rates, g.FNIR)
	}
	c.Series = []RateSeries{fpir, fnir}
	return PlotRates(w, c, width, height)
}

func withThreshold(title, def string, t float64) string {
	if title == "" {
		title = def
	}
	return fmt.Sprintf("%s at threshold %.4f", title, t)
}

func encodePNG(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("eval: encode bar chart: %w", err)
	}
	return nil
}

// fillRect fills [x0, x1] x [y0, y1], inclusive.
func fillRect(img *image.RGBA, x0, y0, x1, y1 int, col color.RGBA) {
	draw.Draw(img, image.Rect(x0, y0, x1+1, y1+1), image.NewUniform(col), image.Point{}, draw.Src)
}

// paleOf mixes col with 60% white.
func paleOf(col color.RGBA) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v)*2 + 255*3) / 5) }
	return color.RGBA{mix(col.R), mix(col.G), mix(col.B), 255}
}

// decadeLabel labels 10^e.
func decadeLabel(e int) string {
	if e >= -2 {
		return strconv.FormatFloat(math.Pow(10, float64(e)), 'g', -1, 64)
	}
	return fmt.Sprintf("1e%d", e)
}

// rateLabel formats a rate compactly: 0, 0.12, 0.0031, 4.2e-05.
func rateLabel(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
