package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"go/build"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"github.com/facegate/facegate/internal/testutil/jpegbomb"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"runtime"
	"testing"
	"time"
)

// estimate runs Decode's header steps on data: the footprint Decode checks against Limits.MaxMemory.
func estimate(t *testing.T, data []byte) footprint {
	t.Helper()
	f, ok := detect(data)
	if !ok {
		t.Fatal("estimate: not an image")
	}
	if f == PNM {
		hd, err := parsePNMHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		return pnmFootprint(hd)
	}
	cfg, err := codecs[f].config(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	fp, err := footprintOf(f, data, cfg, exifOrientation(f, data))
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// allocated returns the bytes fn allocates on the Go heap.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// limitCase is the costliest image of one kind that the default limits accept, and, for kinds whose bound is the
// memory limit rather than the pixel limit, the same kind a little larger, which they refuse.
type limitCase struct {
	name   string
	data   func() []byte
	kind   string
	perPx  float64 // peak bytes a pixel
	goJPEG bool    // decode with image/jpeg, as when libjpeg reports a problem
	bigger func() []byte
}

// limitCases lists the costliest accepted image of every format and kind: 40 megapixels, or as many as MaxMemory
// admits. The images are built without holding their pixels (bomb_test.go).
func limitCases(tb testing.TB) []limitCase {
	side := 6320 // 39.94 megapixels, just under MaxPixels
	exif6 := pngChunk("eXIf", tiffWithOrientation(binary.LittleEndian, 6))
	return []limitCase{
		{"png 8-bit RGBA at the pixel limit", func() []byte { return pngBomb(tb, side, side, 8, 6, false) }, "8-bit RGBA PNG", 7, false, nil},
		{"png 8-bit RGB Paeth", func() []byte { return pngBombFiltered(tb, side, side, 8, 2, false, 4) }, "8-bit RGB PNG", 7, false, nil},
		{"png 8-bit RGB interlaced", func() []byte { return pngBomb(tb, side, side, 8, 2, true) }, "interlaced 8-bit RGB PNG", 8, false, nil},
		{"png 8-bit RGB rotated by EXIF", func() []byte { return pngBomb(tb, side, side, 8, 2, false, exif6) }, "8-bit RGB PNG", 7, false, nil},
		{"png 8-bit greyscale", func() []byte { return pngBomb(tb, side, side, 8, 0, false) }, "8-bit greyscale PNG", 4, false, nil},
		{"png 8-bit greyscale with tRNS", func() []byte { return pngBomb(tb, side, side, 8, 0, false, pngChunk("tRNS", []byte{0, 0})) }, "8-bit greyscale PNG", 7, false, nil},
		{"png 16-bit greyscale", func() []byte { return pngBomb(tb, side, side, 16, 0, false) }, "16-bit greyscale PNG", 5, false, nil},
		{"png 4-bit palette", func() []byte { return pngBomb(tb, side, side, 4, 3, false) }, "4-bit palette PNG", 4, false, nil},
		{"png 16-bit RGBA, largest accepted", func() []byte { return pngBomb(tb, 5400, 5400, 16, 6, false) }, "16-bit RGBA PNG", 11, false,
			func() []byte { return pngBomb(tb, 5400, 5700, 16, 6, false) }},
		{"jpeg 4:2:0 libjpeg", func() []byte { return jpegBomb(tb, side, side, "420", false) }, "JPEG", 4.5, false, nil},
		{"jpeg 4:4:4 Go decoder", func() []byte { return jpegBomb(tb, side, side, "444", false) }, "JPEG", 6, true, nil},
		{"jpeg progressive 4:2:0 Go decoder", func() []byte { return jpegBomb(tb, side, side, "420", true) }, "progressive JPEG", 8.25, true, nil},
		{"jpeg progressive 4:4:4 Go decoder, largest accepted", func() []byte { return jpegBomb(tb, 4400, 4400, "444", true) }, "progressive JPEG", 16.5, true,
			func() []byte { return jpegBomb(tb, 4700, 4700, "444", true) }},
		{"gif", func() []byte {
			return encodeGIF(tb, image.NewPaletted(image.Rect(0, 0, 4000, 4000), color.Palette{color.Black, color.White}))
		}, "GIF", 4, false, nil},
		{"webp lossless, largest accepted", func() []byte { return webpFile(riffChunk("VP8L", solidVP8L(4200, 4200, color.NRGBA{1, 2, 3, 255}))) }, "lossless WebP", 8.75, false,
			func() []byte { return webpFile(riffChunk("VP8L", solidVP8L(4400, 4400, color.NRGBA{1, 2, 3, 255}))) }},
		{"webp extended lossless, largest accepted", func() []byte {
			return webpFile(vp8xChunk(4200, 4200, 0x08), riffChunk("VP8L", solidVP8L(4200, 4200, color.NRGBA{1, 2, 3, 255})),
				riffChunk("EXIF", tiffWithOrientation(binary.LittleEndian, 1)))
		}, "lossless WebP", 8.75, false, nil},
		{"bmp 32-bit", func() []byte { return encodeBMP(tb, image.NewNRGBA(image.Rect(0, 0, 1500, 1500))) }, "32-bit BMP", 7, false, nil},
		{"pgm", func() []byte { return pnmFile("P5 4000 4000 255\n", make([]byte, 4000*4000)...) }, "PGM", 4, false, nil},
	}
}

// TestFootprintMeasured decodes every limitCase and checks that what Decode allocates (TotalAlloc) stays within the
// header's estimate, that the estimate's peak is within MaxMemory at the bytes a pixel the case states, and that a
// larger image of a memory-bound kind is refused.
func TestFootprintMeasured(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 40-megapixel images (about 15 s on 2 cores)")
	}
	lim := DefaultLimits
	cases := limitCases(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.goJPEG {
				goJPEG(t)
			}
			data := c.data()
			fp := estimate(t, data)
			px := float64(fp.w) * float64(fp.h)
			if fp.kind != c.kind || fp.peak() > lim.MaxMemory {
				t.Fatalf("estimate %s, peak %d bytes; want %s within %d", fp.kind, fp.peak(), c.kind, lim.MaxMemory)
			}
			// The stages' bytes a pixel, without the fixed overhead and input length that small images make large.
			base := fp.fixed
			stages := max(fp.native-base, fp.decoder-base, fp.output+fp.image, fp.image+fp.upright, fp.image+fp.pyramid)
			if got := float64(stages) / px; got > c.perPx+0.05 || got < c.perPx-0.01 {
				t.Errorf("peak is %.2f bytes a pixel, want %.2f", got, c.perPx)
			}
			var err error
			start := time.Now()
			got := allocated(func() { _, _, err = Decode(data, lim) })
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			t.Logf("%dx%d, %d bytes: allocated %.1f MB, estimate %.1f MB (peak %.1f MB), %v",
				fp.w, fp.h, len(data), float64(got)/1e6, float64(fp.allocated())/1e6, float64(fp.peak())/1e6, elapsed.Round(time.Millisecond))
			if int64(got) > fp.allocated() {
				t.Errorf("Decode allocated %d bytes, over the estimate's %d", got, fp.allocated())
			}
			if c.bigger != nil {
				if _, _, err := Decode(c.bigger(), lim); !errors.Is(err, ErrTooLarge) {
					t.Errorf("a larger %s: %v, want ErrTooLarge", c.kind, err)
				}
			}
		})
	}
}

// TestFootprintRefusesPNG16Bomb replays issue 12's attack: a 300 KB 16-bit RGBA PNG of 40 megapixels, under the
// pixel limit, which image/png decodes into 320 MB (600 MB and 17 s a request with the engine). It is refused
// from its header, allocating next to nothing, with a sentence saying what to send instead.
func TestFootprintRefusesPNG16Bomb(t *testing.T) {
	data := pngBomb(t, 6320, 6320, 16, 6, false)
	if len(data) > 500<<10 {
		t.Fatalf("bomb is %d bytes", len(data))
	}
	var err error
	start := time.Now()
	got := allocated(func() {
		for range 10 {
			_, _, err = Decode(data, Limits{})
		}
	})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("10 refusals took %v", elapsed)
	}
	if got > 10<<20 {
		t.Errorf("10 refusals allocated %d bytes, want < 10 MB", got)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	msg, _ := Describe(err)
	const want = "the 16-bit RGBA PNG of 39.942 megapixels would need 419 MiB of memory to decode; the limit is 320 MiB: send an 8-bit PNG or a smaller image (at most 30.5 megapixels of this kind)"
	if msg != want {
		t.Errorf("Describe =\n%q, want\n%q", msg, want)
	}
	// One more row than the largest accepted 16-bit RGBA PNG is refused too; the same pixels in 8 bits are not.
	if _, _, err := Decode(pngBomb(t, 5400, 5700, 16, 6, false), Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("5400x5700 16-bit RGBA: %v, want ErrTooLarge", err)
	}
	// A lower limit applies to every format, the native PNM decoder's included.
	small := Limits{MaxMemory: 8 << 20}
	for name, data := range map[string][]byte{
		"pgm":  pnmFile("P5 2000 2000 255\n", make([]byte, 2000*2000)...),
		"jpeg": jpegBomb(t, 2000, 2000, "420", false),
		"gif":  encodeGIF(t, image.NewPaletted(image.Rect(0, 0, 2000, 2000), color.Palette{color.Black})),
	} {
		if _, _, err := Decode(data, small); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s under an 8 MiB limit: %v, want ErrTooLarge", name, err)
		}
	}
}

// TestHeaderEstimates is a table of what the sniffers read from headers and the bytes a pixel each kind costs.
func TestHeaderEstimates(t *testing.T) {
	for _, c := range []struct {
		name        string
		data        []byte
		kind        string
		output, dec float64 // decoder output and all decoder allocations, bytes a pixel (without fixed overhead)
	}{
		{"png 1-bit grey", pngBomb(t, 64, 64, 1, 0, false), "1-bit greyscale PNG", 1, 1},
		{"png 16-bit grey+alpha", pngBomb(t, 64, 64, 16, 4, false), "16-bit greyscale+alpha PNG", 8, 8},
		{"png 16-bit RGB", pngBomb(t, 64, 64, 16, 2, false), "16-bit RGB PNG", 8, 8},
		{"png 16-bit RGBA interlaced", pngBomb(t, 64, 64, 16, 6, true), "interlaced 16-bit RGBA PNG", 8, 16},
		{"png 8-bit palette", pngBomb(t, 64, 64, 8, 3, false), "8-bit palette PNG", 1, 1},
		{"jpeg grey", jpegBomb(t, 64, 64, "gray", false), "JPEG", 1, 1.5},
		{"jpeg 4:2:0", jpegBomb(t, 64, 64, "420", false), "JPEG", 1.5, 2.25},
		{"jpeg progressive 4:4:4", jpegBomb(t, 64, 64, "444", true), "progressive JPEG", 3, 16.5},
		{"webp lossless", webpFile(riffChunk("VP8L", solidVP8L(64, 64, color.NRGBA{A: 255}))), "lossless WebP", 4, 8.75},
		{"gif", encodeGIF(t, image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.Black})), "GIF", 1, 2},
		{"bmp 8-bit", encodeBMP(t, image.NewPaletted(image.Rect(0, 0, 64, 64), color.Palette{color.Black})), "8-bit BMP", 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := estimate(t, c.data)
			px := float64(fp.w * fp.h)
			dec := float64(fp.decoder-fp.fixed) / px
			if fp.kind != c.kind || float64(fp.output)/px != c.output || dec < c.dec || dec > c.dec+0.3 {
				t.Errorf("%s: output %.2f, decoder %.2f bytes a pixel; want %s: %.2f, %.2f",
					fp.kind, float64(fp.output)/px, dec, c.kind, c.output, c.dec)
			}
			if fp.image != 3*int64(px) || fp.pyramid != int64(px) {
				t.Errorf("image %d, pyramid %d bytes for %.0f pixels", fp.image, fp.pyramid, px)
			}
		})
	}
	// A JPEG whose components are named R, G, B, or whose Adobe segment says "no transform", decodes through RGBA.
	rgb := jpegBomb(t, 64, 64, "444", false)
	hd, err := parseJPEGHeader(rgb)
	if err != nil || hd.rgb() {
		t.Fatalf("YCbCr JPEG: rgb %v, %v", hd.rgb(), err)
	}
	hd.ids = [4]byte{'R', 'G', 'B'}
	if out, _ := hd.goCost(64, 64); !hd.rgb() || out != 4*64*64 {
		t.Errorf("RGB JPEG output %d bytes, want %d", out, 4*64*64)
	}
}

// TestFootprintWebPTestdata checks the WebP estimate against real encoders' files (golang.org/x/image's testdata:
// lossy, lossy with alpha, lossless with predictor, colour and colour-indexing transforms): what Decode allocates
// stays within it. There is no WebP encoder in Go to make images at the limits; bytes a pixel do not depend on size.
func TestFootprintWebPTestdata(t *testing.T) {
	for _, name := range []string{
		"blue-purple-pink-large.lossless.webp", "blue-purple-pink-large.normal-filter.lossy.webp",
		"gopher-doc.1bpp.lossless.webp", "gopher-doc.8bpp.lossless.webp", "gopher-doc.with-alpha.lossless.webp",
		"tux.lossless.webp", "video-001.lossy.webp", "yellow_rose.lossless.webp", "yellow_rose.lossy-with-alpha.webp",
		"yellow_rose.lossy.webp",
	} {
		t.Run(name, func(t *testing.T) {
			data := xImageTestdata(t, name)
			fp := estimate(t, data)
			var err error
			got := allocated(func() { _, _, err = Decode(data, Limits{}) })
			if err != nil {
				t.Fatal(err)
			}
			// Small images: the fixed megabyte of the estimate would hide an error a pixel, so compare with 128 KiB
			// of it (the decoders' own structures) instead.
			if est := fp.allocated() - 1<<20 + 128<<10; int64(got) > est {
				t.Errorf("%s %dx%d: allocated %d bytes, estimate without fixed overhead %d", fp.kind, fp.w, fp.h, got, est)
			}
		})
	}
}

// TestFootprintStdTestdata checks the estimate against the Go source tree's real JPEG, PNG and GIF variants (every
// subsampling, progressive, RGB, CMYK, restart intervals, interlaced GIF, and PngSuite's bit depths, colour types,
// transparency and interlacing) with both JPEG decoders.
func TestFootprintStdTestdata(t *testing.T) {
	names, err := filepath.Glob(filepath.Join(build.Default.GOROOT, "src", "image", "testdata", "video-00*"))
	suite, _ := filepath.Glob(filepath.Join(build.Default.GOROOT, "src", "image", "png", "testdata", "pngsuite", "*.png"))
	names = append(names, suite...)
	if err != nil || len(names) == 0 {
		testenv.Need(t, "Go source tree's image testdata", errors.New("no files"))
	}
	for _, native := range []bool{true, false} {
		if !native {
			goJPEG(t)
		}
		for _, p := range names {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(p, "truncated") || strings.HasPrefix(filepath.Base(p), "x") { // PngSuite's x*: invalid
				continue
			}
			fp := estimate(t, data)
			got := allocated(func() { _, _, err = Decode(data, Limits{}) })
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if est := fp.allocated() - 1<<20 + 128<<10; int64(got) > est {
				t.Errorf("%s (%s %dx%d, native JPEG %v): allocated %d bytes, estimate without fixed overhead %d",
					filepath.Base(p), fp.kind, fp.w, fp.h, native, got, est)
			}
		}
	}
}

// TestJPEGScanBombRefused replays a CPU bomb within the limits: a 126 KB progressive JPEG of 40 megapixels with
// 1000 scans of end-of-band runs kept image/jpeg busy for 70 s and libjpeg for 7 s, uncancellable. It is refused
// from its markers in a fraction of a second; the same image with a normal number of scans is not.
func TestJPEGScanBombRefused(t *testing.T) {
	bomb := jpegbomb.Scans(6320, 6320, 1000)
	start := time.Now()
	_, _, err := Decode(bomb, Limits{})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("refusal took %v", elapsed)
	}
	msg, _ := Describe(err)
	const want = "the progressive JPEG of 39.942 megapixels has 1001 scans, too many to decode in time (at most 16 at this size): send a baseline (non-progressive) JPEG or a smaller image"
	if !errors.Is(err, ErrTooLarge) || msg != want {
		t.Fatalf("error %v, Describe %q; want ErrTooLarge, %q", err, msg, want)
	}
	hd, err := parseJPEGHeader(jpegbomb.Scans(6320, 6320, 9))
	if err != nil || hd.scans != 10 || !hd.progressive {
		t.Fatalf("10-scan JPEG: %+v %v", hd, err)
	}
	if err := checkScans(hd, 6320*6320); err != nil {
		t.Errorf("10 scans of 40 megapixels: %v", err)
	}
	// Junk between segments is skipped, as image/jpeg skips it.
	j := jpegBomb(t, 64, 64, "420", false)
	const afterDQT = 2 + 2 + 67
	j = append(append(append([]byte{}, j[:afterDQT]...), "junk"...), j[afterDQT:]...)
	if _, _, err := Decode(j, Limits{}); err != nil {
		t.Errorf("JPEG with junk between segments: %v", err)
	}
	// Restart markers and stuffed bytes inside a scan do not end it.
	hd, err = parseJPEGHeader(jpegBomb(t, 64, 64, "420", false))
	if err != nil || hd.scans != 1 {
		t.Errorf("baseline JPEG with restart markers: %d scans, %v", hd.scans, err)
	}
}

// BenchmarkDecodeLimits decodes the costliest accepted image of every kind (limitCases), reporting time, bytes
// allocated and the estimated peak bytes a pixel: go test -tags libjpeg ./internal/imgio -run - -bench DecodeLimits.
func BenchmarkDecodeLimits(b *testing.B) {
	for _, c := range limitCases(b) {
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			if c.goJPEG {
				saved := fastJPEG
				fastJPEG = nil
				b.Cleanup(func() { fastJPEG = saved })
			}
			data := c.data()
			b.ReportAllocs()
			b.ReportMetric(c.perPx, "peak-B/px")
			for b.Loop() {
				if _, _, err := Decode(data, DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
