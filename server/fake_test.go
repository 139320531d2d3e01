package server_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

// fakeAnalyser is a deterministic engine.Analyzer for the server tests that exercise decisions rather than
// models: it reads who is in a picture from the picture's first pixels, which the test paints (fakePhoto). So
// those tests run anywhere, without the model pack, and their scores are exact.
//
// Pixel (0,0) is the first face: R = identity, G = a second identity, B = 100·cos, the template being
// cos·unit(R) + sin·unit(G) (B = 100: exactly unit(R)). R = 0 there: no face at all (pngBlack is such a picture).
// Pixel (1,0), when R > 0, is a second, smaller face coded the same way (the first face is H/2 pixels tall, the
// second H/4: 80 and 40 in a fakePhoto, so the second fails enrolment's default minimum size of 60).
//
// Like the engine, it refuses a MinFaceSize below engine.MinFaceFloor, keeps at most MaxFaces (when set) and
// fills Options.Report.
//
// Attributes, when asked for, are fixed and checkable: age = the identity (R), gender female (0.9), expression
// neutral, live (0.95). Landmarks stay empty and AlignedImage returns the picture unchanged, so tests of the
// alignment or the 68-point annotations need the real engine.
type fakeAnalyser struct{}

var _ engine.Analyzer = fakeAnalyser{}

func (fakeAnalyser) Analyze(ctx context.Context, img *imgio.Image, opt engine.Options) ([]facegate.Face, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := engine.CheckMinFace(opt.MinFaceSize); err != nil {
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
		if len(opt.Attributes) > 0 {
			f.Attributes = fakeAttributes(r, opt.Attributes)
		}
		faces = append(faces, f)
	}
	if rep := opt.Report; rep != nil {
		*rep = engine.Report{MinFaceUsed: cmp.Or(opt.MinFaceSize, engine.DefaultMinFace), FacesFound: len(faces),
			Truncated: opt.MaxFaces > 0 && len(faces) > opt.MaxFaces}
	}
	if opt.MaxFaces > 0 && len(faces) > opt.MaxFaces {
		faces = faces[:opt.MaxFaces]
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

// fakeAttributes are the attributes asked for, fixed as the fakeAnalyser's doc comment says.
func fakeAttributes(id uint8, asked []engine.Attribute) *facegate.Attributes {
	var a facegate.Attributes
	for _, at := range asked {
		switch at {
		case engine.AttrAge:
			age := float32(id)
			a.Age = &age
		case engine.AttrGender:
			p := float32(0.9)
			a.Gender, a.GenderProb = "female", &p
		case engine.AttrExpression:
			a.Expression = "neutral"
			a.ExprProbs = []float32{0, 0, 0, 0, 0, 0, 1}
		case engine.AttrLiveness:
			live, score := true, float32(0.95)
			a.Live, a.LiveScore = &live, &score
		}
	}
	return &a
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
	return testutil.UnitTemplate(rand.New(rand.NewPCG(uint64(id), 77)), facegate.TemplateDim)
}

// fakeTemplate is cos·unit(r) + sin·unit(g)', with unit(g)' made orthogonal to unit(r): its similarity to
// identity r is exactly cos = b/100.
func fakeTemplate(r, g, b uint8) []float32 {
	if b >= 100 || g == 0 {
		return unitFor(r)
	}
	return testutil.MixTemplate(unitFor(r), unitFor(g), float64(b)/100)
}

// fakeFace codes one face for fakePhoto.
type fakeFace struct{ id, other, cos uint8 }

// fakePhoto paints a 200x160 PNG whose faces the fake analyser reads back. Every photo is distinct (the last
// pixel carries a counter), so enrolment never takes one for a re-sent image.
func fakePhoto(t testing.TB, faces ...fakeFace) []byte {
	t.Helper()
	return encodePNG(t, fakeImage(nil, faces...))
}

// noisyFakePhoto is fakePhoto on a background of random pixels (seeded): its encoded bytes are unlike any other
// picture's, for tests that look for an image's bytes in the data directory.
func noisyFakePhoto(t testing.TB, seed uint64, faces ...fakeFace) []byte {
	t.Helper()
	return encodePNG(t, fakeImage(rand.New(rand.NewPCG(seed, 5)), faces...))
}

// fakeImage paints the faces' codes on a plain background, or a random one when rnd is not nil.
func fakeImage(rnd *rand.Rand, faces ...fakeFace) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 160))
	for y := range 160 {
		for x := range 200 {
			c := color.NRGBA{R: 0, G: 90, B: 90, A: 255}
			if rnd != nil {
				c = color.NRGBA{R: uint8(rnd.IntN(256)), G: uint8(rnd.IntN(256)), B: uint8(rnd.IntN(256)), A: 255}
			}
			img.Set(x, y, c)
		}
	}
	for i := range 2 {
		c := color.NRGBA{R: 0, G: 90, B: 90, A: 255} // R = 0: no face
		if i < len(faces) {
			c = color.NRGBA{R: faces[i].id, G: faces[i].other, B: faces[i].cos, A: 255}
		}
		img.Set(i, 0, c)
	}
	photoSeq++
	img.Set(199, 159, color.NRGBA{R: uint8(photoSeq), G: uint8(photoSeq >> 8), B: 1, A: 255})
	return img
}

var photoSeq int

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeClip writes a video of the given seconds at 5 fps, every frame a fakePhoto of the faces, and returns its
// path. The frames are PNG in AVI, lossless, and as small as the stream pipeline's frames (no downscale), so the
// fake analyser reads the codes back from every decoded frame. It needs ffmpeg (a missing one skips the test,
// fails it under CI=true).
func fakeClip(t *testing.T, seconds int, faces ...fakeFace) string {
	t.Helper()
	ff := testenv.FFmpeg(t)
	dir := t.TempDir()
	frame, clip := filepath.Join(dir, "frame.png"), filepath.Join(dir, "clip.avi")
	if err := os.WriteFile(frame, fakePhoto(t, faces...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ff, "-v", "error", "-loop", "1", "-i", frame, "-t", strconv.Itoa(seconds), "-r", "5",
		"-c:v", "png", "-pix_fmt", "rgb24", clip).CombinedOutput()
	if err != nil {
		t.Fatalf("making the fake clip: %v: %s", err, out)
	}
	return clip
}

// truncatedJPEG is the first half of a JPEG of random pixels: a JPEG that ends in the middle of its data.
func truncatedJPEG(t testing.TB) []byte {
	t.Helper()
	img := fakeImage(rand.New(rand.NewPCG(9, 9)))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:buf.Len()/2]
}

// fakePrimary is the fake analyser's primary face of an encoded image, with its template: what the server
// computes for that image.
func fakePrimary(t testing.TB, data []byte) facegate.Face {
	t.Helper()
	img, _, err := imgio.Decode(data, imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	faces, err := fakeAnalyser{}.Analyze(t.Context(), img, engine.Options{Embed: true, PrimaryOnly: true})
	if err != nil || len(faces) != 1 {
		t.Fatalf("want one fake face: %d faces, %v", len(faces), err)
	}
	return faces[0]
}
