package imgio

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// opaque hides the concrete type of an image so FromStd takes the generic
// At-based path; it is the reference for the fast paths.
type opaque struct{ image.Image }

func fillRandom(r *rand.Rand, b []uint8) {
	for i := range b {
		b[i] = uint8(r.Uint32())
	}
}

func TestNewImageAtToStd(t *testing.T) {
	m := NewImage(3, 2)
	if m.W != 3 || m.H != 2 || len(m.Pix) != 18 {
		t.Fatalf("NewImage(3,2) = %dx%d len %d", m.W, m.H, len(m.Pix))
	}
	i := (1*3 + 2) * 3
	m.Pix[i], m.Pix[i+1], m.Pix[i+2] = 10, 20, 30
	if r, g, b := m.At(2, 1); r != 10 || g != 20 || b != 30 {
		t.Errorf("At(2,1) = %d,%d,%d want 10,20,30", r, g, b)
	}
	for _, p := range []image.Point{{-1, 0}, {0, -1}, {3, 0}, {0, 2}} {
		if r, g, b := m.At(p.X, p.Y); r != 0 || g != 0 || b != 0 {
			t.Errorf("At(%v) out of bounds = %d,%d,%d want 0,0,0", p, r, g, b)
		}
	}
	std := m.ToStd()
	if std.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Fatalf("ToStd bounds %v", std.Bounds())
	}
	if c := std.RGBAAt(2, 1); c != (color.RGBA{10, 20, 30, 255}) {
		t.Errorf("ToStd(2,1) = %v", c)
	}
	if c := std.RGBAAt(0, 0); c != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("ToStd(0,0) = %v", c)
	}
	back := FromStd(std)
	if d := maxDiff(t, m, back); d != 0 {
		t.Errorf("FromStd(ToStd(m)) differs by %d", d)
	}
	if FromStd(nil) != nil {
		t.Error("FromStd(nil) != nil")
	}
	empty := FromStd(image.NewRGBA(image.Rect(5, 5, 5, 9)))
	if empty.W != 0 || empty.H != 4 || len(empty.Pix) != 0 {
		t.Errorf("empty image: %dx%d len %d", empty.W, empty.H, len(empty.Pix))
	}
}

func TestNewImagePanicsOnNegative(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewImage(-1, 1) did not panic")
		}
	}()
	NewImage(-1, 1)
}

// TestFromStdFastPathsMatchGeneric checks every fast path against the
// generic At()-based conversion, including sub-images whose origin is not
// (0, 0) and, for YCbCr, every subsample ratio with odd and negative
// origins.
func TestFromStdFastPathsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	full := image.Rect(0, 0, 37, 23)
	sub := image.Rect(3, 5, 30, 22) // odd origin
	neg := image.Rect(-7, -3, 25, 18)

	type tc struct {
		name    string
		img     image.Image
		maxDiff int
	}
	var cases []tc
	add := func(name string, m image.Image, tol int) {
		cases = append(cases, tc{name, m, tol})
		if s, ok := m.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok {
			cases = append(cases, tc{name + "/sub", s.SubImage(sub), tol})
		}
	}

	rgba := image.NewRGBA(full)
	fillRandom(rng, rgba.Pix)
	add("RGBA", rgba, 0)
	nrgba := image.NewNRGBA(full)
	fillRandom(rng, nrgba.Pix)
	add("NRGBA", nrgba, 0)
	rgba64 := image.NewRGBA64(full)
	fillRandom(rng, rgba64.Pix)
	add("RGBA64", rgba64, 0)
	nrgba64 := image.NewNRGBA64(full)
	fillRandom(rng, nrgba64.Pix)
	add("NRGBA64", nrgba64, 0)
	gray := image.NewGray(full)
	fillRandom(rng, gray.Pix)
	add("Gray", gray, 0)
	gray16 := image.NewGray16(full)
	fillRandom(rng, gray16.Pix)
	add("Gray16", gray16, 0)
	cmyk := image.NewCMYK(full)
	fillRandom(rng, cmyk.Pix)
	add("CMYK", cmyk, 0)
	alpha := image.NewAlpha(full) // no fast path: exercises the fallback
	fillRandom(rng, alpha.Pix)
	add("Alpha", alpha, 0)

	pal := color.Palette{}
	for i := 0; i < 200; i++ {
		if i%2 == 0 {
			pal = append(pal, color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 7), uint8(i)})
		} else {
			pal = append(pal, color.RGBA{uint8(i / 2), uint8(i / 3), uint8(i / 4), 255})
		}
	}
	paletted := image.NewPaletted(full, pal)
	for i := range paletted.Pix {
		paletted.Pix[i] = uint8(rng.IntN(len(pal)))
	}
	add("Paletted", paletted, 0)

	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440,
		image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, r := range ratios {
		// Odd origins put the first pixel mid-pair; even and odd widths
		// then end on a full or a half pair.
		for _, rect := range []image.Rectangle{full, neg, image.Rect(1, 1, 2, 2), image.Rect(1, 3, 9, 6), image.Rect(3, 1, 14, 8)} {
			y := image.NewYCbCr(rect, r)
			fillRandom(rng, y.Y)
			fillRandom(rng, y.Cb)
			fillRandom(rng, y.Cr)
			add("YCbCr"+r.String()+rect.String(), y, 1)
		}
		a := image.NewNYCbCrA(full, r)
		fillRandom(rng, a.Y)
		fillRandom(rng, a.Cb)
		fillRandom(rng, a.Cr)
		fillRandom(rng, a.A)
		add("NYCbCrA"+r.String(), a, 1)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fast := FromStd(c.img)
			ref := FromStd(opaque{c.img})
			b := c.img.Bounds()
			if fast.W != b.Dx() || fast.H != b.Dy() || len(fast.Pix) != b.Dx()*b.Dy()*3 {
				t.Fatalf("got %dx%d len %d for bounds %v", fast.W, fast.H, len(fast.Pix), b)
			}
			if d := maxDiff(t, fast, ref); d > c.maxDiff {
				t.Errorf("fast path differs from At() by %d, want <= %d", d, c.maxDiff)
			}
		})
	}
}

// TestFromStdAlphaPolicy pins down the documented alpha handling: straight
// colour for non-premultiplied sources, values as-is for premultiplied.
func TestFromStdAlphaPolicy(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	n.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0})
	if r, g, b := FromStd(n).At(0, 0); r != 200 || g != 100 || b != 50 {
		t.Errorf("NRGBA: got %d,%d,%d want 200,100,50", r, g, b)
	}
	p := image.NewRGBA(image.Rect(0, 0, 1, 1))
	p.SetRGBA(0, 0, color.RGBA{100, 50, 25, 128})
	if r, g, b := FromStd(p).At(0, 0); r != 100 || g != 50 || b != 25 {
		t.Errorf("RGBA: got %d,%d,%d want 100,50,25", r, g, b)
	}
}

func TestFromStdPalettedOutOfRangeIndex(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{1, 2, 3, 255}})
	m.Pix[1] = 7 // no such palette entry
	got := FromStd(m)
	want := []uint8{1, 2, 3, 0, 0, 0}
	for i := range want {
		if got.Pix[i] != want[i] {
			t.Fatalf("Pix = %v, want %v", got.Pix, want)
		}
	}
}

func TestYCbCrKnownColours(t *testing.T) {
	tests := []struct {
		y, cb, cr uint8
		r, g, b   uint8
	}{
		{0, 128, 128, 0, 0, 0},
		{255, 128, 128, 255, 255, 255},
		{128, 128, 128, 128, 128, 128},
		{76, 85, 255, 254, 0, 0}, // pure red in JFIF YCbCr (rounded)
		{29, 255, 107, 0, 0, 255},
	}
	for _, tt := range tests {
		r, g, b := ycbcrToRGB(tt.y, tt.cb, tt.cr)
		sr, sg, sb := color.YCbCrToRGB(tt.y, tt.cb, tt.cr)
		if absInt(int(r)-int(tt.r)) > 1 || absInt(int(g)-int(tt.g)) > 1 || absInt(int(b)-int(tt.b)) > 1 {
			t.Errorf("ycbcrToRGB(%d,%d,%d) = %d,%d,%d want ~%d,%d,%d", tt.y, tt.cb, tt.cr, r, g, b, tt.r, tt.g, tt.b)
		}
		if absInt(int(r)-int(sr)) > 1 || absInt(int(g)-int(sg)) > 1 || absInt(int(b)-int(sb)) > 1 {
			t.Errorf("ycbcrToRGB(%d,%d,%d) = %d,%d,%d, stdlib %d,%d,%d", tt.y, tt.cb, tt.cr, r, g, b, sr, sg, sb)
		}
	}
	// Exhaustive agreement with the standard library within 1.
	for y := 0; y < 256; y += 3 {
		for cb := 0; cb < 256; cb++ {
			for cr := 0; cr < 256; cr++ {
				r, g, b := ycbcrToRGB(uint8(y), uint8(cb), uint8(cr))
				sr, sg, sb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if absInt(int(r)-int(sr)) > 1 || absInt(int(g)-int(sg)) > 1 || absInt(int(b)-int(sb)) > 1 {
					t.Fatalf("ycbcrToRGB(%d,%d,%d) = %d,%d,%d, stdlib %d,%d,%d", y, cb, cr, r, g, b, sr, sg, sb)
				}
			}
		}
	}
}

func TestOrient(t *testing.T) {
	src := FromStd(gradientNRGBA(5, 3))
	for o := 0; o <= 9; o++ {
		got := Orient(src, o)
		ref := o
		if o < 1 || o > 8 {
			ref = 1
		}
		want := transformRef(src, ref)
		if d := maxDiff(t, got, want); d != 0 {
			t.Errorf("orientation %d: differs from reference by %d", o, d)
		}
	}
	if Orient(src, 1) != src {
		t.Error("Orient(m, 1) should return m itself")
	}
	// Degenerate sizes must not panic.
	for o := 1; o <= 8; o++ {
		for _, sz := range []image.Point{{0, 0}, {1, 1}, {1, 4}, {4, 1}} {
			m := NewImage(sz.X, sz.Y)
			got := Orient(m, o)
			if len(got.Pix) != got.W*got.H*3 || got.W*got.H != sz.X*sz.Y {
				t.Errorf("Orient(%v, %d) = %dx%d", sz, o, got.W, got.H)
			}
		}
	}
}
