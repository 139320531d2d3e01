package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// crowd is a real crowd: sample5 (five people) scaled down k times and repeated k x k, so 5·k² faces about
// 1/k of their original height (k = 5: 125 faces 42..60 px high in 1920x1395).
func crowd(t testing.TB, k int) *imgio.Image {
	t.Helper()
	g := npmImage(t, "sample5.jpg")
	small := resize(g, g.W/k, g.H/k)
	canvas := imgio.NewImage(small.W*k, small.H*k)
	for gy := range k {
		for gx := range k {
			for y := range small.H {
				row := ((gy*small.H+y)*canvas.W + gx*small.W) * 3
				copy(canvas.Pix[row:row+small.W*3], small.Pix[y*small.W*3:(y+1)*small.W*3])
			}
		}
	}
	return canvas
}

// TestAttackMinFaceFloorAndBudget replays issue 12's attack on detection: min face 1 px, which planned 4,521
// detector runs for a 640x480 image. It is refused now (ErrMinFaceTooSmall); at the floor, a tiling that would
// exceed MaxDetectorRuns searches the smallest face that fits instead and the Report says so.
func TestAttackMinFaceFloorAndBudget(t *testing.T) {
	e := testEngine(t)
	img, _, err := imgio.Decode(oneFace640(t), imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Analyze(t.Context(), img, engine.Options{MinFaceSize: 1}); !errors.Is(err, engine.ErrMinFaceTooSmall) {
		t.Fatalf("min face 1: %v, want ErrMinFaceTooSmall", err)
	}
	var rep engine.Report
	faces, err := e.Analyze(t.Context(), img, engine.Options{MinFaceSize: engine.MinFaceFloor, Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MinFaceUsed != engine.MinFaceFloor || rep.DetectorRuns > 2*engine.DefaultMaxDetectorRuns || len(faces) != 1 {
		t.Errorf("640x480 at the floor: %+v, %d faces; want the floor searched as asked, one face", rep, len(faces))
	}
	rep = engine.Report{}
	faces, err = e.Analyze(t.Context(), img, engine.Options{MinFaceSize: engine.MinFaceFloor, MaxDetectorRuns: 10, Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	// 10 windows fit 640x480 from 20 px faces up (35 are needed for 10 px).
	if rep.MinFaceUsed != 20 || rep.DetectorRuns > 20 || len(faces) != 1 {
		t.Errorf("budget of 10 runs: %+v, %d faces; want 20 px searched in at most 10+10 runs, the face found", rep, len(faces))
	}
}

// TestAttackCancelStopsAnalyze replays a client that leaves while its expensive request runs: a 1920x1080
// frame searched down to the floor (287 detector windows, seconds of work) stops within about one model call
// of its context ending, whether cancelled or past its deadline.
func TestAttackCancelStopsAnalyze(t *testing.T) {
	e := testEngine(t)
	frame := resize(npmImage(t, "sample2.jpg"), 1920, 1080)
	opt := engine.Options{MinFaceSize: engine.MinFaceFloor, Embed: true}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.Analyze(ctx, frame, opt)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	err := <-done
	if took := time.Since(cancelled); took > 500*time.Millisecond {
		t.Errorf("Analyze returned %v after its context was cancelled", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Analyze: %v, want context.Canceled (or the image no longer takes 200 ms to analyse)", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Analyze(ctx, frame, opt)
	if took := time.Since(start); took > 800*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Analyze with a 300 ms deadline: %v after %v, want DeadlineExceeded within about 300 ms", err, took)
	}
}

// TestAttackCrowdCappedAndReported replays the crowd of issue 12 (900 faces: 20 s and a 5.6 MB response): in
// a crowd of 125 faces only DefaultMaxFaces are analysed, the largest, and the Report says the image holds more.
func TestAttackCrowdCappedAndReported(t *testing.T) {
	e := testEngine(t)
	img := crowd(t, 5)
	var rep engine.Report
	start := time.Now()
	faces, err := e.Analyze(t.Context(), img, engine.Options{Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("crowd %dx%d: %d faces returned in %v, %+v", img.W, img.H, len(faces), time.Since(start), rep)
	if len(faces) != engine.DefaultMaxFaces || !rep.Truncated || rep.FacesFound < engine.DefaultMaxFaces {
		t.Fatalf("crowd: %d faces, %+v; want %d faces, truncated, at least as many found", len(faces), rep, engine.DefaultMaxFaces)
	}
	if rep.DetectorRuns > 2*engine.DefaultMaxDetectorRuns {
		t.Errorf("crowd: %d detector runs, over twice the budget", rep.DetectorRuns)
	}
	// A cap of 10 keeps the 10 largest of them.
	rep = engine.Report{}
	ten, err := e.Analyze(t.Context(), img, engine.Options{MaxFaces: 10, Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if len(ten) != 10 || !rep.Truncated || rep.FacesFound < 10 {
		t.Fatalf("MaxFaces 10: %d faces, %+v", len(ten), rep)
	}
	for i, f := range ten {
		if _, v := bestMatch(faces[:10], f.Box); v < 0.5 {
			t.Errorf("face %d of the ten (%.0f px) is not among the ten largest of the crowd", i, f.Box.H())
		}
	}
}

// BenchmarkMaxDetectorRuns is the cost of a search that spends the whole detector-run budget: a 1920x1080 frame
// searched down to the floor (287 windows) and issue 12's 6240x6240 image at the floor (raised to 41 px, 289
// windows). docs/performance.md has the figures.
func BenchmarkMaxDetectorRuns(b *testing.B) {
	for _, sz := range [][2]int{{1920, 1080}, {6240, 6240}} {
		img := resize(npmImage(b, "sample2.jpg"), sz[0], sz[1])
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			var rep engine.Report
			for b.Loop() {
				if _, err := testEngine(b).Analyze(b.Context(), img, engine.Options{MinFaceSize: engine.MinFaceFloor, Report: &rep}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rep.DetectorRuns), "detector-runs")
			b.ReportMetric(float64(rep.MinFaceUsed), "min-face-used")
		})
	}
}
