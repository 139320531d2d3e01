package imgio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"go/build"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate/internal/testutil/testenv"
	"golang.org/x/image/bmp"
)

// expectRGB returns the straight (non-premultiplied) 8-bit RGB of src, the
// value Decode must reproduce exactly for lossless formats.
func expectRGB(src image.Image) *Image {
	b := src.Bounds()
	m := NewImage(b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var r, g, bb uint32
			switch c := src.At(b.Min.X+x, b.Min.Y+y).(type) {
			case color.NRGBA:
				r, g, bb = uint32(c.R)<<8, uint32(c.G)<<8, uint32(c.B)<<8
			case color.NRGBA64:
				r, g, bb = uint32(c.R), uint32(c.G), uint32(c.B)
			default:
				r, g, bb, _ = c.RGBA()
			}
			i := (y*m.W + x) * 3
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
		}
	}
	return m
}

func encodeGIF(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		t.Fatalf("gif.Encode: %v", err)
	}
	return buf.Bytes()
}

func encodeBMP(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, m); err != nil {
		t.Fatalf("bmp.Encode: %v", err)
	}
	return buf.Bytes()
}

func TestDecodeLosslessRoundTrip(t *testing.T) {
	const w, h = 41, 27 // odd sizes exercise row padding
	grad := gradientNRGBA(w, h)

	gray := image.NewGray(grad.Bounds())
	draw.Draw(gray, gray.Bounds(), grad, image.Point{}, draw.Src)

	gray16 := image.NewGray16(grad.Bounds())
	nrgba64 := image.NewNRGBA64(grad.Bounds())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			gray16.SetGray16(x, y, color.Gray16{uint16(x*1500 + y*37)})
			nrgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 1600), uint16(y * 2400), uint16((x + y) * 900), 0xffff - uint16(x*100)})
		}
	}

	pal := image.NewPaletted(grad.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Bounds(), grad, image.Point{}, draw.Src)

	translucent := image.NewNRGBA(grad.Bounds())
	copy(translucent.Pix, grad.Pix)
	for i := 3; i < len(translucent.Pix); i += 4 {
		translucent.Pix[i] = uint8(i * 7) // varying alpha, never composited
	}

	// A 4-bit grey palette round trips exactly through GIF and BMP.
	smallPal := image.NewPaletted(grad.Bounds(), color.Palette{
		color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{10, 20, 250, 255},
	})
	for i := range smallPal.Pix {
		smallPal.Pix[i] = uint8((i*i + i/3) % 4)
	}

	tests := []struct {
		name   string
		data   []byte
		format Format
		want   *Image
	}{
		{"png/rgb", encodePNG(t, grad), PNG, expectRGB(grad)},
		{"png/gray", encodePNG(t, gray), PNG, expectRGB(gray)},
		{"png/gray16", encodePNG(t, gray16), PNG, expectRGB(gray16)},
		{"png/rgba16", encodePNG(t, nrgba64), PNG, expectRGB(nrgba64)},
		{"png/paletted", encodePNG(t, pal), PNG, expectRGB(pal)},
		{"png/alpha", encodePNG(t, translucent), PNG, expectRGB(translucent)},
		{"gif/paletted", encodeGIF(t, pal), GIF, expectRGB(pal)},
		{"gif/small-palette", encodeGIF(t, smallPal), GIF, expectRGB(smallPal)},
		{"bmp/24bit", encodeBMP(t, grad), BMP, expectRGB(grad)},
		{"bmp/32bit", encodeBMP(t, translucent), BMP, expectRGB(translucent)},
		{"bmp/gray", encodeBMP(t, gray), BMP, expectRGB(gray)},
		{"bmp/paletted", encodeBMP(t, smallPal), BMP, expectRGB(smallPal)},
		{"webp/lossless-solid", webpFile(riffChunk("VP8L", solidVP8L(w, h, color.NRGBA{12, 200, 99, 255}))), WebP, solidImage(w, h, 12, 200, 99)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, info, err := Decode(tt.data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if info.Format != tt.format || info.W != w || info.H != h || info.Orientation != 1 {
				t.Errorf("info = %+v, want format %s %dx%d orientation 1", info, tt.format, w, h)
			}
			if m.W != w || m.H != h || len(m.Pix) != w*h*3 {
				t.Fatalf("image %dx%d len %d", m.W, m.H, len(m.Pix))
			}
			if d := maxDiff(t, m, tt.want); d != 0 {
				t.Errorf("pixels differ by up to %d", d)
			}
		})
	}
}

func solidImage(w, h int, r, g, b uint8) *Image {
	m := NewImage(w, h)
	for i := 0; i < len(m.Pix); i += 3 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2] = r, g, b
	}
	return m
}

func TestDecodeJPEG(t *testing.T) {
	goJPEG(t)
	const w, h = 67, 45
	src := photoLike(w, h)
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)
	tests := []struct {
		name string
		img  image.Image
	}{
		{"ycbcr420", src}, // image/jpeg always writes 4:2:0 for colour
		{"gray", gray},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeJPEG(t, tt.img, 95)
			m, info, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if info != (Info{Format: JPEG, W: w, H: h, Orientation: 1}) {
				t.Errorf("info = %+v", info)
			}
			// Against the original: lossy, so bound mean and max error.
			want := expectRGB(tt.img)
			var sum int
			for i := range m.Pix {
				sum += absInt(int(m.Pix[i]) - int(want.Pix[i]))
			}
			if mean := float64(sum) / float64(len(m.Pix)); mean > 5 {
				t.Errorf("mean abs error vs source %.2f > 5", mean)
			}
			if d := maxDiff(t, m, want); d > 40 {
				t.Errorf("max abs error vs source %d > 40", d)
			}
			// Against the stdlib decoder's own colour conversion: within 1.
			std, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(t, m, FromStd(opaque{std})); d > 1 {
				t.Errorf("differs from At() conversion by %d", d)
			}
		})
	}
}

// stdTestdata returns a file from $GOROOT/src/image/testdata, skipping the
// test when the Go source tree is not installed.
func stdTestdata(t *testing.T, name string) []byte {
	t.Helper()
	p := filepath.Join(build.Default.GOROOT, "src", "image", "testdata", name)
	b, err := os.ReadFile(p)
	testenv.Need(t, "Go source tree's image testdata (install Go with its src/ folder)", err)
	return b
}

// TestDecodeStdlibJPEGVariants decodes the real subsampled, progressive,
// grey and CMYK JPEGs shipped with the Go source tree and compares the fast
// conversion with the generic one.
func TestDecodeStdlibJPEGVariants(t *testing.T) {
	goJPEG(t)
	for _, name := range []string{
		"video-001.q50.410.jpeg", "video-001.q50.411.jpeg", "video-001.q50.420.jpeg",
		"video-001.q50.422.jpeg", "video-001.q50.440.jpeg", "video-001.q50.444.jpeg",
		"video-001.q50.420.progressive.jpeg", "video-001.progressive.jpeg",
		"video-001.restart2.jpeg", "video-001.rgb.jpeg", "video-005.gray.jpeg",
		"video-001.cmyk.jpeg",
	} {
		t.Run(name, func(t *testing.T) {
			data := stdTestdata(t, name)
			m, info, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			std, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			b := std.Bounds()
			if info.Format != JPEG || info.W != b.Dx() || info.H != b.Dy() {
				t.Errorf("info = %+v, bounds %v", info, b)
			}
			if d := maxDiff(t, m, FromStd(opaque{std})); d > 1 {
				t.Errorf("fast path (%T) differs from At() by %d", std, d)
			}
			if name == "video-001.cmyk.jpeg" {
				if _, ok := std.(*image.CMYK); !ok {
					t.Errorf("expected *image.CMYK from the decoder, got %T", std)
				}
				ref, err := png.Decode(bytes.NewReader(stdTestdata(t, "video-001.cmyk.png")))
				if err != nil {
					t.Fatal(err)
				}
				var sum int
				want := expectRGB(ref)
				for i := range m.Pix {
					sum += absInt(int(m.Pix[i]) - int(want.Pix[i]))
				}
				if mean := float64(sum) / float64(len(m.Pix)); mean > 4 {
					t.Errorf("CMYK mean abs error vs reference PNG %.2f > 4", mean)
				}
			}
		})
	}
}

// xImageTestdata returns a file from golang.org/x/image's testdata in the
// module cache, skipping the test if it is not there.
func xImageTestdata(t *testing.T, name string) []byte {
	t.Helper()
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "golang.org/x/image" {
				version = d.Version
			}
		}
	}
	if version == "" {
		// Test binaries may lack dependency build info; fall back to go.mod.
		if mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod")); err == nil {
			for _, line := range strings.Split(string(mod), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "golang.org/x/image" {
					version = f[1]
				}
			}
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		cache = filepath.Join(build.Default.GOPATH, "pkg", "mod")
	}
	p := filepath.Join(cache, "golang.org", "x", "image@"+version, "testdata", name)
	b, err := os.ReadFile(p)
	if version == "" && err == nil {
		err = errors.New("golang.org/x/image is not in the build list")
	}
	testenv.Need(t, "golang.org/x/image testdata (run 'go mod download golang.org/x/image')", err)
	return b
}

func TestDecodeWebPTestdata(t *testing.T) {
	tests := []struct {
		webp, png string
		lossless  bool
	}{
		{"blue-purple-pink.lossless.webp", "blue-purple-pink.png", true},
		{"gopher-doc.8bpp.lossless.webp", "gopher-doc.8bpp.png", true},
		{"blue-purple-pink.lossy.webp", "blue-purple-pink.png", false},
	}
	for _, tt := range tests {
		t.Run(tt.webp, func(t *testing.T) {
			data := xImageTestdata(t, tt.webp)
			refImg, err := png.Decode(bytes.NewReader(xImageTestdata(t, tt.png)))
			if err != nil {
				t.Fatal(err)
			}
			m, info, err := Decode(data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := expectRGB(refImg)
			if info.Format != WebP || info.W != want.W || info.H != want.H {
				t.Fatalf("info = %+v, want webp %dx%d", info, want.W, want.H)
			}
			d := maxDiff(t, m, want)
			if tt.lossless && d != 0 {
				t.Errorf("lossless WebP differs from PNG by %d", d)
			}
			if !tt.lossless && d > 64 {
				t.Errorf("lossy WebP differs from PNG by %d", d)
			}
		})
	}
}

// TestDecodeWebPDataset decodes a real lossy WebP that carries a .jpg name,
// proving detection is by content.
func TestDecodeWebPDataset(t *testing.T) {
	p := sharedFile(t, "deepface_testset/images/img47.jpg")
	m, info, err := DecodeFile(p, Limits{})
	if err != nil {
		t.Fatalf("DecodeFile: %v", err)
	}
	if info.Format != WebP {
		t.Errorf("format = %q, want webp", info.Format)
	}
	if m.W != info.W || m.H != info.H || len(m.Pix) != m.W*m.H*3 || m.W < 100 || m.H < 100 {
		t.Errorf("image %dx%d len %d, info %+v", m.W, m.H, len(m.Pix), info)
	}
	// A real photo is not a flat colour: sample a 10x10 grid.
	distinct := map[[3]uint8]bool{}
	for j := 0; j < 10; j++ {
		for i := 0; i < 10; i++ {
			r, g, b := m.At(m.W*i/10, m.H*j/10)
			distinct[[3]uint8{r, g, b}] = true
		}
	}
	if len(distinct) < 20 {
		t.Errorf("only %d distinct colours in a 10x10 sample grid", len(distinct))
	}
}

// TestDecodeGIFPartialFirstFrame documents that a first frame smaller than
// the logical screen is returned on its own.
func TestDecodeGIFPartialFirstFrame(t *testing.T) {
	frame := image.NewPaletted(image.Rect(5, 5, 15, 12), color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{200, 100, 50, 255}})
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i % 2)
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{
		Image:  []*image.Paletted{frame, image.NewPaletted(image.Rect(0, 0, 20, 20), frame.Palette)},
		Delay:  []int{0, 0},
		Config: image.Config{ColorModel: frame.Palette, Width: 20, Height: 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, info, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if info != (Info{Format: GIF, W: 10, H: 7, Orientation: 1}) {
		t.Errorf("info = %+v", info)
	}
	if d := maxDiff(t, m, expectRGB(frame)); d != 0 {
		t.Errorf("pixels differ by %d", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	src := photoLike(64, 48)
	jpg := encodeJPEG(t, src, 90)
	pngData := encodePNG(t, src)
	pal := image.NewPaletted(src.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Bounds(), src, image.Point{}, draw.Src)
	gifData := encodeGIF(t, pal)
	bmpData := encodeBMP(t, src)
	webpData := webpFile(riffChunk("VP8L", solidVP8L(300, 200, color.NRGBA{1, 2, 3, 255})))

	badCRC := append([]byte{}, pngData...)
	badCRC[len(badCRC)/2] ^= 0xFF

	// A BMP header announcing 6000x6000 24-bit pixels with no pixel data:
	// must be rejected before the decoder allocates ~144 MB.
	bigBMP := append([]byte{}, encodeBMP(t, image.NewRGBA(image.Rect(0, 0, 1, 1)))[:54]...)
	binary.LittleEndian.PutUint32(bigBMP[18:], 6000)
	binary.LittleEndian.PutUint32(bigBMP[22:], 6000)

	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrEmpty},
		{"empty-slice", []byte{}, Limits{}, ErrEmpty},
		{"text", []byte("hello world"), Limits{}, ErrUnsupported},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00\x00\x00"), Limits{}, ErrUnsupported},
		{"text-starting-BM", []byte("BMW is a car maker"), Limits{}, ErrUnsupported},
		{"riff-wave", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), Limits{}, ErrUnsupported},
		{"jpeg/half", jpg[:len(jpg)/2], Limits{}, ErrTruncated},
		{"jpeg/header-only", jpg[:20], Limits{}, ErrTruncated},
		{"jpeg/no-eoi", jpg[:len(jpg)-2], Limits{}, ErrTruncated},
		{"jpeg/soi-only", []byte{0xFF, 0xD8, 0xFF}, Limits{}, ErrTruncated},
		{"jpeg/eoi-before-frame", []byte{0xFF, 0xD8, 0xFF, 0xD9}, Limits{}, ErrCorrupt},
		{"jpeg/unknown-marker", []byte{0xFF, 0xD8, 0xFF, 0x12, 0x00, 0x02, 0xFF, 0xD9}, Limits{}, ErrCorrupt},
		{"png/half", pngData[:len(pngData)/2], Limits{}, ErrTruncated},
		{"png/signature-only", pngData[:8], Limits{}, ErrTruncated},
		{"png/bad-crc", badCRC, Limits{}, ErrCorrupt},
		{"png/zero-width", pngHeaderOnly(0, 10), Limits{}, ErrCorrupt},
		{"gif/half", gifData[:len(gifData)/2], Limits{}, ErrTruncated},
		{"gif/signature-only", gifData[:6], Limits{}, ErrTruncated},
		{"bmp/half", bmpData[:len(bmpData)/2], Limits{}, ErrTruncated},
		{"bmp/header-only", bigBMP, Limits{}, ErrTruncated},
		{"bmp/rle", rleBMP(bmpData), Limits{}, ErrUnsupported},
		{"webp/half", webpData[:len(webpData)/2], Limits{}, ErrTruncated},
		{"webp/no-image-chunk", webpFile(riffChunk("EXIF", tiffWithOrientation(binary.LittleEndian, 6))), Limits{}, ErrCorrupt},
		{"too-many-bytes", pngData, Limits{MaxBytes: 100}, ErrTooLarge},
		{"too-many-pixels", pngData, Limits{MaxPixels: 64*48 - 1}, ErrTooLarge},
		{"png/50000x50000", pngHeaderOnly(50000, 50000), Limits{}, ErrTooLarge},
		{"png/2^31x2^31", pngHeaderOnly(1<<31-1, 1<<31-1), Limits{}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, info, err := Decode(tt.data, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if m != nil || info != (Info{}) {
				t.Errorf("on error got image %v, info %+v", m != nil, info)
			}
			if !strings.HasPrefix(err.Error(), "imgio: ") {
				t.Errorf("error %q lacks the imgio: prefix", err)
			}
			for _, other := range []error{ErrEmpty, ErrUnsupported, ErrTruncated, ErrCorrupt, ErrTooLarge} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}

	// The limits at exactly the image's size are accepted.
	if _, _, err := Decode(pngData, Limits{MaxBytes: int64(len(pngData)), MaxPixels: 64 * 48}); err != nil {
		t.Errorf("Decode at exact limits: %v", err)
	}
}

// rleBMP turns a BMP header into one claiming RLE8 compression, which
// x/image/bmp does not implement.
func rleBMP(b []byte) []byte {
	out := append([]byte{}, b...)
	binary.LittleEndian.PutUint16(out[28:], 8)
	binary.LittleEndian.PutUint32(out[30:], 1)
	return out
}

func TestDecodeHugeHeaderFailsFast(t *testing.T) {
	data := pngHeaderOnly(50000, 50000)
	_, _, err := Decode(data, Limits{})
	const wantMsg = "imgio: image 50000x50000 is 2500000000 pixels, limit 40000000: imgio: image too large"
	if err == nil || err.Error() != wantMsg {
		t.Fatalf("error = %v, want %q", err, wantMsg)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := 0; i < 10; i++ {
		if _, _, err := Decode(data, Limits{}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error = %v", err)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if delta := after.TotalAlloc - before.TotalAlloc; delta > 10<<20 {
		t.Errorf("10 rejections allocated %d bytes, want < 10 MB", delta)
	}
	if elapsed > time.Second {
		t.Errorf("10 rejections took %v", elapsed)
	}
	allocs := testing.AllocsPerRun(20, func() { _, _, _ = Decode(data, Limits{}) })
	if allocs > 50 {
		t.Errorf("%.0f allocations per rejected decode, want <= 50", allocs)
	}

	// Dimensions overflowing 64-bit multiplication are still rejected.
	if err := checkDims(1<<62, 1<<62, 1<<40); !errors.Is(err, ErrTooLarge) {
		t.Errorf("checkDims overflow = %v", err)
	}
	if err := checkDims(-1, 5, 100); !errors.Is(err, ErrCorrupt) {
		t.Errorf("checkDims(-1, 5) = %v", err)
	}
}

func TestDecodeBMPHeaderOnlyNoBigAlloc(t *testing.T) {
	b := append([]byte{}, encodeBMP(t, image.NewRGBA(image.Rect(0, 0, 1, 1)))[:54]...)
	binary.LittleEndian.PutUint32(b[18:], 6000)
	binary.LittleEndian.PutUint32(b[22:], 6000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := Decode(b, Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	if delta := after.TotalAlloc - before.TotalAlloc; delta > 10<<20 {
		t.Errorf("allocated %d bytes, want < 10 MB", delta)
	}
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	src := gradientNRGBA(20, 10)
	data := encodePNG(t, src)
	good := filepath.Join(dir, "photo.txt") // the name must not matter
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}

	m, info, err := DecodeFile(good, Limits{})
	if err != nil {
		t.Fatalf("DecodeFile: %v", err)
	}
	if info.Format != PNG || m.W != 20 || m.H != 10 {
		t.Errorf("info %+v image %dx%d", info, m.W, m.H)
	}
	if d := maxDiff(t, m, expectRGB(src)); d != 0 {
		t.Errorf("pixels differ by %d", d)
	}

	if _, _, err := DecodeFile(good, Limits{MaxBytes: int64(len(data)) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over MaxBytes: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := DecodeFile(good, Limits{MaxBytes: int64(len(data))}); err != nil {
		t.Errorf("exactly MaxBytes: %v", err)
	}

	if _, _, err := DecodeFile(filepath.Join(dir, "missing.png"), Limits{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeFile(empty, Limits{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty file: err = %v, want ErrEmpty", err)
	}

	text := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(text, []byte("hello world"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DecodeFile(text, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("text file: err = %v, want ErrUnsupported", err)
	}
}

func TestReadLimited(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 5000)
	for _, tt := range []struct {
		limit, hint int64
		wantLen     int
	}{
		{10000, 5000, 5000},
		{10000, 0, 5000},
		{4000, 0, 4001}, // reads one byte past the limit so callers can detect it
		{4000, 5000, 4001},
		{5000, 5000, 5000},
	} {
		got, err := readLimited(bytes.NewReader(data), tt.limit, tt.hint)
		if err != nil || len(got) != tt.wantLen {
			t.Errorf("readLimited(limit %d, hint %d) = %d bytes, %v; want %d", tt.limit, tt.hint, len(got), err, tt.wantLen)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"\xff\xd8\xff\xe0", JPEG, true},
		{"\xff\xd8", "", false},
		{"\x89PNG\r\n\x1a\n", PNG, true},
		{"\x89PNG", "", false},
		{"GIF87a", GIF, true},
		{"GIF89a", GIF, true},
		{"GIF90a", "", false},
		{"RIFF\x00\x00\x00\x00WEBP", WebP, true},
		{"RIFF\x00\x00\x00\x00AVI ", "", false},
		{"BM", BMP, true},
		{"BM\x00\x00\x00\x00\x00\x00\x00\x00", BMP, true},
		{"BMP file", "", false},
		{"<svg>", "", false},
		{"\x00\x00\x00\x18ftypheic", "", false},
	}
	for _, tt := range tests {
		got, ok := detect([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("detect(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
