package engine_test

import (
	"bytes"
	"flag"
	"image"
	"image/jpeg"
	"path/filepath"
	"sync"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/testutil/testenv"
	xdraw "golang.org/x/image/draw"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var (
	engOnce sync.Once
	eng     *engine.Engine
	engErr  error
)

// testEngine returns a shared engine. The model pack comes from 'make deps' (npm); without it the test skips
// (fails under CI=true). It cannot be testutil.Engine, which the internal tests of this package cannot import.
func testEngine(t testing.TB) *engine.Engine {
	t.Helper()
	paths := testenv.ModelPack(t)
	engOnce.Do(func() {
		eng, engErr = engine.New(engine.Config{RuntimePath: paths.Runtime, ModelsDir: paths.Models})
	})
	if engErr != nil {
		t.Fatalf("starting the engine on the located model pack: %v", engErr)
	}
	return eng
}

// npmImage is one of the group photos scripts/deps.sh extracts from @vladmandic/face-api.
func npmImage(t testing.TB, name string) *imgio.Image {
	t.Helper()
	p := testenv.DepsFile(t, filepath.Join("testimages", name))
	img, _, err := imgio.DecodeFile(p, imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// shared returns a path under ../shared/datasets, skipping the test when the datasets are absent (failing it
// under CI=true).
func shared(t testing.TB, rel string) string {
	t.Helper()
	return testenv.Shared(t, rel)
}

func decode(t testing.TB, path string) *imgio.Image {
	t.Helper()
	img, _, err := imgio.DecodeFile(path, imgio.DefaultLimits)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

func analyze(t testing.TB, e *engine.Engine, img *imgio.Image, opt engine.Options) []facegate.Face {
	t.Helper()
	faces, err := e.Analyze(t.Context(), img, opt)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return faces
}

// resize scales img by f with bilinear filtering (x/image/draw), for building test inputs.
func resize(img *imgio.Image, w, h int) *imgio.Image {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(dst, dst.Rect, img.ToStd(), image.Rect(0, 0, img.W, img.H), xdraw.Src, nil)
	return imgio.FromStd(dst)
}

func crop(img *imgio.Image, r image.Rectangle) *imgio.Image {
	out := imgio.NewImage(r.Dx(), r.Dy())
	for y := 0; y < r.Dy(); y++ {
		copy(out.Pix[y*r.Dx()*3:(y+1)*r.Dx()*3], img.Pix[((r.Min.Y+y)*img.W+r.Min.X)*3:((r.Min.Y+y)*img.W+r.Max.X)*3])
	}
	return out
}

func encodeJPEG(t testing.TB, img *imgio.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img.ToStd(), &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func iou(a, b facegate.Box) float64 {
	ix := min(a.X2, b.X2) - max(a.X1, b.X1)
	iy := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := float64(ix * iy)
	return inter / (float64(a.W()*a.H()+b.W()*b.H()) - inter)
}

// bestMatch returns the face in faces with the highest IoU with box, and that IoU.
func bestMatch(faces []facegate.Face, box facegate.Box) (int, float64) {
	bi, best := -1, 0.0
	for i, f := range faces {
		if v := iou(f.Box, box); v > best {
			bi, best = i, v
		}
	}
	return bi, best
}

// oneFace640 is a real one-face 640x480 JPEG made from a group photo (the person on the left of sample6).
func oneFace640(t testing.TB) []byte {
	img := npmImage(t, "sample6.jpg")
	return encodeJPEG(t, crop(img, image.Rect(0, 380, 640, 860)), 90)
}
