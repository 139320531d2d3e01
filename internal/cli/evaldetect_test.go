package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// evalDetect runs 'eval detect --json' with args and returns the report.
func evalDetect(t *testing.T, args ...string) DetectEvalReport {
	t.Helper()
	code, out, errs := run(t, append([]string{"eval", "detect", "--json"}, args...)...)
	if code != ExitOK {
		t.Fatalf("eval detect %v: exit %d: %s", args, code, errs)
	}
	var rep DetectEvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	faces, found := 0, 0
	for _, b := range rep.ByHeight {
		faces += b.Faces
		found += b.Found
	}
	if faces != rep.Faces || found != rep.TruePositives || rep.TruePositives+rep.FalsePositives != rep.Detections {
		t.Errorf("counts do not add up: buckets %d faces %d found; report %+v", faces, found, rep)
	}
	if rep.MeanSeconds <= 0 || rep.P95Seconds < rep.MeanSeconds/10 {
		t.Errorf("time per image mean %v p95 %v", rep.MeanSeconds, rep.P95Seconds)
	}
	return rep
}

// TestEvalDetectDlib: the labelled dlib_examples photos (43 faces, 24 to ~150 px) with the default profile: every
// face is found at IoU 0.5 (the accuracy tests find them all at 0.4), with no false positive.
func TestEvalDetectDlib(t *testing.T) {
	needModels(t)
	dir := sharedPath(t, "dlib_examples/detection")
	plot := filepath.Join(t.TempDir(), "pr.png")
	rep := evalDetect(t, "--labels", filepath.Join(dir, "boxes.csv"), "--plot", plot)
	t.Logf("dlib: recall %.3f precision %.3f AP %.3f, %.0f ms an image", rep.Recall, rep.Precision, rep.AP, 1000*rep.MeanSeconds)
	if rep.Images != 9 || rep.Faces != 43 || len(rep.FailedImages) != 0 {
		t.Errorf("images %d faces %d failed %v, want 9, 43, none", rep.Images, rep.Faces, rep.FailedImages)
	}
	if rep.Recall < 0.9 || rep.Precision < 0.9 || rep.AP < 0.9 {
		t.Errorf("recall %.3f precision %.3f AP %.3f, want all >= 0.9", rep.Recall, rep.Precision, rep.AP)
	}
	checkPNG(t, plot, 800, 600)
}

// TestEvalDetectSynthCrowd builds a small synthetic crowd set (6 images) with 'eval synth-crowd', checks it is
// the same for the same seed, and benchmarks the default profile on it through both label files: faces of 40 px
// and more are found, the small ones (which the default 40 px profile does not look for) mostly not, and nearly
// nothing else is reported.
func TestEvalDetectSynthCrowd(t *testing.T) {
	needModels(t)
	lfw := sharedPath(t, "lfw/images_deepfunneled")
	bgs := sharedPath(t, "dlib_examples/detection")
	synth := func(dir string, seed string) string {
		code, out, errs := run(t, "eval", "synth-crowd", "--out", dir, "--images", "6", "--seed", seed, "--pool", "40",
			"--lfw", lfw, "--backgrounds", bgs, "--width", "960", "--height", "540")
		if code != ExitOK || !strings.Contains(out, "wrote 6 images") {
			t.Fatalf("synth-crowd: exit %d: %s%s", code, out, errs)
		}
		data, err := os.ReadFile(filepath.Join(dir, "labels.csv"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	dir := t.TempDir()
	a := synth(dir, "7")
	if b := synth(t.TempDir(), "7"); a != b {
		t.Error("the same seed gave different labels")
	}
	if c := synth(t.TempDir(), "8"); a == c {
		t.Error("another seed gave the same labels")
	}
	rep := evalDetect(t, "--labels", filepath.Join(dir, "labels.csv"))
	t.Logf("synthetic: %d faces, recall %.3f precision %.3f AP %.3f; by height %+v", rep.Faces, rep.Recall, rep.Precision, rep.AP, rep.ByHeight)
	if rep.Images != 6 || rep.Faces < 6*8 {
		t.Errorf("%d images with %d faces, want 6 with at least 48", rep.Images, rep.Faces)
	}
	big := rep.ByHeight[len(rep.ByHeight)-2] // 40-80
	if big.Faces == 0 || big.Recall < 0.85 {
		t.Errorf("faces of 40-80 px: %+v, want recall >= 0.85", big)
	}
	if small := rep.ByHeight[0]; small.Found > small.Faces/2 {
		t.Errorf("faces under 12 px: %+v found with the 40 px profile", small)
	}
	if rep.Precision < 0.9 {
		t.Errorf("precision %.3f, want >= 0.9", rep.Precision)
	}
	// The WIDER-layout label file gives the same figures.
	wider := evalDetect(t, "--labels", filepath.Join(dir, "labels.txt"), "--workers", "1")
	if wider.Faces != rep.Faces || wider.TruePositives != rep.TruePositives || wider.FalsePositives != rep.FalsePositives {
		t.Errorf("labels.txt: %d faces %d found %d false; labels.csv: %d %d %d", wider.Faces, wider.TruePositives,
			wider.FalsePositives, rep.Faces, rep.TruePositives, rep.FalsePositives)
	}
}

// TestEvalDetectBadInput: usage errors and broken label files are refused with a sentence, before any model loads;
// a labelled image that is missing counts its faces as missed and is named.
func TestEvalDetectBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("a.jpg\nnot a count\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "detect"}, ExitUsage, "--labels is required"},
		{[]string{"eval", "detect", "--labels", bad, "--min-face", "5"}, ExitUsage, "--min-face must be at least 10"},
		{[]string{"eval", "detect", "--labels", bad, "--det-threshold", "1.5"}, ExitUsage, "--det-threshold must be in (0, 1)"},
		{[]string{"eval", "detect", "--labels", bad, "--iou", "0"}, ExitUsage, "--iou must be in (0, 1]"},
		{[]string{"eval", "detect", "--labels", bad, "--profile", "fast"}, ExitUsage, "--profile must be default or crowd"},
		{[]string{"eval", "detect", "--labels", filepath.Join(dir, "none.txt")}, ExitError, "no such file"},
		{[]string{"eval", "detect", "--labels", bad}, ExitError, "line 2: want the face count of a.jpg"},
		{[]string{"eval", "synth-crowd"}, ExitUsage, "--out is required"},
		{[]string{"eval", "synth-crowd", "--out", dir, "--images", "0"}, ExitUsage, "--images must be in 1..10000"},
		{[]string{"eval", "synth-crowd", "--out", dir, "--backgrounds", dir}, ExitError, "backgrounds:"},
		{[]string{"eval", "synth-crowd", "--out", dir, "--faces-max", "2000000000"}, ExitUsage, "at most 1000 faces per synthetic image"},
		{[]string{"eval", "synth-crowd", "--out", dir, "--width", "100000"}, ExitUsage, "size 100000x720 outside 64..4096"},
	} {
		code, out, errs := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("facegate %v: exit %d, want %d; output %q lacks %q", tc.args, code, tc.code, out+errs, tc.want)
		}
	}
	needModels(t)
	labels := filepath.Join(dir, "labels.csv")
	if err := os.WriteFile(labels, []byte("path,x,y,w,h\nmissing.jpg,1,2,30,40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := evalDetect(t, "--labels", labels)
	if rep.Faces != 1 || rep.TruePositives != 0 || !strings.Contains(rep.FailedImages["missing.jpg"], "no such file") {
		t.Errorf("missing image: %+v", rep)
	}
}

// TestCrowdProfileTargets holds the crowd profile to issue 13's targets on a synthetic crowd benchmark of 30
// images (seed 2, 1280x720, about 690 faces of 8-64 px): recall >= 90% for faces of 24 px and up, >= 80% at 16-24
// px, >= 60% at 12-16 px, precision >= 95%. Measured: 0.98, 0.89, 0.65 and 0.98 (docs/accuracy.md has the 50-image
// set of make eval-detect). It runs without the race detector (Makefile SLOW): about 15 s on two cores.
func TestCrowdProfileTargets(t *testing.T) {
	needModels(t)
	lfw := sharedPath(t, "lfw/images_deepfunneled")
	bgs := sharedPath(t, "dlib_examples/detection")
	dir := t.TempDir()
	code, out, errs := run(t, "eval", "synth-crowd", "--out", dir, "--images", "30", "--seed", "2", "--lfw", lfw, "--backgrounds", bgs)
	if code != ExitOK {
		t.Fatalf("synth-crowd: exit %d: %s%s", code, out, errs)
	}
	rep := evalDetect(t, "--labels", filepath.Join(dir, "labels.csv"), "--profile", "crowd")
	t.Logf("crowd profile: %d faces, recall %.3f precision %.3f AP %.3f; by height %+v", rep.Faces, rep.Recall, rep.Precision, rep.AP, rep.ByHeight)
	recall := func(buckets ...string) (float64, int) {
		faces, found := 0, 0
		for _, b := range rep.ByHeight {
			if slices.Contains(buckets, b.Bucket) {
				faces, found = faces+b.Faces, found+b.Found
			}
		}
		if faces == 0 {
			return 0, 0
		}
		return float64(found) / float64(faces), faces
	}
	for _, c := range []struct {
		buckets []string
		min     float64
	}{{[]string{"24-40", "40-80", ">80"}, 0.90}, {[]string{"16-24"}, 0.80}, {[]string{"12-16"}, 0.60}} {
		r, n := recall(c.buckets...)
		if n < 50 {
			t.Errorf("%v: only %d faces; the benchmark is too small to hold the target", c.buckets, n)
		}
		if r < c.min {
			t.Errorf("recall at %v px: %.3f, want >= %.2f", c.buckets, r, c.min)
		}
	}
	if rep.Precision < 0.95 {
		t.Errorf("precision %.3f, want >= 0.95", rep.Precision)
	}
}
