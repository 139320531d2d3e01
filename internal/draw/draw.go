// Package draw renders analysis results onto an image: face boxes, 68 landmarks, the five alignment points and
// a label per face.
package draw

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/imgio"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var (
	boxColor   = color.RGBA{0, 220, 90, 255}
	warnColor  = color.RGBA{255, 170, 0, 255}
	pointColor = color.RGBA{255, 40, 40, 255}
	fiveColor  = color.RGBA{40, 140, 255, 255}
	textBG     = color.RGBA{0, 0, 0, 200}
	textFG     = color.RGBA{255, 255, 255, 255}
)

// Annotate returns a copy of img with every face drawn on it. Faces with quality issues get an amber box.
func Annotate(img *imgio.Image, faces []facegate.Face) *image.RGBA {
	dst := img.ToStd()
	thick := max(1, int(math.Round(float64(max(img.W, img.H))/640)))
	for i, f := range faces {
		col := boxColor
		if len(f.Quality.Issues) > 0 {
			col = warnColor
		}
		rect(dst, int(f.Box.X1), int(f.Box.Y1), int(f.Box.X2), int(f.Box.Y2), thick, col)
		r := max(1, int(f.Box.H()/80))
		for _, p := range f.Landmarks {
			dot(dst, int(p.X), int(p.Y), r, pointColor)
		}
		for _, p := range f.Points5 {
			dot(dst, int(p.X), int(p.Y), r+1, fiveColor)
		}
		label(dst, int(f.Box.X1), int(f.Box.Y1), Label(i, f))
	}
	return dst
}

// Label is the text drawn above a face: index, detector score, quality, and attributes if any.
func Label(i int, f facegate.Face) string {
	parts := []string{fmt.Sprintf("#%d %.2f q%.2f", i, f.Score, f.Quality.Score)}
	if a := f.Attributes; a != nil {
		if a.Age != nil {
			parts = append(parts, fmt.Sprintf("age %.0f", *a.Age))
		}
		if a.Gender != "" {
			parts = append(parts, a.Gender)
		}
		if a.Expression != "" {
			parts = append(parts, a.Expression)
		}
		if a.Live != nil {
			if *a.Live {
				parts = append(parts, "live")
			} else {
				parts = append(parts, "SPOOF")
			}
		}
	}
	return strings.Join(parts, " ")
}

// SaveAnnotated draws the faces and writes the result to path, as JPEG or PNG by its extension.
func SaveAnnotated(path string, img *imgio.Image, faces []facegate.Face) error {
	out := Annotate(img, faces)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("draw: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		err = png.Encode(f, out)
	default:
		err = jpeg.Encode(f, out, &jpeg.Options{Quality: 90})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("draw: writing %s: %w", path, err)
	}
	return nil
}

func set(dst *image.RGBA, x, y int, c color.RGBA) {
	if image.Pt(x, y).In(dst.Rect) {
		dst.SetRGBA(x, y, c)
	}
}

func rect(dst *image.RGBA, x1, y1, x2, y2, t int, c color.RGBA) {
	for k := 0; k < t; k++ {
		for x := x1; x <= x2; x++ {
			set(dst, x, y1+k, c)
			set(dst, x, y2-k, c)
		}
		for y := y1; y <= y2; y++ {
			set(dst, x1+k, y, c)
			set(dst, x2-k, y, c)
		}
	}
}

func dot(dst *image.RGBA, cx, cy, r int, c color.RGBA) {
	for y := -r; y <= r; y++ {
		for x := -r; x <= r; x++ {
			if x*x+y*y <= r*r {
				set(dst, cx+x, cy+y, c)
			}
		}
	}
}

func label(dst *image.RGBA, x, y int, s string) {
	face := basicfont.Face7x13
	w := font.MeasureString(face, s).Ceil() + 4
	h := 15
	if y-h < 0 {
		y = h
	}
	if x+w > dst.Rect.Dx() {
		x = max(0, dst.Rect.Dx()-w)
	}
	for yy := y - h; yy < y; yy++ {
		for xx := x; xx < x+w; xx++ {
			if image.Pt(xx, yy).In(dst.Rect) {
				o := dst.PixOffset(xx, yy)
				for c := 0; c < 3; c++ {
					dst.Pix[o+c] = uint8((int(dst.Pix[o+c])*(255-int(textBG.A)) + int([]uint8{textBG.R, textBG.G, textBG.B}[c])*int(textBG.A)) / 255)
				}
			}
		}
	}
	d := font.Drawer{Dst: dst, Src: image.NewUniform(textFG), Face: face, Dot: fixed.P(x+2, y-3)}
	d.DrawString(s)
}

// FaceCrop returns a size×size JPEG of the square around a face box (1.3 times its larger side), or nil when the
// box lies outside the image. Thumbnails of enrolled faces and the crops of match events are made this way.
func FaceCrop(img *imgio.Image, b facegate.Box, size int) []byte {
	cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
	side := max(b.W(), b.H()) * 1.3
	r := image.Rect(int(cx-side/2), int(cy-side/2), int(cx+side/2), int(cy+side/2)).Intersect(image.Rect(0, 0, img.W, img.H))
	if r.Empty() {
		return nil
	}
	src := imgio.NewImage(r.Dx(), r.Dy())
	for y := 0; y < r.Dy(); y++ {
		copy(src.Pix[y*r.Dx()*3:(y+1)*r.Dx()*3], img.Pix[((r.Min.Y+y)*img.W+r.Min.X)*3:((r.Min.Y+y)*img.W+r.Max.X)*3])
	}
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src.ToStd(), image.Rect(0, 0, src.W, src.H), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil
	}
	return buf.Bytes()
}

// Mark is a box to draw with its label; Known marks are drawn green, the others amber.
type Mark struct {
	Box   facegate.Box
	Label string
	Known bool
}

// Marks returns a copy of img with the marks drawn on it (the annotated preview of a video stream).
func Marks(img *imgio.Image, marks []Mark) *image.RGBA {
	dst := img.ToStd()
	thick := max(1, int(math.Round(float64(max(img.W, img.H))/640)))
	for _, m := range marks {
		col := warnColor
		if m.Known {
			col = boxColor
		}
		rect(dst, int(m.Box.X1), int(m.Box.Y1), int(m.Box.X2), int(m.Box.Y2), thick, col)
		if m.Label != "" {
			label(dst, int(m.Box.X1), int(m.Box.Y1), m.Label)
		}
	}
	return dst
}
