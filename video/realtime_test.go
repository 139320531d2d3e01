package video_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// RealtimeReport is what 'make videobench' writes (docs/video.md quotes it).
type RealtimeReport struct {
	Machine         string  `json:"machine"`
	Source          string  `json:"source"`
	Width           int     `json:"width"`
	Height          int     `json:"height"`
	FPS             float64 `json:"fps_target"`
	GallerySize     int     `json:"gallery_templates"`
	Seconds         float64 `json:"seconds"`
	FramesIn        uint64  `json:"frames_in"`
	FramesAnalysed  uint64  `json:"frames_analysed"`
	FramesDropped   uint64  `json:"frames_dropped"`
	FPSAnalysed     float64 `json:"fps_analysed"`
	FacesPerSecond  float64 `json:"faces_per_second"`
	EmbedsPerSecond float64 `json:"embeddings_per_second"`
	FrameLatencyP50 float64 `json:"frame_latency_p50_ms"`
	FrameLatencyP90 float64 `json:"frame_latency_p90_ms"`
	FrameLatencyP99 float64 `json:"frame_latency_p99_ms"`
	Matches         int     `json:"match_events"`
	MatchLatencyP50 float64 `json:"match_latency_p50_ms"`
	MatchLatencyMax float64 `json:"match_latency_max_ms"`
	// CPUCores is the CPU time of facegate and its ffmpeg child over the wall time (2.0 = both cores busy).
	CPUCores   float64 `json:"cpu_cores"`
	CPUProcess float64 `json:"cpu_cores_facegate"`
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func cpuSeconds(who int) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestRealtime1080p is the real-time benchmark of docs/video.md: the clip scaled to 1920x1080, looped and read at
// its own speed as a camera would deliver it, analysed at 5 fps against a gallery of the six known people plus
// synthetic templates. Opt-in (FACEGATE_VIDEOBENCH=1, 'make videobench'): it runs for a minute.
func TestRealtime1080p(t *testing.T) {
	if os.Getenv("FACEGATE_VIDEOBENCH") == "" {
		t.Skip("set FACEGATE_VIDEOBENCH=1 (make videobench) to run the real-time benchmark")
	}
	needFFmpeg(t)
	src := testutil.Shared(t, clip)
	dur := 60 * time.Second
	if v, err := strconv.Atoi(os.Getenv("FACEGATE_VIDEOBENCH_SECONDS")); err == nil && v > 0 {
		dur = time.Duration(v) * time.Second
	}
	hd := filepath.Join(t.TempDir(), "clip1080.mp4")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", src, "-vf", "scale=1920:1080:flags=bicubic",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-an", hd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making the 1080p clip: %v\n%s", err, out)
	}
	f := newFixture(t, "lin_manuel_miranda", "obama", "biden", "alex_lacamoire", "kit_harington", "rose_leslie")
	// 10,000 synthetic people beside the six real ones: search cost at a realistic gallery size.
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 10000; i++ {
		v := testutil.UnitTemplate(rng, facegate.TemplateDim)
		if err := f.index.Add(f.gallery.ID, fmt.Sprintf("synthetic-%d", i), fmt.Sprintf("sf-%d", i), v); err != nil {
			t.Fatal(err)
		}
	}
	st := f.stream(t, facegate.Stream{Name: "hd", Source: hd, Gallery: f.gallery.ID, FPS: 5, Loop: true})
	var mu sync.Mutex
	var lat []float64
	faces, embeds := 0, 0
	p, err := video.New(video.Config{Stream: st, Engine: testutil.Engine(t), Index: f.index, Store: f.store,
		Publish: f.publish, Logger: slog.New(slog.DiscardHandler),
		OnFrame: func(s video.FrameStats) {
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, float64(s.Latency.Microseconds())/1000)
			faces += s.Faces
			embeds += s.Embeds
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Warm up (first frames pay for lazy allocations), then measure.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(5 * time.Second)
	mu.Lock()
	lat, faces, embeds = lat[:0], 0, 0
	mu.Unlock()
	before := p.Status()
	cpuSelf0, cpuKids0 := cpuSeconds(syscall.RUSAGE_SELF), cpuSeconds(syscall.RUSAGE_CHILDREN)
	matches0 := len(f.byType(facegate.EventMatch))
	start := time.Now()
	time.Sleep(dur)
	after := p.Status()
	wall := time.Since(start).Seconds()
	cpuSelf := cpuSeconds(syscall.RUSAGE_SELF) - cpuSelf0
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// ffmpeg's CPU is counted once it has been waited for (Run returned).
	cpuKids := cpuSeconds(syscall.RUSAGE_CHILDREN) - cpuKids0
	var mlat []float64
	for _, e := range f.byType(facegate.EventMatch)[matches0:] {
		mlat = append(mlat, e.LatencyMS)
	}
	mu.Lock()
	defer mu.Unlock()
	rep := RealtimeReport{
		Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Source:  "short_hamilton_clip.mp4 scaled to 1920x1080 (libx264), looped, read at its own speed", Width: after.Width, Height: after.Height,
		FPS: 5, GallerySize: f.index.Len(f.gallery.ID), Seconds: wall,
		FramesIn: after.FramesIn - before.FramesIn, FramesAnalysed: after.FramesAnalysed - before.FramesAnalysed,
		FramesDropped:  after.FramesDropped - before.FramesDropped,
		FacesPerSecond: float64(faces) / wall, EmbedsPerSecond: float64(embeds) / wall,
		FrameLatencyP50: pct(lat, 0.5), FrameLatencyP90: pct(lat, 0.9), FrameLatencyP99: pct(lat, 0.99),
		Matches: len(mlat), MatchLatencyP50: pct(mlat, 0.5), MatchLatencyMax: pct(mlat, 1),
		CPUCores: (cpuSelf + cpuKids) / wall, CPUProcess: cpuSelf / wall,
	}
	rep.FPSAnalysed = float64(rep.FramesAnalysed) / wall
	b, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", b)
	if out := os.Getenv("FACEGATE_VIDEOBENCH_OUT"); out != "" {
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rep.Width != 1920 || rep.Height != 1080 {
		t.Errorf("frames %dx%d, want 1920x1080", rep.Width, rep.Height)
	}
}
