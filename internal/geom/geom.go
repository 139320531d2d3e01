// Package geom holds the plane geometry facegate's engine needs: boxes and their overlap, non-maximum
// suppression, similarity and affine transforms, and the tiling plan that lets a 320x240 detector see small faces
// in large images. It is pure Go with no image or model dependencies, so every function has known answers.
package geom

import "math"

// Point is a position in pixels.
type Point struct{ X, Y float64 }

// Rect is an axis-aligned box with corners (X1,Y1) top-left and (X2,Y2) bottom-right, in pixels.
type Rect struct{ X1, Y1, X2, Y2 float64 }

// W is the rectangle's width (0 if empty).
func (r Rect) W() float64 { return math.Max(0, r.X2-r.X1) }

// H is the rectangle's height (0 if empty).
func (r Rect) H() float64 { return math.Max(0, r.Y2-r.Y1) }

// Area is W*H.
func (r Rect) Area() float64 { return r.W() * r.H() }

// Center is the rectangle's centre.
func (r Rect) Center() Point { return Point{(r.X1 + r.X2) / 2, (r.Y1 + r.Y2) / 2} }

// Intersect is the overlap of r and o (possibly empty).
func (r Rect) Intersect(o Rect) Rect {
	return Rect{math.Max(r.X1, o.X1), math.Max(r.Y1, o.Y1), math.Min(r.X2, o.X2), math.Min(r.Y2, o.Y2)}
}

// IoU is the intersection over union of two rectangles, 0 when either is empty.
func IoU(a, b Rect) float64 {
	inter := a.Intersect(b).Area()
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Scored is a rectangle with a confidence score.
type Scored struct {
	Rect  Rect
	Score float64
}

// Affine maps (x, y) to (A*x + B*y + C, D*x + E*y + F).
type Affine struct{ A, B, C, D, E, F float64 }

// Apply maps p.
func (t Affine) Apply(p Point) Point {
	return Point{t.A*p.X + t.B*p.Y + t.C, t.D*p.X + t.E*p.Y + t.F}
}

// Invert returns the inverse transform; ok is false when t is singular.
func (t Affine) Invert() (inv Affine, ok bool) {
	det := t.A*t.E - t.B*t.D
	if math.Abs(det) < 1e-12 {
		return Affine{}, false
	}
	a, b, d, e := t.E/det, -t.B/det, -t.D/det, t.A/det
	return Affine{A: a, B: b, C: -(a*t.C + b*t.F), D: d, E: e, F: -(d*t.C + e*t.F)}, true
}

// Scale is the transform's mean linear scale factor, sqrt(|det|).
func (t Affine) Scale() float64 { return math.Sqrt(math.Abs(t.A*t.E - t.B*t.D)) }

// Then returns the transform that applies t first and then u.
func (t Affine) Then(u Affine) Affine {
	return Affine{
		A: u.A*t.A + u.B*t.D, B: u.A*t.B + u.B*t.E, C: u.A*t.C + u.B*t.F + u.C,
		D: u.D*t.A + u.E*t.D, E: u.D*t.B + u.E*t.E, F: u.D*t.C + u.E*t.F + u.F,
	}
}

// Similarity estimates the similarity transform (rotation, uniform scale, translation; no reflection) that maps
// src onto dst with the least squared error (Umeyama's method in 2-D). src and dst must have the same length,
// at least 2. ok is false for degenerate input (all source points equal).
func Similarity(src, dst []Point) (t Affine, ok bool) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return Affine{}, false
	}
	var msx, msy, mdx, mdy float64
	for i := range src {
		msx += src[i].X
		msy += src[i].Y
		mdx += dst[i].X
		mdy += dst[i].Y
	}
	fn := float64(n)
	msx, msy, mdx, mdy = msx/fn, msy/fn, mdx/fn, mdy/fn
	// With complex numbers s = sx + i*sy, the best similarity is d = z*s + c with z = sum(conj(s)*d)/sum(|s|^2).
	var sxx, re, im float64
	for i := range src {
		sx, sy := src[i].X-msx, src[i].Y-msy
		dx, dy := dst[i].X-mdx, dst[i].Y-mdy
		sxx += sx*sx + sy*sy
		re += sx*dx + sy*dy
		im += sx*dy - sy*dx
	}
	if sxx < 1e-12 {
		return Affine{}, false
	}
	a, b := re/sxx, im/sxx // z = a + ib: x' = a*x - b*y, y' = b*x + a*y
	return Affine{A: a, B: -b, C: mdx - (a*msx - b*msy), D: b, E: a, F: mdy - (b*msx + a*msy)}, true
}

// Tile is one detector window: the region Src of the image (in image pixels) seen at Scale, so that the window
// covers Src.W()*Scale x Src.H()*Scale detector pixels.
type Tile struct {
	Src   Rect
	Scale float64
	// Coarser is the scale of the level above (0 for the whole-image tile): a face that is at least twice the
	// detector's minimum there is that level's to find, and a finer tile that sees it sees only part of the context.
	Coarser float64
}

// Tiles plans the detector windows for an image of w x h pixels, for a detector of dw x dh input pixels that finds
// faces of at least detMin detector pixels, so that faces of minFace image pixels or more are seen at least detMin
// pixels high. The first tile is always the whole image letterboxed at the scale that fits it. When that scale
// leaves minFace faces too small, further levels double the scale until they are large enough, and each level is
// covered by overlapping windows; the overlap is big enough for any face that the level above cannot find.
func Tiles(w, h, dw, dh int, minFace, detMin float64) []Tile {
	if w <= 0 || h <= 0 || dw <= 0 || dh <= 0 {
		return nil
	}
	fit := math.Min(float64(dw)/float64(w), float64(dh)/float64(h))
	tiles := []Tile{{Src: Rect{0, 0, float64(w), float64(h)}, Scale: fit}}
	levels(w, h, dw, dh, minFace, detMin, func(s, prev float64) {
		// Window size in image pixels, and the overlap: a face that is 2*detMin detector pixels high at this
		// level is detMin high at the level above, so windows must overlap by at least that much (plus margin).
		ww, wh := float64(dw)/s, float64(dh)/s
		for _, t := range cover(float64(w), float64(h), ww, wh, 2.5*detMin/s, s) {
			t.Coarser = prev
			tiles = append(tiles, t)
		}
	})
	return tiles
}

// TileCount is len(Tiles(w, h, dw, dh, minFace, detMin)) without building the tiles, so that a caller can
// afford to ask what a plan would cost before choosing it. It saturates at math.MaxInt.
func TileCount(w, h, dw, dh int, minFace, detMin float64) int {
	if w <= 0 || h <= 0 || dw <= 0 || dh <= 0 {
		return 0
	}
	n := 1.0
	levels(w, h, dw, dh, minFace, detMin, func(s, _ float64) {
		ww, wh := float64(dw)/s, float64(dh)/s
		n += positionCount(float64(w), ww, 2.5*detMin/s) * positionCount(float64(h), wh, 2.5*detMin/s)
	})
	if n >= math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}

// levels calls level with the scale of each level finer than the whole image, and the scale of the level above
// it: doubling from the whole-image scale until minFace faces are detMin detector pixels high (the last level is
// capped at that scale).
func levels(w, h, dw, dh int, minFace, detMin float64, level func(s, prev float64)) {
	fit := math.Min(float64(dw)/float64(w), float64(dh)/float64(h))
	if minFace <= 0 || minFace*fit >= detMin {
		return
	}
	need := detMin / minFace
	prev := fit
	for s := fit * 2; ; s *= 2 {
		if s > need {
			s = need
		}
		level(s, prev)
		prev = s
		if s >= need {
			break
		}
	}
}

// cover lays windows of ww x wh over a w x h image with at least overlap between neighbours, spread evenly.
func cover(w, h, ww, wh, overlap, scale float64) []Tile {
	xs := positions(w, ww, overlap)
	ys := positions(h, wh, overlap)
	var out []Tile
	for _, y := range ys {
		for _, x := range xs {
			out = append(out, Tile{Src: Rect{x, y, math.Min(x+ww, w), math.Min(y+wh, h)}, Scale: scale})
		}
	}
	return out
}

func positions(total, win, overlap float64) []float64 {
	n := int(positionCount(total, win, overlap))
	if n == 1 {
		return []float64{0}
	}
	out := make([]float64, n)
	step := (total - win) / float64(n-1)
	for i := range out {
		out[i] = float64(i) * step
	}
	return out
}

// positionCount is the number of windows of size win, overlapping by at least overlap, that cover total (a
// float, so that absurd plans count without overflowing).
func positionCount(total, win, overlap float64) float64 {
	if win >= total {
		return 1
	}
	stride := win - overlap
	if stride <= 0 {
		stride = win / 2
	}
	return math.Ceil((total-win)/stride) + 1
}
