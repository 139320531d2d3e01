//go:build cgo && libjpeg

package imgio

import (
	"bytes"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestLibjpegMatchesGo decodes the same JPEGs with libjpeg and image/jpeg: same size, and pixels within the small
// differences two conforming decoders may have (upsampling and IDCT rounding).
func TestLibjpegMatchesGo(t *testing.T) {
	if !NativeJPEG() {
		t.Fatal("built with the libjpeg tag but no native decoder registered")
	}
	files := [][]byte{encodeTestJPEG(t, 640, 480, 90), encodeTestJPEG(t, 333, 217, 60)}
	if p, err := filepath.Glob(filepath.Join("..", "..", ".deps", "testimages", "*.jpg")); err == nil && len(p) > 0 {
		data, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	for i, data := range files {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := fastJPEG(data, cfg.Width, cfg.Height)
		if !ok {
			t.Fatalf("file %d: libjpeg declined a valid JPEG", i)
		}
		std, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ref := FromStd(std)
		var sum, worst int
		for k := range ref.Pix {
			d := int(ref.Pix[k]) - int(fast.Pix[k])
			if d < 0 {
				d = -d
			}
			sum += d
			worst = max(worst, d)
		}
		mean := float64(sum) / float64(len(ref.Pix))
		if mean > 1.5 || worst > 40 {
			t.Errorf("file %d: mean abs diff %.2f, worst %d", i, mean, worst)
		}
	}
	// Truncated and corrupt data are declined, so Decode's Go path classifies them.
	good := files[0]
	if _, ok := fastJPEG(good[:len(good)/2], 640, 480); ok {
		t.Error("libjpeg accepted a truncated JPEG")
	}
	if _, ok := fastJPEG(good, 641, 480); ok {
		t.Error("libjpeg accepted a size other than the header's")
	}
}

func encodeTestJPEG(t *testing.T, w, h, q int) []byte {
	t.Helper()
	img := NewImage(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			// Smooth, photo-like content: chroma subsampling is upsampled differently by the two decoders,
			// which only matters at sharp colour edges.
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = uint8(x*255/w), uint8(y*255/h), uint8(128+100*math.Sin(float64(x)/20)*math.Cos(float64(y)/15))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img.ToStd(), &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
