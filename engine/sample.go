package engine

import (
	"context"
	"math"
	"sync"

	"github.com/facegate/facegate/internal/geom"
	"github.com/facegate/facegate/internal/imgio"
)

// pyramid holds an image and, built on demand, its successive 2x2 box-filtered halvings, so that sampling at any
// scale reads from a level whose remaining reduction is below 2 and bilinear interpolation does not alias.
// It is safe for concurrent use.
type pyramid struct {
	img *imgio.Image // level 0, never changes
	// ctx, when not nil, is the analysis the pyramid serves: once it is done, a level being built is abandoned
	// (halving a 6000x6000 image is hundreds of milliseconds under load) and sampling falls back to the finest
	// level built, whose result nobody uses.
	ctx    context.Context
	mu     sync.Mutex
	levels []*imgio.Image // guarded by mu
}

func newPyramid(img *imgio.Image) *pyramid { return &pyramid{img: img, levels: []*imgio.Image{img}} }

func (p *pyramid) base() *imgio.Image { return p.img }

// level returns the image halved k times (k >= 0), building missing levels.
func (p *pyramid) level(k int) *imgio.Image {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.levels) <= k {
		prev := p.levels[len(p.levels)-1]
		if prev.W < 2 || prev.H < 2 {
			return prev
		}
		next := halve(p.ctx, prev)
		if next == nil {
			return prev
		}
		p.levels = append(p.levels, next)
	}
	return p.levels[k]
}

// halve averages 2x2 blocks; a trailing odd row or column is dropped. It returns nil when ctx (if not nil) is done
// before it finishes, checking every 64 rows.
func halve(ctx context.Context, src *imgio.Image) *imgio.Image {
	w, h := src.W/2, src.H/2
	dst := imgio.NewImage(w, h)
	sp, dp := src.Pix, dst.Pix
	stride := src.W * 3
	for y := 0; y < h; y++ {
		if ctx != nil && y%64 == 0 && ctx.Err() != nil {
			return nil
		}
		r0 := sp[2*y*stride:]
		r1 := sp[(2*y+1)*stride:]
		d := dp[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			i := x * 6
			o := x * 3
			d[o] = uint8((uint16(r0[i]) + uint16(r0[i+3]) + uint16(r1[i]) + uint16(r1[i+3]) + 2) >> 2)
			d[o+1] = uint8((uint16(r0[i+1]) + uint16(r0[i+4]) + uint16(r1[i+1]) + uint16(r1[i+4]) + 2) >> 2)
			d[o+2] = uint8((uint16(r0[i+2]) + uint16(r0[i+5]) + uint16(r1[i+2]) + uint16(r1[i+5]) + 2) >> 2)
		}
	}
	return dst
}

// layout says how warp writes pixels into a model's input tensor.
type layout struct {
	grey bool       // one channel, luminance
	bgr  bool       // channel order B, G, R instead of R, G, B
	flip bool       // mirror horizontally
	mean [3]float32 // subtracted per channel (in the output channel order), in 0..255 units
	mul  [3]float32 // then multiplied
	fill [3]float32 // raw 0..255 value used outside the image, per R, G, B
}

// warp fills dst, a planar (CHW) tensor of dw x dh pixels, by bilinear sampling of the image at the source
// positions inv maps each destination pixel centre to (pixel-index coordinates, OpenCV's convention). It samples
// from the pyramid level that keeps the remaining reduction below 2.
func (p *pyramid) warp(dst []float32, dw, dh int, inv geom.Affine, l layout) {
	scale := inv.Scale()
	k := 0
	if scale >= 2 {
		k = int(math.Floor(math.Log2(scale)))
	}
	img := p.level(k)
	if k > 0 {
		// index x at level 0 is index (x+0.5)/2^k - 0.5 at level k.
		f := 1 / math.Exp2(float64(k))
		inv = inv.Then(geom.Affine{A: f, C: 0.5*f - 0.5, E: f, F: 0.5*f - 0.5})
	}
	plane := dw * dh
	w, h := img.W, img.H
	pix := img.Pix
	if x0, y0, ok := integerShift(inv); ok && x0 >= 0 && y0 >= 0 && x0+dw <= w && y0+dh <= h {
		// Pure integer translation at this level (e.g. a 640x480 image seen by the 320x240 detector): copy.
		for y := 0; y < dh; y++ {
			row := pix[((y0+y)*w+x0)*3 : ((y0+y)*w+x0+dw)*3]
			for x := 0; x < dw; x++ {
				store(dst, plane, y*dw+l.col(x, dw), float32(row[3*x]), float32(row[3*x+1]), float32(row[3*x+2]), &l)
			}
		}
		return
	}
	stride := w * 3
	for y := 0; y < dh; y++ {
		// Walk the row incrementally: the source position advances by (A, D) per destination pixel.
		fy := float64(y)
		sx := inv.B*fy + inv.C
		sy := inv.E*fy + inv.F
		for x := 0; x < dw; x++ {
			px := sx + inv.A*float64(x)
			py := sy + inv.D*float64(x)
			var r, g, b float32
			if px >= 0 && py >= 0 && px < float64(w-1) && py < float64(h-1) {
				x0, y0 := int(px), int(py) // truncation is floor for non-negative values
				ax, ay := float32(px-float64(x0)), float32(py-float64(y0))
				i := y0*stride + x0*3
				p0 := pix[i : i+6 : i+6]
				p1 := pix[i+stride : i+stride+6 : i+stride+6]
				w00 := (1 - ax) * (1 - ay)
				w10 := ax * (1 - ay)
				w01 := (1 - ax) * ay
				w11 := ax * ay
				r = w00*float32(p0[0]) + w10*float32(p0[3]) + w01*float32(p1[0]) + w11*float32(p1[3])
				g = w00*float32(p0[1]) + w10*float32(p0[4]) + w01*float32(p1[1]) + w11*float32(p1[4])
				b = w00*float32(p0[2]) + w10*float32(p0[5]) + w01*float32(p1[2]) + w11*float32(p1[5])
			} else {
				x0f, y0f := math.Floor(px), math.Floor(py)
				r, g, b = sampleBorder(pix, w, h, int(x0f), int(y0f), float32(px-x0f), float32(py-y0f), l.fill)
			}
			store(dst, plane, y*dw+l.col(x, dw), r, g, b, &l)
		}
	}
}

// col is the destination column for source column x (mirrored when flipping).
func (l *layout) col(x, dw int) int {
	if l.flip {
		return dw - 1 - x
	}
	return x
}

// store writes one pixel, normalised, into a planar tensor.
func store(dst []float32, plane, o int, r, g, b float32, l *layout) {
	if l.grey {
		dst[o] = (0.299*r + 0.587*g + 0.114*b - l.mean[0]) * l.mul[0]
		return
	}
	if l.bgr {
		r, b = b, r
	}
	dst[o] = (r - l.mean[0]) * l.mul[0]
	dst[plane+o] = (g - l.mean[1]) * l.mul[1]
	dst[2*plane+o] = (b - l.mean[2]) * l.mul[2]
}

// integerShift reports whether t is a pure translation by whole pixels.
func integerShift(t geom.Affine) (x, y int, ok bool) {
	const eps = 1e-9
	if math.Abs(t.A-1) > eps || math.Abs(t.E-1) > eps || math.Abs(t.B) > eps || math.Abs(t.D) > eps {
		return 0, 0, false
	}
	rx, ry := math.Round(t.C), math.Round(t.F)
	if math.Abs(t.C-rx) > eps || math.Abs(t.F-ry) > eps {
		return 0, 0, false
	}
	return int(rx), int(ry), true
}

// sampleBorder is bilinear sampling where some of the four neighbours fall outside the image; those take fill.
func sampleBorder(pix []uint8, w, h, x0, y0 int, ax, ay float32, fill [3]float32) (r, g, b float32) {
	var acc [3]float32
	for j := 0; j < 2; j++ {
		for i := 0; i < 2; i++ {
			wt := (1 - ax) * (1 - ay)
			if i == 1 {
				wt = ax * (1 - ay)
			}
			if j == 1 {
				wt = (1 - ax) * ay
				if i == 1 {
					wt = ax * ay
				}
			}
			x, y := x0+i, y0+j
			if x >= 0 && y >= 0 && x < w && y < h {
				o := (y*w + x) * 3
				acc[0] += wt * float32(pix[o])
				acc[1] += wt * float32(pix[o+1])
				acc[2] += wt * float32(pix[o+2])
			} else {
				acc[0] += wt * fill[0]
				acc[1] += wt * fill[1]
				acc[2] += wt * fill[2]
			}
		}
	}
	return acc[0], acc[1], acc[2]
}

// cropTransform maps a dw x dh destination onto the source rectangle r (pixel-index coordinates), stretching as
// needed. It returns the destination-to-source transform warp expects.
func cropTransform(r geom.Rect, dw, dh int) geom.Affine {
	sx := r.W() / float64(dw)
	sy := r.H() / float64(dh)
	// destination pixel centre x+0.5 covers source edge coordinate r.X1 + (x+0.5)*sx; index = edge - 0.5.
	return geom.Affine{A: sx, C: r.X1 + 0.5*sx - 0.5, E: sy, F: r.Y1 + 0.5*sy - 0.5}
}
