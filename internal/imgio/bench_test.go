package imgio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
)

// BenchmarkDecodeJPEG640x480 measures the full Decode path (detection,
// header check, image/jpeg decoding, YCbCr→RGB conversion, EXIF scan) on a
// photo-like 640x480 4:2:0 JPEG.
func BenchmarkDecodeJPEG640x480(b *testing.B) {
	data := encodeJPEG(b, photoLike(640, 480), 90)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdJPEGDecode640x480 is the image/jpeg baseline for the
// benchmark above: the difference is this package's overhead.
func BenchmarkStdJPEGDecode640x480(b *testing.B) {
	data := encodeJPEG(b, photoLike(640, 480), 90)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// photoYCbCr returns a photo-like 640x480 YCbCr image with the given
// subsampling (chroma taken from the top-left pixel of each block).
func photoYCbCr(r image.YCbCrSubsampleRatio) *image.YCbCr {
	src := photoLike(640, 480)
	m := image.NewYCbCr(src.Rect, r)
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			c := src.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			m.Y[m.YOffset(x, y)] = yy
			ci := m.COffset(x, y)
			m.Cb[ci], m.Cr[ci] = cb, cr
		}
	}
	return m
}

// BenchmarkFromStdYCbCr measures the YCbCr→RGB fast path on 640x480.
func BenchmarkFromStdYCbCr(b *testing.B) {
	for _, r := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444} {
		b.Run(strings.TrimPrefix(r.String(), "YCbCrSubsampleRatio"), func(b *testing.B) {
			src := photoYCbCr(r)
			b.SetBytes(640 * 480 * 3)
			b.ReportAllocs()
			for b.Loop() {
				FromStd(src)
			}
		})
	}
}

// BenchmarkFromStdYCbCrGeneric is the At()-based reference conversion.
func BenchmarkFromStdYCbCrGeneric(b *testing.B) {
	src := photoYCbCr(image.YCbCrSubsampleRatio420)
	b.SetBytes(640 * 480 * 3)
	b.ReportAllocs()
	for b.Loop() {
		FromStd(opaque{src})
	}
}

func BenchmarkOrient6(b *testing.B) {
	m := NewImage(640, 480)
	b.SetBytes(int64(len(m.Pix)))
	b.ReportAllocs()
	for b.Loop() {
		Orient(m, 6)
	}
}
