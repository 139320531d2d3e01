package eval

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// synthROC returns the ROC of n genuine and n impostor normal scores whose
// means are d apart.
func synthROC(n int, d float64, seed uint64) []ROCPoint {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := make([]Scored, 0, 2*n)
	for i := 0; i < n; i++ {
		s = append(s, Scored{Score: d + rng.NormFloat64(), Same: true})
		s = append(s, Scored{Score: rng.NormFloat64(), Same: false})
	}
	return ROC(s)
}

func TestPlotROC(t *testing.T) {
	curves := []Curve{
		{Name: "model A (d'=4)", Points: synthROC(20000, 4, 1)},
		{Name: "model B (d'=2.5)", Points: synthROC(20000, 2.5, 2)},
		{Name: "", Points: ROC(s1)}, // tiny, unnamed
	}
	const w, h = 640, 480
	var buf bytes.Buffer
	if err := PlotROC(&buf, "ROC on synthetic scores", curves, w, h); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("EVAL_ROC_PNG"); out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("size %v, want %dx%d", b, w, h)
	}
	counts := make([]int, len(curves))
	dark := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			for i := range curves {
				c := curveColors[i]
				if r>>8 == uint32(c.R) && g>>8 == uint32(c.G) && b>>8 == uint32(c.B) {
					counts[i]++
				}
			}
			if r>>8 < 80 && g>>8 < 80 && b>>8 < 80 {
				dark++ // axes and text
			}
		}
	}
	for i, n := range counts {
		// A curve spans most of the plot width: hundreds of pixels.
		if n < 300 {
			t.Errorf("curve %d: only %d pixels of its colour", i, n)
		}
	}
	if dark < 1000 {
		t.Errorf("only %d dark pixels: axes and labels missing?", dark)
	}
}

func TestPlotROCEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	for _, sz := range [][2]int{{0, 0}, {100, 480}, {640, 10}, {100000, 480}, {-5, -5}} {
		err := PlotROC(&buf, "x", nil, sz[0], sz[1])
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("size %v: error %v", sz, err)
		}
	}
	// Degenerate inputs draw without panicking.
	weird := []Curve{
		{Name: strings.Repeat("very long name ", 20), Points: []ROCPoint{{FAR: math.NaN(), TAR: 0.5}, {FAR: -1, TAR: 2}, {FAR: 5, TAR: -1}, {FAR: math.Inf(1), TAR: math.Inf(-1)}}},
		{Name: "single point", Points: []ROCPoint{{FAR: 0.01, TAR: 0.5}}},
		{Name: "empty"},
	}
	for i := 0; i < 12; i++ {
		weird = append(weird, Curve{Points: []ROCPoint{{FAR: 0, TAR: 0}, {FAR: 1, TAR: 1}}})
	}
	buf.Reset()
	if err := PlotROC(&buf, strings.Repeat("long title ", 30), weird, MinPlotWidth, MinPlotHeight); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&buf); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := PlotROC(&buf, "", nil, 800, 600); err != nil {
		t.Fatal(err)
	}
	if err := PlotROC(failWriter{}, "", nil, 800, 600); err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
		t.Errorf("failing writer: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }
