package ffmpeg

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "video.mp4")
	if err := os.WriteFile(file, []byte("not really a video"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opt  Options
		msg  string // the error must contain this
	}{
		{"empty source", Options{}, "empty source"},
		{"missing file", Options{Source: filepath.Join(dir, "missing.mp4")}, "no such file"},
		{"missing file URL", Options{Source: "file://" + filepath.Join(dir, "missing.mp4")}, "no such file"},
		{"directory", Options{Source: dir}, "directory"},
		{"unknown scheme", Options{Source: "ftp://example.com/a.mp4"}, `unsupported scheme "ftp"`},
		{"rtmp", Options{Source: "rtmp://example.com/live"}, `unsupported scheme "rtmp"`},
		{"http without host", Options{Source: "http:///path"}, "no host"},
		{"relative device", Options{Source: "device:video0"}, "device:/dev/videoN"},
		{"password not in error", Options{Source: "udp://admin:secret@cam/"}, "admin:xxxxx@"},
		{"negative FPS", Options{Source: file, FPS: -1}, "FPS"},
		{"FPS too high", Options{Source: file, FPS: 1000}, "FPS"},
		{"FPS NaN", Options{Source: file, FPS: math.NaN()}, "FPS"},
		{"FPS Inf", Options{Source: file, FPS: math.Inf(1)}, "FPS"},
		{"negative MaxWidth", Options{Source: file, MaxWidth: -1}, "MaxWidth"},
		{"negative backoff", Options{Source: file, MinBackoff: -time.Second}, "negative"},
		{"ffmpeg missing", Options{Source: file, FFmpeg: "/nonexistent/ffmpeg"}, "ffmpeg binary not found"},
		{"ffmpeg not in PATH", Options{Source: file, FFmpeg: "no-such-ffmpeg-binary"}, "ffmpeg binary not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Open(tt.opt)
			if err == nil {
				t.Fatalf("Open succeeded (source %+v), want an error", src)
			}
			if !strings.HasPrefix(err.Error(), "ffmpeg: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want the prefix \"ffmpeg: \" and %q", err, tt.msg)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("err = %q shows the password", err)
			}
		})
	}
}

func TestOpenSources(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "-odd:name.mp4")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		source string
		kind   sourceKind
		input  string
	}{
		{file, kindFile, "file:" + file},
		{"-odd:name.mp4", kindFile, "file:" + file},
		{"file://" + file, kindFile, "file:" + file},
		{"file://localhost" + file, kindFile, "file:" + file},
		{"rtsp://user:pw@cam.local:554/stream1", kindRTSP, "rtsp://user:pw@cam.local:554/stream1"},
		{"RTSPS://cam.local/s", kindRTSP, "RTSPS://cam.local/s"},
		{"http://cam.local/video.mjpg", kindHTTP, "http://cam.local/video.mjpg"},
		{"https://cam.local/live.m3u8", kindHTTP, "https://cam.local/live.m3u8"},
		{"device:/dev/video0", kindDevice, "/dev/video0"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			src, err := Open(Options{Source: tt.source})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if src.kind != tt.kind || src.input != tt.input {
				t.Fatalf("kind %v input %q, want %v %q", src.kind, src.input, tt.kind, tt.input)
			}
			st := src.Status()
			if st.State != facegate.StreamStarting || st.FramesIn != 0 {
				t.Fatalf("status before Run: %+v", st)
			}
			if src.opt.FPS != DefaultFPS || src.opt.MinBackoff != DefaultMinBackoff ||
				src.opt.MaxBackoff != DefaultMaxBackoff || src.opt.StallTimeout != DefaultStallTimeout {
				t.Fatalf("defaults not applied: %+v", src.opt)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name   string
		src    *Source
		mjpeg  bool
		want   []string // consecutive arguments that must appear
		absent []string
	}{
		{
			name: "file",
			src:  &Source{kind: kindFile, input: "file:/v.mp4", opt: Options{FPS: 5}},
			want: []string{"-protocol_whitelist", "file", "-i", "file:/v.mp4", "-an", "-sn", "-dn", "-vf", "fps=5", "-pix_fmt", "rgb24", "-f", "image2pipe",
				"-c:v", "ppm", "pipe:1"},
			absent: []string{"-re", "-stream_loop", "-rtsp_transport"},
		},
		{
			name: "file realtime loop scaled",
			src:  &Source{kind: kindFile, input: "file:/v.mp4", opt: Options{FPS: 2.5, MaxWidth: 320, Realtime: true, Loop: true}},
			want: []string{"-re", "-stream_loop", "-1", "-i", "file:/v.mp4", "-an", "-sn", "-dn", "-vf",
				"fps=2.5,scale=w='min(iw,320)':h='if(gt(iw,320),-2,ih)'"},
		},
		{
			name:   "rtsp",
			src:    &Source{kind: kindRTSP, input: "rtsp://cam/s", opt: Options{FPS: 5, Realtime: true, Loop: true}},
			want:   []string{"-protocol_whitelist", "rtsp,rtsps,tcp,tls", "-rtsp_transport", "tcp", "-timeout", "10000000", "-i", "rtsp://cam/s"},
			absent: []string{"-re", "-stream_loop"},
		},
		{
			name: "device",
			src:  &Source{kind: kindDevice, input: "/dev/video0", opt: Options{FPS: 5}},
			want: []string{"-f", "v4l2", "-i", "/dev/video0"},
		},
		{
			name:   "http, not MJPEG",
			src:    &Source{kind: kindHTTP, input: "http://127.0.0.1:1/none", opt: Options{FPS: 5}},
			want:   []string{"-protocol_whitelist", "pipe", "-i", "pipe:0"},
			absent: []string{"mpjpeg", "-use_wallclock_as_timestamps", "http:"},
		},
		{
			name:   "http MJPEG",
			src:    &Source{kind: kindHTTP, input: "http://cam/v.mjpg", opt: Options{FPS: 5}},
			mjpeg:  true,
			want:   []string{"-protocol_whitelist", "pipe", "-f", "mpjpeg", "-use_wallclock_as_timestamps", "1", "-i", "pipe:0"},
			absent: []string{"http:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.src.args(tt.mjpeg)
			joined := "\x00" + strings.Join(args, "\x00") + "\x00"
			if !strings.Contains(joined, "\x00"+strings.Join(tt.want, "\x00")+"\x00") {
				t.Errorf("args %q lack %q", args, tt.want)
			}
			for _, a := range tt.absent {
				if slices.Contains(args, a) || strings.Contains(joined, a) {
					t.Errorf("args %q contain %q", args, a)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rtsp://admin:hunter2@10.0.0.5:554/s", "rtsp://admin:xxxxx@10.0.0.5:554/s"},
		{"[rtsp] method DESCRIBE failed: 401 rtsp://u:p@cam/x and http://a:b@h/", "[rtsp] method DESCRIBE failed: 401 rtsp://u:xxxxx@cam/x and http://a:xxxxx@h/"},
		{"rtsp://user@cam/s", "rtsp://user@cam/s"},
		{"http://cam/a:b@c", "http://cam/a:b@c"},
		{"no url here: a@b", "no url here: a@b"},
		{"http://cam/mjpeg?ch=1&token=abc123&x=2: 403", "http://cam/mjpeg?ch=1&token=xxxxx&x=2: 403"},
		{"rtsp://u:p@cam/live?Password=pw9", "rtsp://u:xxxxx@cam/live?Password=xxxxx"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStderrTail(t *testing.T) {
	tail := newStderrTail(slog.New(slog.DiscardHandler))
	if tail.last() != "" {
		t.Fatal("empty tail has a last line")
	}
	for _, chunk := range []string{
		"[tcp @ 0x557c29790fc0] Connection to tcp://127.0.0.1:1 failed: Conn", "ection refused\n",
		"http://u:pw@127.0.0.1:1/none: Connection refused\r\n",
		"av_interleaved_write_frame(): Broken pipe\n",
		"Error writing trailer of pipe:1: Broken pipe\n\n",
		"Conversion failed!\n",
	} {
		if _, err := tail.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := tail.last(), "http://u:xxxxx@127.0.0.1:1/none: Connection refused"; got != want {
		t.Fatalf("last = %q, want %q", got, want)
	}
	tail.Write([]byte("[h264 @ 0xdeadbeef] error while decoding MB 3 4"))
	tail.flush()
	if got, want := tail.last(), "[h264] error while decoding MB 3 4"; got != want {
		t.Fatalf("last = %q, want %q", got, want)
	}
	for range 3 * stderrLines {
		tail.Write([]byte("line\n"))
	}
	if len(tail.lines) != stderrLines {
		t.Fatalf("%d lines kept, want %d", len(tail.lines), stderrLines)
	}
}

// TestClipToEnd reads the whole clip as fast as possible: 10 s at 5 fps.
func TestClipToEnd(t *testing.T) {
	r := start(t, Options{Source: clip(t), FPS: 5})
	frames := r.drain(t)
	if n := len(frames); n < 48 || n > 52 {
		t.Errorf("%d frames, want 50 ± 2", n)
	}
	for i, f := range frames {
		if f.Img == nil || f.Img.W != 640 || f.Img.H != 360 || len(f.Img.Pix) != 640*360*3 {
			t.Fatalf("frame %d: bad image", i)
		}
		if f.Seq != uint64(i+1) {
			t.Fatalf("frame %d has Seq %d, want %d", i, f.Seq, i+1)
		}
		if i > 0 && f.At.Before(frames[i-1].At) {
			t.Fatalf("frame %d read before frame %d", i, i-1)
		}
	}
	r.wait(t)
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after the end: %v, want io.EOF", err)
	}
	st := r.Status()
	if st.State != facegate.StreamEnded || st.FramesIn != uint64(len(frames)) || st.FramesDropped != 0 ||
		st.Reconnects != 0 || st.Width != 640 || st.Height != 360 || st.LastError != "" || st.FPSIn != 0 {
		t.Errorf("final status %+v", st)
	}
	want := []facegate.StreamState{facegate.StreamStarting, facegate.StreamRunning, facegate.StreamEnded}
	if got := r.stateLog(); !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestMaxWidth(t *testing.T) {
	path := clip(t)
	tests := []struct{ maxWidth, w, h int }{
		{320, 320, 180},
		{200, 200, 112}, // 112.5 rounded to an even height
		{640, 640, 360},
		{1920, 640, 360}, // never upscaled
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			r := start(t, Options{Source: path, FPS: 5, MaxWidth: tt.maxWidth})
			for range 3 {
				f, err := r.next(t)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if f.Img.W != tt.w || f.Img.H != tt.h {
					t.Fatalf("MaxWidth %d: %dx%d, want %dx%d", tt.maxWidth, f.Img.W, f.Img.H, tt.w, tt.h)
				}
			}
			r.cancel()
			r.wait(t)
			if st := r.Status(); st.State != facegate.StreamStopped {
				t.Errorf("state %s after cancel, want stopped", st.State)
			}
		})
	}
}

// TestMJPEG reads an MJPEG camera served over HTTP by the test.
func TestMJPEG(t *testing.T) {
	srv := &mjpegServer{frames: mjpegFrames(t), interval: 50 * time.Millisecond}
	url := serve(t, srv)
	r := start(t, Options{Source: url, FPS: 5})
	var last uint64
	for range 6 {
		f, err := r.next(t)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if f.Img.W != 320 || f.Img.H != 180 {
			t.Fatalf("frame %dx%d, want 320x180", f.Img.W, f.Img.H)
		}
		if f.Seq != last+1 {
			t.Fatalf("Seq %d after %d", f.Seq, last)
		}
		last = f.Seq
	}
	waitFor(t, "FPSIn > 0", func() bool { return r.Status().FPSIn > 0 })
	st := r.Status()
	if st.State != facegate.StreamRunning || st.Width != 320 || st.Height != 180 || st.Reconnects != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestReconnectMidStream: the camera drops every connection after 20 frames; the Source reconnects and the
// frames go on, Seq continuing.
func TestReconnectMidStream(t *testing.T) {
	srv := &mjpegServer{frames: mjpegFrames(t), interval: 50 * time.Millisecond, perConn: 20}
	url := serve(t, srv)
	r := start(t, Options{Source: url, FPS: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	var last uint64
	after := 0 // frames read once a reconnect was seen
	for after < 3 {
		f, err := r.next(t)
		if err != nil {
			t.Fatalf("Next: %v (status %+v)", err, r.Status())
		}
		if f.Img.W != 320 || f.Img.H != 180 {
			t.Fatalf("frame %dx%d, want 320x180", f.Img.W, f.Img.H)
		}
		if f.Seq != last+1 {
			t.Fatalf("Seq %d after %d: no frame may be lost without DropFrames", f.Seq, last)
		}
		last = f.Seq
		if r.Status().Reconnects >= 1 {
			after++
		}
	}
	// At most one frame (the one in the mailbox) predates the reconnect: the others came from the new ffmpeg.
	st := r.Status()
	if st.Reconnects < 1 || st.LastError == "" {
		t.Errorf("status %+v: want a reconnect and a LastError", st)
	}
	states := r.stateLog()
	i := slices.Index(states, facegate.StreamReconnecting)
	if i < 0 || !slices.Contains(states[i:], facegate.StreamRunning) {
		t.Errorf("states %v: want running again after reconnecting", states)
	}
	if srv.conns.Load() < 2 {
		t.Errorf("%d connections, want at least 2", srv.conns.Load())
	}
}

// TestBadURL: nothing listens; the Source keeps trying and says why.
func TestBadURL(t *testing.T) {
	needFFmpeg(t)
	r := start(t, Options{Source: "http://127.0.0.1:1/none", MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	waitFor(t, "two reconnects", func() bool { return r.Status().Reconnects >= 2 })
	st := r.Status()
	if !strings.Contains(strings.ToLower(st.LastError), "refused") {
		t.Errorf("LastError %q, want it to say the connection was refused", st.LastError)
	}
	if st.FramesIn != 0 {
		t.Errorf("FramesIn %d", st.FramesIn)
	}
	if !slices.Contains(r.stateLog(), facegate.StreamReconnecting) {
		t.Errorf("states %v lack reconnecting", r.stateLog())
	}
	r.cancel()
	r.wait(t)
	if st := r.Status(); st.State != facegate.StreamStopped {
		t.Errorf("state %s after cancel, want stopped", st.State)
	}
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after Run: %v, want io.EOF", err)
	}
}

// TestStall: the camera answers and then sends nothing; the watchdog kills ffmpeg and reconnects.
func TestStall(t *testing.T) {
	needFFmpeg(t)
	srv := &mjpegServer{hang: true}
	url := serve(t, srv)
	r := start(t, Options{Source: url, StallTimeout: 500 * time.Millisecond, MinBackoff: 50 * time.Millisecond})
	waitFor(t, "a reconnect", func() bool { return r.Status().Reconnects >= 1 })
	if st := r.Status(); !strings.Contains(st.LastError, "stalled") {
		t.Errorf("LastError %q, want a stall", st.LastError)
	}
}

// TestSlowConsumerIsNoStall: without DropFrames, time spent waiting for the consumer is not a stall.
func TestSlowConsumerIsNoStall(t *testing.T) {
	r := start(t, Options{Source: clip(t), FPS: 5, StallTimeout: 2 * time.Second})
	for i := range 3 {
		f, err := r.next(t)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if f.Seq != uint64(i+1) {
			t.Fatalf("Seq %d, want %d", f.Seq, i+1)
		}
		if i == 0 {
			time.Sleep(3 * time.Second)
		}
	}
	if st := r.Status(); st.Reconnects != 0 || st.LastError != "" {
		t.Errorf("status %+v: the slow consumer was taken for a stall", st)
	}
}

// TestDropFrames: a camera-like source (real time) and a consumer slower than it.
func TestDropFrames(t *testing.T) {
	r := start(t, Options{Source: clip(t), FPS: 10, Realtime: true, DropFrames: true})
	var delivered uint64
	var last uint64
	sawRate := false
	for {
		f, err := r.next(t)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if f.Seq <= last {
			t.Fatalf("Seq %d after %d", f.Seq, last)
		}
		last = f.Seq
		delivered++
		if st := r.Status(); st.State == facegate.StreamRunning && st.FPSIn > 0 {
			sawRate = true
		}
		time.Sleep(300 * time.Millisecond)
	}
	r.wait(t)
	st := r.Status()
	t.Logf("delivered %d, status %+v", delivered, st)
	if st.FramesDropped == 0 {
		t.Errorf("no frame dropped")
	}
	if st.FramesIn != delivered+st.FramesDropped {
		t.Errorf("FramesIn %d != delivered %d + dropped %d", st.FramesIn, delivered, st.FramesDropped)
	}
	if st.State != facegate.StreamEnded {
		t.Errorf("state %s, want ended", st.State)
	}
	if !sawRate {
		t.Errorf("FPSIn never > 0 while running")
	}
}

// TestStopLeavesNoProcess stops Sources mid-stream, with the reader idle or blocked on a full mailbox.
func TestStopLeavesNoProcess(t *testing.T) {
	path := clip(t)
	for _, tt := range []struct {
		name string
		opt  Options
	}{
		{"realtime", Options{Source: path, Realtime: true, DropFrames: true}},
		{"blocked reader", Options{Source: path, FPS: 30}},
		{"looping", Options{Source: path, Loop: true, DropFrames: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, tt.opt)
			if _, err := r.next(t); err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(ffmpegChildren(t)) == 0 {
				t.Fatalf("no ffmpeg child found while running: the check cannot work")
			}
			waitFor(t, "a frame in the mailbox", func() bool { return r.Status().FramesIn >= 2 })
			r.cancel()
			r.wait(t)
			if pids := ffmpegChildren(t); len(pids) != 0 {
				t.Fatalf("ffmpeg processes %v left after Run returned", pids)
			}
			if st := r.Status(); st.State != facegate.StreamStopped {
				t.Errorf("state %s, want stopped", st.State)
			}
			// The frame left in the mailbox, if any, then io.EOF.
			for range 2 {
				_, err := r.Next(context.Background())
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
			}
			t.Fatal("Next did not return io.EOF after Run returned")
		})
	}
}

func TestNextContext(t *testing.T) {
	needFFmpeg(t)
	src, err := Open(Options{Source: "http://127.0.0.1:1/none"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next before Run: %v, want the context's error", err)
	}
}

// fakeFFmpeg writes an executable shell script standing in for ffmpeg (it ignores its arguments).
func fakeFFmpeg(t *testing.T, body string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh; skipping")
	}
	p := filepath.Join(t.TempDir(), "fake-ffmpeg")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFakeFFmpeg drives the Source with scripts that behave like failing or odd ffmpegs.
func TestFakeFFmpeg(t *testing.T) {
	anyFile := filepath.Join(t.TempDir(), "video.mp4")
	if err := os.WriteFile(anyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fast := Options{Source: anyFile, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	for _, tt := range []struct {
		name, script string
		lastError    string // LastError to wait for (substring) while reconnecting
	}{
		{"exit status", "exit 3", "ffmpeg exited: exit status 3"},
		{"stderr line", "echo 'first line' >&2; echo '[rtsp @ 0x5566] boom: 401 Unauthorized' >&2; exit 1", "[rtsp] boom: 401 Unauthorized"},
		{"not PPM", "echo hello", "malformed PPM frame"},
		{"huge frame", "printf 'P6\\n100000 100000\\n255\\n'", "frame too large"},
		{"truncated frame", "printf 'P6\\n4 4\\n255\\nabc'", "reading 4x4 PPM pixels: unexpected EOF"}, // exits 0 mid-frame
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := fast
			opt.FFmpeg = fakeFFmpeg(t, tt.script)
			r := start(t, opt)
			waitFor(t, "LastError "+tt.lastError, func() bool {
				st := r.Status()
				return st.Reconnects >= 1 && strings.Contains(st.LastError, tt.lastError)
			})
		})
	}

	t.Run("size change then end", func(t *testing.T) {
		opt := fast
		opt.FFmpeg = fakeFFmpeg(t, `printf 'P6\n1 1\n255\nabcP6 # two\n2 1 255\nabcdef'`)
		r := start(t, opt)
		frames := r.drain(t)
		if len(frames) != 2 || frames[0].Img.W != 1 || frames[1].Img.W != 2 || string(frames[1].Img.Pix) != "abcdef" {
			t.Fatalf("frames %+v", frames)
		}
		if st := r.Status(); st.State != facegate.StreamEnded || st.Width != 2 || st.Height != 1 {
			t.Fatalf("status %+v", st)
		}
	})

	// The script leaves a child holding the pipe open and exits: the stall watchdog must kill the whole
	// process group, child included. The file is not replayed (it delivered a frame): the Source ends.
	t.Run("process group killed", func(t *testing.T) {
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Skip("no sleep command; skipping")
		}
		pidFile := filepath.Join(t.TempDir(), "pid")
		opt := fast
		opt.StallTimeout = 300 * time.Millisecond
		opt.FFmpeg = fakeFFmpeg(t, `echo $$ > `+pidFile+`; printf 'P6\n1 1\n255\nabc'; `+sleep+` 300 & exit 0`)
		r := start(t, opt)
		frames := r.drain(t)
		r.wait(t)
		st := r.Status()
		if len(frames) != 1 || st.State != facegate.StreamEnded || !strings.Contains(st.LastError, "stalled") {
			t.Fatalf("%d frames, status %+v", len(frames), st)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pgid := strings.TrimSpace(string(b))
		alive := func() []string {
			var out []string
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
				if err != nil {
					continue
				}
				s := string(stat)
				fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
				if len(fields) > 2 && fields[2] == pgid && fields[0] != "Z" {
					out = append(out, s)
				}
			}
			return out
		}
		// SIGKILL is delivered at once, but a loaded machine may take a moment to tear the process down.
		deadline := time.Now().Add(10 * time.Second)
		for len(alive()) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		for _, s := range alive() {
			t.Errorf("a process of the group %s is still alive: %s", pgid, s)
		}
	})
}
