package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"testing"

	"github.com/facegate/facegate/internal/testutil/jpegbomb"
)

// FuzzDecode checks that Decode never panics, that every failure wraps one
// of the package sentinels, and that every success honours the limits and
// the Image invariants.
func FuzzDecode(f *testing.F) {
	src := gradientNRGBA(13, 7)
	pal := image.NewPaletted(src.Bounds(), palette.WebSafe)
	draw.Draw(pal, pal.Bounds(), src, image.Point{}, draw.Src)
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)

	jpg := encodeJPEG(f, src, 75)
	pngData := encodePNG(f, src)
	seeds := [][]byte{
		jpg,
		encodeJPEG(f, gray, 75),
		insertSegments(jpg, jpegSegment(0xE1, exifAPP1(tiffWithOrientation(binary.BigEndian, 6)))),
		insertSegments(jpg, jpegSegment(0xE1, exifAPP1(tiffWithOrientation(binary.LittleEndian, 7)))),
		pngData,
		encodePNG(f, pal),
		insertPNGChunk(pngData, pngChunk("eXIf", tiffWithOrientation(binary.LittleEndian, 5))),
		encodeGIF(f, pal),
		encodeBMP(f, src),
		encodeBMP(f, pal),
		webpFile(riffChunk("VP8L", solidVP8L(9, 4, color.NRGBA{1, 2, 3, 255}))),
		webpFile(vp8xChunk(9, 4, 0x08), riffChunk("VP8L", solidVP8L(9, 4, color.NRGBA{1, 2, 3, 255})),
			riffChunk("EXIF", tiffWithOrientation(binary.LittleEndian, 6))),
		{},
		[]byte("hello world"),
		jpg[:len(jpg)/2],
		pngHeaderOnly(50000, 50000),
		pngHeaderOnly(2000, 2000),
		pnmFile("P5\n# grey\n3 2\n255\n", 0, 1, 2, 128, 254, 255),
		pnmFile("P6 # rgb\r\n2 1\n15\n", 15, 0, 7, 1, 8, 14),
		pnmFile("P5 2 2 65535\n", be16(0, 0xFFFF, 0x8080, 0x1234)...),
		pnmFile("P6\t1 1\t1000 ", be16(1, 500, 1000)...),
		pnmFile("P5 100000 100000 255\n"),
		pnmFile("P6 3 3 255\n", 1, 2, 3),
		pnmFile("P2\n2 1\n255\n0 255\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}

	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, info, err := Decode(data, lim)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with non-nil image", err)
			}
			matched := 0
			for _, s := range []error{ErrEmpty, ErrUnsupported, ErrTruncated, ErrCorrupt, ErrTooLarge} {
				if errors.Is(err, s) {
					matched++
				}
			}
			if matched != 1 {
				t.Fatalf("error %q wraps %d sentinels, want exactly 1", err, matched)
			}
			return
		}
		if m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H*3 {
			t.Fatalf("bad image %dx%d len %d", m.W, m.H, len(m.Pix))
		}
		if int64(m.W)*int64(m.H) > lim.MaxPixels {
			t.Fatalf("image %dx%d exceeds MaxPixels %d", m.W, m.H, lim.MaxPixels)
		}
		if info.W != m.W || info.H != m.H || info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("info %+v inconsistent with image %dx%d", info, m.W, m.H)
		}
		if f, ok := detect(data); !ok || f != info.Format {
			t.Fatalf("info.Format %q, detect %q %v", info.Format, f, ok)
		}
	})
}

// FuzzHeaders checks that the header sniffers of the memory estimate never panic on arbitrary bytes (they also
// run inside FuzzDecode, but only behind DecodeConfig), and that what they accept gives sane figures.
func FuzzHeaders(f *testing.F) {
	f.Add(pngBomb(f, 9, 7, 16, 6, true, pngChunk("tRNS", []byte{0, 0})))
	f.Add(pngHeaderOnly(3, 3))
	f.Add(jpegBomb(f, 17, 9, "420", true))
	f.Add(jpegBomb(f, 8, 8, "gray", false))
	f.Add(insertSegments(jpegBomb(f, 8, 8, "444", false), jpegSegment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))))
	f.Add([]byte("\xff\xd8\xff\xc2\x00\x0b\x08\x00\x01\x00\x01\x05"))
	f.Add(jpegbomb.Scans(16, 16, 3))
	f.Add(jpegbomb.Disguise(jpegbomb.DCScans(16, 8, 3, 2)))
	f.Add(webpFile(vp8xChunk(9, 4, 0x10), riffChunk("ALPH", []byte{0}), riffChunk("VP8L", solidVP8L(9, 4, color.NRGBA{A: 255}))))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = webpHasChunk(data, "VP8L")
		if hd, err := parsePNGHeader(data); err == nil {
			if hd.channels() == 0 || hd.bytesPerPixel() < 1 || hd.bytesPerPixel() > 8 || hd.rowBytes() < 0 || hd.kind() == "" {
				t.Fatalf("png header %+v", hd)
			}
		}
		if hd, err := parseJPEGHeader(data); err == nil {
			out, dec := hd.goCost(hd.w, hd.h)
			if hd.n < 1 || hd.n > 4 || hd.scans < 0 || out < 0 || dec < out || hd.libjpegCost() < 0 || hd.kind() == "" {
				t.Fatalf("jpeg header %+v: output %d, decoder %d", hd, out, dec)
			}
			// Every scan counted starts at an SOS marker, and covers at most 4 components.
			if sos := bytes.Count(data, []byte{0xFF, 0xDA}); hd.scans > sos || hd.scanSamples < 0 || hd.scanSamples > int64(hd.scans)*4*hd.planes() {
				t.Fatalf("jpeg header %+v: %d scans covering %d samples, %d SOS markers", hd, hd.scans, hd.scanSamples, sos)
			}
		}
	})
}
