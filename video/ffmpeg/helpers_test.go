package ffmpeg

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

// clipRel is the test video, relative to this package: the repository's checkout has shared/ beside it.
const clipRel = "../../../shared/datasets/face_recognition_examples/video/short_hamilton_clip.mp4"

// waitLimit bounds every wait of the tests: generous, for loaded machines.
const waitLimit = 45 * time.Second

// needFFmpeg skips the test when ffmpeg is not installed (fails it under CI=true).
func needFFmpeg(t testing.TB) {
	t.Helper()
	testenv.FFmpeg(t)
}

// clip returns the path of the test video, skipping the test when ffmpeg or the video is absent.
func clip(t testing.TB) string {
	t.Helper()
	needFFmpeg(t)
	p, err := filepath.Abs(clipRel)
	if err != nil {
		t.Fatal(err)
	}
	return testenv.File(t, p, "test video "+clipRel+" (the shared datasets live beside the repository in ../shared)")
}

// testLogger logs through t at debug level, so that ffmpeg's stderr shows with -v on failure.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a Source whose Run runs in a goroutine.
type running struct {
	*Source
	cancel context.CancelFunc
	done   chan error // Run's result

	mu     sync.Mutex
	states []facegate.StreamState // from OnState
}

// start opens opt and starts Run; the test's cleanup stops it and waits for Run.
func start(t *testing.T, opt Options) *running {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = testLogger(t)
	}
	src, err := Open(opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return run(t, src)
}

// run starts an opened source's Run; the test's cleanup stops it and waits for Run.
func run(t *testing.T, src *Source) *running {
	t.Helper()
	r := &running{Source: src, done: make(chan error, 1)}
	src.OnState(func(st facegate.StreamStatus) {
		r.mu.Lock()
		r.states = append(r.states, st.State)
		r.mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})
	return r
}

// wait waits for Run to return (once) and checks it returned nil.
func (r *running) wait(t testing.TB) {
	t.Helper()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return within %v", waitLimit)
	}
}

// stateLog returns the states reported to OnState so far.
func (r *running) stateLog() []facegate.StreamState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]facegate.StreamState(nil), r.states...)
}

// next returns the next frame, failing the test after waitLimit.
func (r *running) next(t testing.TB) (Frame, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	f, err := r.Next(ctx)
	if err == context.DeadlineExceeded {
		t.Fatalf("no frame within %v; status %+v", waitLimit, r.Status())
	}
	return f, err
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLimit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ffmpegChildren lists the ffmpeg processes whose parent is this test process (zombies included).
func ffmpegChildren(t testing.TB) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == os.Getpid() && comm == "ffmpeg" {
			pids = append(pids, pid)
		}
	}
	return pids
}

var (
	jpegOnce   sync.Once
	jpegFrames [][]byte
	jpegErr    error
)

// mjpegFrames returns JPEG frames of the test clip, 320x180, decoded once with this package.
func mjpegFrames(t *testing.T) [][]byte {
	t.Helper()
	path := clip(t)
	jpegOnce.Do(func() {
		src, err := Open(Options{Source: path, FPS: 10, MaxWidth: 320, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			jpegErr = err
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()
		defer func() { cancel(); <-done }()
		for len(jpegFrames) < 30 {
			f, err := src.Next(ctx)
			if err != nil {
				jpegErr = fmt.Errorf("decoding the clip: %w", err)
				return
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, f.Img.ToStd(), &jpeg.Options{Quality: 80}); err != nil {
				jpegErr = err
				return
			}
			jpegFrames = append(jpegFrames, buf.Bytes())
		}
	})
	if jpegErr != nil {
		t.Fatalf("preparing MJPEG frames: %v", jpegErr)
	}
	return jpegFrames
}

// mjpegServer serves frames as multipart/x-mixed-replace (an MJPEG camera).
type mjpegServer struct {
	frames   [][]byte
	interval time.Duration
	perConn  int  // abort every connection after this many frames; 0 = never
	hang     bool // send the response header, then nothing
	conns    atomic.Int64
}

const boundary = "facegateframe"

func (m *mjpegServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.conns.Add(1)
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundary)
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	if m.hang {
		<-r.Context().Done()
		return
	}
	tick := time.NewTicker(m.interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		if m.perConn > 0 && i == m.perConn {
			panic(http.ErrAbortHandler) // drop the connection mid-stream, as a failing camera would
		}
		b := m.frames[i%len(m.frames)]
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", boundary, len(b)); err != nil {
			return
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		if _, err := io.WriteString(w, "\r\n"); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// serve starts an HTTP server for h, closed at the end of the test (after the Sources, which are stopped by
// cleanups registered later).
func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

// drain reads frames until io.EOF and returns them.
func (r *running) drain(t *testing.T) []Frame {
	t.Helper()
	var frames []Frame
	for {
		f, err := r.next(t)
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		frames = append(frames, f)
	}
}
