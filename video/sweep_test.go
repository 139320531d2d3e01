package video_test

import (
	"context"
	"image/jpeg"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// TestCrowdStreamSweep: a crowd profile stream searches its fine windows in turn (video.CrowdSweepParts) and
// around the faces it tracks. On a 1280x720 clip of a still crowd (36 real faces of about 18 px in one corner of a
// grey frame) every frame from the fifth on finds at least 90% of what a full crowd search of the frame finds, at
// fewer than half its detector runs.
func TestCrowdStreamSweep(t *testing.T) {
	needFFmpeg(t)
	e := testutil.Engine(t)
	frame := imgio.NewImage(1280, 720)
	for i := range frame.Pix {
		frame.Pix[i] = 128
	}
	crowd := testutil.PackedCrowd(t, e, 144, 18)
	for y := range crowd.H {
		copy(frame.Pix[((400+y)*frame.W+900)*3:], crowd.Pix[y*crowd.W*3:(y+1)*crowd.W*3])
	}
	var full engine.Report
	want, err := e.Analyze(t.Context(), frame, engine.Options{Profile: engine.ProfileCrowd, Report: &full})
	if err != nil || len(want) < 30 {
		t.Fatalf("full crowd search: %d faces, %v", len(want), err)
	}
	dir := t.TempDir()
	still := filepath.Join(dir, "crowd.jpg")
	f, err := os.Create(still)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, frame.ToStd(), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	clip := filepath.Join(dir, "crowd.avi")
	if out, err := exec.Command("ffmpeg", "-loglevel", "error", "-loop", "1", "-i", still, "-t", "3", "-r", "5",
		"-c:v", "mjpeg", "-q:v", "2", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	fx := newFixture(t)
	st := fx.stream(t, facegate.Stream{Name: "still crowd", Source: clip, NoRealtime: true, FPS: 5, Profile: "crowd"})
	var mu sync.Mutex
	var frames []video.FrameStats
	p, err := video.New(video.Config{Stream: st, Engine: e, Publish: fx.publish, NoAppearance: true,
		Logger: slog.New(slog.DiscardHandler), OnFrame: func(fs video.FrameStats) {
			mu.Lock()
			frames = append(frames, fs)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(frames) < 10 {
		t.Fatalf("%d frames analysed, want the clip's 15", len(frames))
	}
	for i, fs := range frames {
		t.Logf("frame %d: %d faces (full search %d), %d detector runs (full search %d)", i, fs.Faces, len(want), fs.DetectorRuns, full.DetectorRuns)
		if i < video.CrowdSweepParts {
			continue
		}
		if fs.Faces < len(want)*9/10 {
			t.Errorf("frame %d: %d faces, want at least 90%% of the full search's %d", i, fs.Faces, len(want))
		}
		if fs.DetectorRuns > full.DetectorRuns/2 {
			t.Errorf("frame %d: %d detector runs, want at most half the full search's %d", i, fs.DetectorRuns, full.DetectorRuns)
		}
	}
}
