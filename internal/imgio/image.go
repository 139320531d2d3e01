// Package imgio decodes untrusted image files into packed 8-bit RGB buffers
// for the face recognition engine. Supported formats are JPEG, PNG, GIF
// (first frame), WebP, BMP and binary Netpbm (PGM P5, PPM P6).
//
// Decoding is content-based (magic bytes, never file names), bounded by
// configurable byte, pixel and memory limits that are enforced before any
// pixel memory is allocated (the memory an image needs is estimated from its
// header: bit depth, channels, interlacing, JPEG sampling, progressive mode
// and scan count), and EXIF orientation is applied so that returned
// images are always upright. All failures are reported with errors that wrap
// one of the package sentinels (ErrEmpty, ErrUnsupported, ErrTruncated,
// ErrCorrupt, ErrTooLarge) so callers can classify them with errors.Is.
package imgio

import (
	"image"
	"image/color"
	"math"
)

// Image is a packed 8-bit RGB image: Pix[(y*W+x)*3+c], c = 0 R, 1 G, 2 B.
// Rows are stored top to bottom with no padding, so len(Pix) == W*H*3.
type Image struct {
	W, H int
	Pix  []uint8
}

// NewImage returns a black w×h image. It panics if w or h is negative or if
// w*h*3 overflows int, mirroring the behaviour of image.NewRGBA.
func NewImage(w, h int) *Image {
	if w < 0 || h < 0 || (h > 0 && w > math.MaxInt/3/h) {
		panic("imgio: NewImage: negative or overflowing dimensions")
	}
	return &Image{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// At returns the colour of the pixel at (x, y). Coordinates outside the image
// yield black, matching the convention of image.Image.At.
func (m *Image) At(x, y int) (r, g, b uint8) {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return 0, 0, 0
	}
	i := (y*m.W + x) * 3
	p := m.Pix[i : i+3 : i+3]
	return p[0], p[1], p[2]
}

// ToStd converts m to an opaque *image.RGBA with bounds (0, 0)-(W, H), for
// drawing or encoding with the standard library.
func (m *Image) ToStd() *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	n := m.W * m.H
	src := m.Pix[: n*3 : n*3]
	out := dst.Pix[: n*4 : n*4]
	for i := 0; i < n; i++ {
		s := src[i*3 : i*3+3 : i*3+3]
		d := out[i*4 : i*4+4 : i*4+4]
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], 0xff
	}
	return dst
}

// FromStd converts any image.Image to a packed RGB Image whose pixel (0, 0)
// is src.Bounds().Min. It returns nil if src is nil.
//
// Alpha is discarded without compositing: non-premultiplied sources
// (*image.NRGBA, *image.NRGBA64, *image.NYCbCrA, color.NRGBA palette
// entries) keep their straight colour values, while premultiplied sources
// (*image.RGBA, *image.RGBA64 and generic colours) are taken as-is.
//
// Dedicated loops without per-pixel interface calls or allocations handle
// *image.YCbCr (every subsample ratio), *image.NYCbCrA, *image.RGBA,
// *image.NRGBA, *image.RGBA64, *image.NRGBA64, *image.Gray, *image.Gray16,
// *image.Paletted and *image.CMYK; anything else goes through At.
func FromStd(src image.Image) *Image {
	switch s := src.(type) {
	case nil:
		return nil
	case *image.YCbCr:
		return fromYCbCr(s)
	case *image.NYCbCrA:
		return fromYCbCr(&s.YCbCr)
	case *image.RGBA:
		return fromPix4(s.Pix, s.Stride, s.Rect)
	case *image.NRGBA:
		return fromPix4(s.Pix, s.Stride, s.Rect)
	case *image.RGBA64:
		return fromPix8(s.Pix, s.Stride, s.Rect)
	case *image.NRGBA64:
		return fromPix8(s.Pix, s.Stride, s.Rect)
	case *image.Gray:
		return fromGray(s)
	case *image.Gray16:
		return fromGray16(s)
	case *image.Paletted:
		return fromPaletted(s)
	case *image.CMYK:
		return fromCMYK(s)
	}
	return fromGeneric(src)
}

// rgbOf converts a single colour to 8-bit RGB with the alpha policy
// documented on FromStd.
func rgbOf(c color.Color) (r, g, b uint8) {
	switch c := c.(type) {
	case nil:
		return 0, 0, 0
	case color.NRGBA:
		return c.R, c.G, c.B
	case color.NRGBA64:
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	case color.NYCbCrA:
		return ycbcrToRGB(c.Y, c.Cb, c.Cr)
	}
	r32, g32, b32, _ := c.RGBA()
	return uint8(r32 >> 8), uint8(g32 >> 8), uint8(b32 >> 8)
}

// fromGeneric converts src through its At method. It is the slow path for
// image types without a dedicated loop.
func fromGeneric(src image.Image) *Image {
	b := src.Bounds()
	dst := NewImage(b.Dx(), b.Dy())
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb := rgbOf(src.At(x, y))
			p := dst.Pix[i : i+3 : i+3]
			p[0], p[1], p[2] = r, g, bb
			i += 3
		}
	}
	return dst
}

// fromPix4 copies the first three bytes of every 4-byte pixel (RGBA or
// NRGBA layout).
func fromPix4(pix []uint8, stride int, r image.Rectangle) *Image {
	w, h := r.Dx(), r.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*4]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			s := row[x*4 : x*4+3 : x*4+3]
			d := out[x*3 : x*3+3 : x*3+3]
			d[0], d[1], d[2] = s[0], s[1], s[2]
		}
	}
	return dst
}

// fromPix8 keeps the high byte of each big-endian 16-bit channel of every
// 8-byte pixel (RGBA64 or NRGBA64 layout).
func fromPix8(pix []uint8, stride int, r image.Rectangle) *Image {
	w, h := r.Dx(), r.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+w*8]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			s := row[x*8 : x*8+5 : x*8+5]
			d := out[x*3 : x*3+3 : x*3+3]
			d[0], d[1], d[2] = s[0], s[2], s[4]
		}
	}
	return dst
}

func fromGray(s *image.Gray) *Image {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := s.Pix[y*s.Stride : y*s.Stride+w]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x, v := range row {
			d := out[x*3 : x*3+3 : x*3+3]
			d[0], d[1], d[2] = v, v, v
		}
	}
	return dst
}

func fromGray16(s *image.Gray16) *Image {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := s.Pix[y*s.Stride : y*s.Stride+w*2]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			v := row[x*2]
			d := out[x*3 : x*3+3 : x*3+3]
			d[0], d[1], d[2] = v, v, v
		}
	}
	return dst
}

// fromPaletted resolves the palette once into a 256-entry table. Indices
// beyond the palette map to black instead of panicking.
func fromPaletted(s *image.Paletted) *Image {
	var lut [256][3]uint8
	for i, c := range s.Palette {
		if i >= len(lut) {
			break
		}
		lut[i][0], lut[i][1], lut[i][2] = rgbOf(c)
	}
	w, h := s.Rect.Dx(), s.Rect.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := s.Pix[y*s.Stride : y*s.Stride+w]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x, idx := range row {
			c := &lut[idx]
			d := out[x*3 : x*3+3 : x*3+3]
			d[0], d[1], d[2] = c[0], c[1], c[2]
		}
	}
	return dst
}

// fromCMYK uses the same integer formula as color.CMYK.RGBA, reduced to
// 8 bits, so the result is identical to the generic path.
func fromCMYK(s *image.CMYK) *Image {
	w, h := s.Rect.Dx(), s.Rect.Dy()
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	for y := 0; y < h; y++ {
		row := s.Pix[y*s.Stride : y*s.Stride+w*4]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			p := row[x*4 : x*4+4 : x*4+4]
			k := 255 - uint32(p[3])
			d := out[x*3 : x*3+3 : x*3+3]
			// ((255-c)*257 * (255-k)*257 / 65535) >> 8 == (255-c)*(255-k)*257/255 >> 8
			d[0] = uint8((255 - uint32(p[0])) * k * 257 / 255 >> 8)
			d[1] = uint8((255 - uint32(p[1])) * k * 257 / 255 >> 8)
			d[2] = uint8((255 - uint32(p[2])) * k * 257 / 255 >> 8)
		}
	}
	return dst
}
