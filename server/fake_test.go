package server_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// fakeAnalyser is a deterministic engine.Analyzer for the server tests that exercise decisions rather than
// models: it reads who is in a picture from the picture's first pixels, which the test paints (fakePhoto). So
// those tests run anywhere, without the model pack, and their scores are exact.
//
// Pixel (0,0) is the first face: R = identity, G = a second identity, B = 100·cos, the template being
// cos·unit(R) + sin·unit(G) (B = 100: exactly unit(R)). Pixel (1,0), when its alpha is 255 and R > 0, is a
// second, smaller face coded the same way.
type fakeAnalyser struct{}

var _ engine.Analyzer = fakeAnalyser{}

func (fakeAnalyser) Analyze(ctx context.Context, img *imgio.Image, opt engine.Options) ([]facegate.Face, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var faces []facegate.Face
	for i := range 2 {
		r, g, b, ok := fakePixel(img, i)
		if !ok {
			break
		}
		size := float32(img.H) / float32(2+i*2)
		f := facegate.Face{Box: facegate.Box{X1: float32(i) * size, Y1: 0, X2: float32(i)*size + size, Y2: size}, Score: 0.99,
			Quality: facegate.Quality{Size: size, Score: 0.9, Sharpness: 0.8, LeftEyeOpen: 0.9, RightEyeOpen: 0.9, Brightness: 0.5, Contrast: 0.2}}
		f.Points5 = [5]facegate.Point{{X: f.Box.X1 + size*0.3, Y: size * 0.4}, {X: f.Box.X1 + size*0.7, Y: size * 0.4}, {X: f.Box.X1 + size*0.5, Y: size * 0.55},
			{X: f.Box.X1 + size*0.35, Y: size * 0.75}, {X: f.Box.X1 + size*0.65, Y: size * 0.75}}
		if opt.Embed || opt.PrimaryOnly {
			f.Template = fakeTemplate(r, g, b)
		}
		faces = append(faces, f)
	}
	if len(faces) > 1 && opt.PrimaryOnly {
		faces = faces[:1]
	}
	return faces, nil
}

func (a fakeAnalyser) Embed(ctx context.Context, img *imgio.Image, f facegate.Face) (facegate.Face, error) {
	faces, err := a.Analyze(ctx, img, engine.Options{Embed: true})
	if err != nil {
		return f, err
	}
	for _, g := range faces {
		if g.Box == f.Box {
			f.Template = g.Template
			return f, nil
		}
	}
	return f, errors.New("fake analyser: no such face")
}

func (fakeAnalyser) AlignedImage(img *imgio.Image, f facegate.Face) (*imgio.Image, error) {
	return img, nil
}

// fakePixel reads face i's code from the image (ok false when there is no such face).
func fakePixel(img *imgio.Image, i int) (r, g, b uint8, ok bool) {
	if img.W < 2 || img.H < 1 {
		return 0, 0, 0, false
	}
	p := img.Pix[i*3 : i*3+3]
	if p[0] == 0 {
		return 0, 0, 0, false
	}
	return p[0], p[1], p[2], true
}

// unitFor is the fixed random unit vector of identity id.
func unitFor(id uint8) []float32 {
	rnd := rand.New(rand.NewPCG(uint64(id), 77))
	v := make([]float64, facegate.TemplateDim)
	for i := range v {
		v[i] = rnd.NormFloat64()
	}
	return normalise(v)
}

func normalise(v []float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(n))
	}
	return out
}

// fakeTemplate is cos·unit(r) + sin·unit(g)', with unit(g)' made orthogonal to unit(r): its similarity to
// identity r is exactly cos = b/100.
func fakeTemplate(r, g, b uint8) []float32 {
	a := unitFor(r)
	if b >= 100 || g == 0 {
		return a
	}
	o := unitFor(g)
	var d float64
	for i := range a {
		d += float64(a[i]) * float64(o[i])
	}
	ortho := make([]float64, len(a))
	for i := range a {
		ortho[i] = float64(o[i]) - d*float64(a[i])
	}
	on := normalise(ortho)
	cos := float64(b) / 100
	sin := math.Sqrt(1 - cos*cos)
	mix := make([]float64, len(a))
	for i := range a {
		mix[i] = cos*float64(a[i]) + sin*float64(on[i])
	}
	return normalise(mix)
}

// fakeFace codes one face for fakePhoto.
type fakeFace struct{ id, other, cos uint8 }

// fakePhoto paints a 200x160 PNG whose faces the fake analyser reads back. Every photo is distinct (the last
// pixel carries a counter), so enrolment never takes one for a re-sent image.
func fakePhoto(t testing.TB, faces ...fakeFace) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 200, 160))
	for y := range 160 {
		for x := range 200 {
			img.Set(x, y, color.NRGBA{R: 0, G: 90, B: 90, A: 255})
		}
	}
	for i, f := range faces {
		img.Set(i, 0, color.NRGBA{R: f.id, G: f.other, B: f.cos, A: 255})
	}
	photoSeq++
	img.Set(199, 159, color.NRGBA{R: uint8(photoSeq), G: uint8(photoSeq >> 8), B: 1, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var photoSeq int
