package engine_test

import (
	"slices"
	"testing"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// blur applies a box blur of the given radius, repeated three times (close to a Gaussian).
func blur(img *imgio.Image, r int) *imgio.Image {
	out := imgio.NewImage(img.W, img.H)
	copy(out.Pix, img.Pix)
	tmp := imgio.NewImage(img.W, img.H)
	for pass := 0; pass < 3; pass++ {
		for _, horiz := range []bool{true, false} {
			for y := 0; y < img.H; y++ {
				for x := 0; x < img.W; x++ {
					var s [3]int
					n := 0
					for d := -r; d <= r; d++ {
						xx, yy := x, y
						if horiz {
							xx += d
						} else {
							yy += d
						}
						if xx < 0 || yy < 0 || xx >= img.W || yy >= img.H {
							continue
						}
						o := (yy*img.W + xx) * 3
						s[0] += int(out.Pix[o])
						s[1] += int(out.Pix[o+1])
						s[2] += int(out.Pix[o+2])
						n++
					}
					o := (y*img.W + x) * 3
					tmp.Pix[o], tmp.Pix[o+1], tmp.Pix[o+2] = uint8(s[0]/n), uint8(s[1]/n), uint8(s[2]/n)
				}
			}
			out, tmp = tmp, out
		}
	}
	return out
}

func scaleBrightness(img *imgio.Image, f float64) *imgio.Image {
	out := imgio.NewImage(img.W, img.H)
	for i, v := range img.Pix {
		out.Pix[i] = uint8(min(255, float64(v)*f))
	}
	return out
}

// TestQualityReactsToDegradation: blur lowers sharpness and raises "blurred"; darkening raises "dark"; a shrunken
// face raises "too_small"; the clean portrait scores best.
func TestQualityReactsToDegradation(t *testing.T) {
	e := testEngine(t)
	src, _, err := imgio.Decode(oneFace640(t), imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	face := func(img *imgio.Image) (sharp, score float32, issues []string) {
		t.Helper()
		faces := analyze(t, e, img, engine.Options{MinFaceSize: 20})
		if len(faces) != 1 {
			t.Fatalf("%d faces", len(faces))
		}
		q := faces[0].Quality
		return q.Sharpness, q.Score, q.Issues
	}
	sharp0, score0, issues0 := face(src)
	if slices.Contains(issues0, "blurred") || slices.Contains(issues0, "dark") || slices.Contains(issues0, "too_small") {
		t.Errorf("clean portrait flagged: %v", issues0)
	}
	if l, r := analyze(t, e, src, engine.Options{})[0].Quality.LeftEyeOpen, analyze(t, e, src, engine.Options{})[0].Quality.RightEyeOpen; l < 0.5 || r < 0.5 {
		t.Errorf("open eyes reported closed: %.2f %.2f", l, r)
	}
	sharp1, score1, issues1 := face(blur(src, 4))
	if sharp1 >= sharp0*0.7 || !slices.Contains(issues1, "blurred") || score1 >= score0 {
		t.Errorf("blur: sharpness %.2f -> %.2f, score %.2f -> %.2f, issues %v", sharp0, sharp1, score0, score1, issues1)
	}
	_, score2, issues2 := face(scaleBrightness(src, 0.25))
	if !slices.Contains(issues2, "dark") || score2 >= score0 {
		t.Errorf("darkened: score %.2f -> %.2f, issues %v", score0, score2, issues2)
	}
	small := resize(src, 96, 72) // the face is about 42 px high
	canvas := imgio.NewImage(640, 480)
	for y := 0; y < small.H; y++ {
		copy(canvas.Pix[((200+y)*640+240)*3:((200+y)*640+240+small.W)*3], small.Pix[y*small.W*3:(y+1)*small.W*3])
	}
	_, score3, issues3 := face(canvas)
	if !slices.Contains(issues3, "too_small") || score3 >= score0 {
		t.Errorf("small face: score %.2f -> %.2f, issues %v", score0, score3, issues3)
	}

}
