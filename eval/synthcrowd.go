package eval

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	xdraw "golang.org/x/image/draw"
)

// SynthFace is a source face for SynthCrowd: a photo with exactly one face, and that face's box.
type SynthFace struct {
	Img image.Image
	Box BoxXYWH
}

// SynthBackground is a source scene for SynthCrowd: a photo and the boxes of every face in it, which the
// background crops keep away from.
type SynthBackground struct {
	Img   image.Image
	Faces []BoxXYWH
}

// SynthConfig says how SynthCrowd composes its images. Zero fields take the defaults in brackets.
type SynthConfig struct {
	Images        int   // images to write [20]
	Seed          int64 // the same seed and sources give the same images
	Width, Height int   // image size [1280 x 720]
	// MinFaces and MaxFaces bound the faces pasted into one image [12, 30].
	MinFaces, MaxFaces int
	// MinFaceH and MaxFaceH bound the pasted faces' height in pixels [8, 64].
	MinFaceH, MaxFaceH float64
}

func (c SynthConfig) withDefaults() SynthConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Images, 20)
	def(&c.Width, 1280)
	def(&c.Height, 720)
	def(&c.MinFaces, 12)
	def(&c.MaxFaces, 30)
	if c.MinFaceH <= 0 {
		c.MinFaceH = 8
	}
	if c.MaxFaceH <= 0 {
		c.MaxFaceH = 64
	}
	return c
}

// Limits of SynthCrowd's configuration.
const (
	MaxSynthImages = 10000
	maxSynthSide   = 4096
	// MaxSynthFaces bounds the faces tried in one image: each is placed with up to 50 tries against every face
	// already placed, so a count of 2 billion (accepted before) ran without end.
	MaxSynthFaces = 1000
)

// Check reports the first setting of c (its zero fields taking their defaults) out of SynthCrowd's bounds, so
// that a command can refuse it before loading any source.
func (c SynthConfig) Check() error {
	c = c.withDefaults()
	switch {
	case c.Images > MaxSynthImages:
		return fmt.Errorf("eval: at most %d synthetic images", MaxSynthImages)
	case c.Width < 64 || c.Height < 64 || c.Width > maxSynthSide || c.Height > maxSynthSide:
		return fmt.Errorf("eval: synthetic image size %dx%d outside 64..%d", c.Width, c.Height, maxSynthSide)
	case c.MaxFaces > MaxSynthFaces:
		return fmt.Errorf("eval: at most %d faces per synthetic image (asked for %d)", MaxSynthFaces, c.MaxFaces)
	case c.MinFaces > c.MaxFaces || c.MinFaceH > c.MaxFaceH || c.MinFaceH < 4:
		return errors.New("eval: synthetic face count or size range is empty (or faces under 4 px)")
	}
	return nil
}

// synthContext is how much of the source photo around a face box is pasted (with a feathered edge): the box
// grown by this factor, so the face keeps its hair, ears and chin.
const synthContext = 1.6

// SynthCrowd composes cfg.Images labelled crowd images into dir: faces from faces, scaled to cfg.MinFaceH ..
// cfg.MaxFaceH pixels high (log-uniformly: each octave of sizes gets as many faces), pasted with a feathered edge at free places of a crop of a background scene that
// keeps away from the scene's own faces, each face with its own lighting and blur, each image with its own
// overall lighting and JPEG quality (35 to 95). It writes crowd_NNNN.jpg, labels.csv (path,x,y,w,h) and
// labels.txt (WIDER FACE "# path" layout) and returns the labels. Image i depends only on the seed, i and the
// sources, so the same call gives the same files.
func SynthCrowd(dir string, cfg SynthConfig, faces []SynthFace, bgs []SynthBackground) ([]LabelledImage, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if len(faces) == 0 || len(bgs) == 0 {
		return nil, errors.New("eval: synthetic crowds need at least one face and one background")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	out := make([]LabelledImage, 0, cfg.Images)
	for i := 0; i < cfg.Images; i++ {
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))
		img, boxes, err := synthOne(rng, cfg, faces, bgs)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("crowd_%04d.jpg", i)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 35 + rng.IntN(61)}); err != nil {
			return nil, fmt.Errorf("eval: encode %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		li := LabelledImage{Path: name}
		for _, b := range boxes {
			li.Faces = append(li.Faces, TruthBox{Box: b})
		}
		out = append(out, li)
	}
	return out, writeSynthLabels(dir, out)
}

// writeSynthLabels writes the labels as labels.csv and labels.txt.
func writeSynthLabels(dir string, imgs []LabelledImage) error {
	var c, w bytes.Buffer
	cw := csv.NewWriter(&c)
	_ = cw.Write([]string{"path", "x", "y", "w", "h"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, im := range imgs {
		fmt.Fprintf(&w, "# %s\n", im.Path)
		for _, t := range im.Faces {
			b := t.Box
			_ = cw.Write([]string{im.Path, f(b.X), f(b.Y), f(b.W), f(b.H)})
			fmt.Fprintf(&w, "%s %s %s %s\n", f(b.X), f(b.Y), f(b.W), f(b.H))
		}
	}
	cw.Flush()
	if err := os.WriteFile(filepath.Join(dir, "labels.csv"), c.Bytes(), 0o644); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), w.Bytes(), 0o644); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

func synthOne(rng *rand.Rand, cfg SynthConfig, faces []SynthFace, bgs []SynthBackground) (*image.RGBA, []BoxXYWH, error) {
	canvas := image.NewRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	var crop image.Rectangle
	var bg SynthBackground
	for try := 0; try < 400 && crop.Empty(); try++ {
		bg = bgs[rng.IntN(len(bgs))]
		crop = faceFreeCrop(rng, bg, float64(cfg.Width)/float64(cfg.Height))
	}
	if crop.Empty() {
		return nil, nil, errors.New("eval: no background has a face-free region of the image's shape")
	}
	xdraw.ApproxBiLinear.Scale(canvas, canvas.Bounds(), bg.Img, crop, xdraw.Src, nil)
	light(canvas, canvas.Bounds(), 0.6+0.6*rng.Float64())

	n := cfg.MinFaces + rng.IntN(cfg.MaxFaces-cfg.MinFaces+1)
	var placed []image.Rectangle
	var boxes []BoxXYWH
	for k := 0; k < n; k++ {
		f := faces[rng.IntN(len(faces))]
		// Log-uniform heights: as many faces from 8 to 16 px as from 16 to 32 and from 32 to 64.
		h := cfg.MinFaceH * math.Pow(cfg.MaxFaceH/cfg.MinFaceH, rng.Float64())
		s := h / f.Box.H
		cx, cy := f.Box.X+f.Box.W/2, f.Box.Y+f.Box.H/2
		half := synthContext * math.Max(f.Box.W, f.Box.H) / 2
		src := image.Rect(int(cx-half), int(cy-half), int(math.Ceil(cx+half)), int(math.Ceil(cy+half))).Intersect(f.Img.Bounds())
		dw, dh := int(math.Round(float64(src.Dx())*s)), int(math.Round(float64(src.Dy())*s))
		if dw < 2 || dh < 2 || dw >= cfg.Width || dh >= cfg.Height {
			continue
		}
		var at image.Rectangle
		for try := 0; try < 50; try++ {
			r := image.Rect(0, 0, dw, dh).Add(image.Pt(rng.IntN(cfg.Width-dw), rng.IntN(cfg.Height-dh)))
			free := true
			for _, p := range placed {
				if p.Overlaps(r) {
					free = false
					break
				}
			}
			if free {
				at = r
				break
			}
		}
		if at.Empty() {
			continue
		}
		// Scale the patch, then light and blur it, then blend it in with an elliptical feathered edge.
		patch := image.NewRGBA(image.Rect(0, 0, dw, dh))
		xdraw.CatmullRom.Scale(patch, patch.Bounds(), f.Img, src, xdraw.Src, nil)
		light(patch, patch.Bounds(), 0.5+0.8*rng.Float64())
		if rng.IntN(5) < 2 {
			boxBlur(patch, 1+rng.IntN(max(1, dh/24)))
		}
		blendFeathered(canvas, patch, at.Min)
		placed = append(placed, at)
		// The face box in canvas coordinates: the same scale and shift as the patch (sx, sy exact per axis).
		sx, sy := float64(dw)/float64(src.Dx()), float64(dh)/float64(src.Dy())
		boxes = append(boxes, BoxXYWH{
			X: float64(at.Min.X) + (f.Box.X-float64(src.Min.X))*sx,
			Y: float64(at.Min.Y) + (f.Box.Y-float64(src.Min.Y))*sy,
			W: f.Box.W * sx, H: f.Box.H * sy,
		})
	}
	return canvas, boxes, nil
}

// faceFreeCrop picks a crop of bg with the given aspect ratio that keeps clear of every face box grown by half
// its size on each side, at least a third as wide as the photo; empty when random tries find none.
func faceFreeCrop(rng *rand.Rand, bg SynthBackground, aspect float64) image.Rectangle {
	b := bg.Img.Bounds()
	for try := 0; try < 60; try++ {
		w := float64(b.Dx()) * (0.34 + 0.66*rng.Float64())
		h := w / aspect
		if h > float64(b.Dy()) {
			h = float64(b.Dy()) * (0.34 + 0.66*rng.Float64())
			w = h * aspect
		}
		if w < 32 || h < 32 || w > float64(b.Dx()) {
			continue
		}
		x := float64(b.Min.X) + rng.Float64()*(float64(b.Dx())-w)
		y := float64(b.Min.Y) + rng.Float64()*(float64(b.Dy())-h)
		r := BoxXYWH{x, y, w, h}
		clear := true
		for _, f := range bg.Faces {
			g := BoxXYWH{f.X - f.W/2, f.Y - f.H/2, 2 * f.W, 2 * f.H}
			if r.X < g.X+g.W && g.X < r.X+r.W && r.Y < g.Y+g.H && g.Y < r.Y+r.H {
				clear = false
				break
			}
		}
		if clear {
			return image.Rect(int(x), int(y), int(x+w), int(y+h))
		}
	}
	return image.Rectangle{}
}

// light multiplies the RGB values in r by k.
func light(img *image.RGBA, r image.Rectangle, k float64) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			for c := 0; c < 3; c++ {
				row[i+c] = uint8(min(255, float64(row[i+c])*k+0.5))
			}
		}
	}
}

// boxBlur blurs img with a (2r+1)-pixel box filter, horizontally then vertically.
func boxBlur(img *image.RGBA, r int) {
	b := img.Bounds()
	tmp := image.NewRGBA(b)
	pass := func(dst, src *image.RGBA, dx, dy int) {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				var s [3]int
				n := 0
				for k := -r; k <= r; k++ {
					p := image.Pt(x+k*dx, y+k*dy)
					if !p.In(b) {
						continue
					}
					o := src.PixOffset(p.X, p.Y)
					s[0], s[1], s[2] = s[0]+int(src.Pix[o]), s[1]+int(src.Pix[o+1]), s[2]+int(src.Pix[o+2])
					n++
				}
				o := dst.PixOffset(x, y)
				dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = uint8(s[0]/n), uint8(s[1]/n), uint8(s[2]/n), 255
			}
		}
	}
	pass(tmp, img, 1, 0)
	pass(img, tmp, 0, 1)
}

// blendFeathered draws patch onto dst at at, fully opaque inside an ellipse at 75% of the patch and fading to
// transparent at the ellipse touching its edges.
func blendFeathered(dst, patch *image.RGBA, at image.Point) {
	b := patch.Bounds()
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dx, dy := (float64(x)+0.5-cx)/cx, (float64(y)+0.5-cy)/cy
			d := math.Sqrt(dx*dx + dy*dy)
			a := math.Min(1, math.Max(0, (1-d)/0.25))
			if a == 0 {
				continue
			}
			s := patch.RGBAAt(x, y)
			o := dst.RGBAAt(at.X+x, at.Y+y)
			mix := func(p, q uint8) uint8 { return uint8(float64(p)*a + float64(q)*(1-a) + 0.5) }
			dst.SetRGBA(at.X+x, at.Y+y, color.RGBA{mix(s.R, o.R), mix(s.G, o.G), mix(s.B, o.B), 255})
		}
	}
}
