package ffmpeg

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// TestFileAccess replays an API client probing the server's files through a stream source: with --stream-dirs
// set to one folder, /etc/passwd (readable), /etc/shadow (unreadable), a missing file, the folder itself, a
// symbolic link inside the folder to /etc/passwd, a "../" escape and protocol-like names are all refused with
// one and the same sentence (the source as given aside), so nothing is learnt about what exists; a video
// inside the folder is accepted.
func TestFileAccess(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "door.mp4")
	if err := os.WriteFile(video, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.mp4")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "other.mp4"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	acc := &Access{FileDirs: []string{dir}}
	refused := []struct {
		source string
		acc    *Access
	}{
		{"/etc/passwd", acc},
		{"file:///etc/passwd", acc},
		{"/etc/shadow", acc},
		{filepath.Join(dir, "missing.mp4"), acc},
		{"/nonexistent/clip.mp4", acc},
		{filepath.Join(outside, "other.mp4"), acc},
		{dir, acc},
		{filepath.Join(dir, "link.mp4"), acc},
		{dir + "/../" + filepath.Base(outside) + "/other.mp4", acc},
		{"concat:/etc/passwd|/etc/hosts", acc},
		{"subfile,,start,0,end,100,,:/etc/passwd", acc},
		{video, &Access{}}, // no folder configured: no file source at all
	}
	var first string
	for _, tt := range refused {
		t.Run(tt.source, func(t *testing.T) {
			_, _, err := parseSource(tt.source, tt.acc)
			if err == nil {
				t.Fatal("accepted")
			}
			msg, ok := facegate.UserMessage(err)
			if !ok {
				t.Fatalf("no sentence for the user: %v", err)
			}
			msg = strings.Replace(msg, tt.source, "SOURCE", 1)
			if first == "" {
				first = msg
			}
			if msg != first {
				t.Errorf("message %q differs from %q: it tells the cases apart", msg, first)
			}
			if !strings.Contains(msg, "--stream-dirs") {
				t.Errorf("message %q does not say how to allow files", msg)
			}
		})
	}
	for _, src := range []string{video, "file://" + video} {
		kind, input, err := parseSource(src, acc)
		if err != nil || kind != kindFile || input != "file:"+video {
			t.Errorf("%s inside the folder: %v %q %v", src, kind, input, err)
		}
	}
}

// TestSchemesRefused: schemes other than file, rtsp(s), http(s) and device: never reach ffmpeg, whatever the
// access.
func TestSchemesRefused(t *testing.T) {
	for _, src := range []string{"gopher://h/1", "ftp://h/a.mp4", "concat://a|b", "subfile://x", "data://x", "tcp://127.0.0.1:22", "udp://x:1", "rtmp://h/l"} {
		for _, acc := range []*Access{nil, {FileDirs: []string{"/"}, PrivateNetworks: true}} {
			if _, _, err := parseSource(src, acc); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
				t.Errorf("%s (access %+v): %v, want an unsupported scheme", src, acc, err)
			}
		}
	}
	for _, dev := range []string{"device:/etc/passwd", "device:/dev/sda", "device:/dev/zero", "device:/dev/urandom", "device:/dev/video0/../sda", "device:/dev/video"} {
		if _, _, err := parseSource(dev, &Access{}); err == nil {
			t.Errorf("%s accepted for an API client", dev)
		}
	}
	if _, p, err := parseSource("device:/dev/video2", &Access{}); err != nil || p != "/dev/video2" {
		t.Errorf("device:/dev/video2 for an API client: %q %v", p, err)
	}
}

// TestHTTPRedirectNotFollowed: an HTTP source that redirects to another host, or to another scheme, is not
// followed (the other server sees no request), while a redirect on the same host is.
func TestHTTPRedirectNotFollowed(t *testing.T) {
	needFFmpeg(t)
	var otherHits atomic.Int64
	other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	cam := &mjpegServer{frames: mjpegFrames(t), interval: 50 * time.Millisecond}
	mux := http.NewServeMux()
	mux.Handle("/video", cam)
	mux.Handle("/same", http.RedirectHandler("/video", http.StatusFound))
	mux.Handle("/host", http.RedirectHandler(other+"/video", http.StatusFound))
	mux.Handle("/scheme", http.RedirectHandler("file:///etc/passwd", http.StatusFound))
	mux.Handle("/gopher", http.RedirectHandler("gopher://127.0.0.1:70/", http.StatusFound))
	base := serve(t, mux)
	allow := &Access{PrivateNetworks: true}
	for _, path := range []string{"/host", "/scheme", "/gopher"} {
		t.Run(path, func(t *testing.T) {
			r := start(t, Options{Source: base + path, Access: allow, MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
			waitFor(t, "a reconnect", func() bool { return r.Status().Reconnects >= 1 })
			if st := r.Status(); !strings.Contains(st.LastError, "redirects to another scheme or host are not followed") || st.FramesIn != 0 {
				t.Errorf("status %+v", st)
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	r := start(t, Options{Source: base + "/same", Access: allow})
	if _, err := r.next(t); err != nil {
		t.Fatalf("same-host redirect: %v", err)
	}
}

// TestHTTPPrivateNetworkRefused: without PrivateNetworks an HTTP source on a loopback address, given as an
// address or as a name resolving to one, is refused by Open; and should the name resolve elsewhere at Open and
// to the loopback later (DNS rebinding, replayed by giving the checked source the strict client), the
// connection is refused when dialled. The camera sees no connection.
func TestHTTPPrivateNetworkRefused(t *testing.T) {
	cam := &mjpegServer{frames: [][]byte{{0}}, hang: true}
	base := serve(t, cam)
	port := base[strings.LastIndexByte(base, ':'):]
	for _, src := range []string{base + "/video", "http://localhost" + port + "/video", "http://[::ffff:127.0.0.1]" + port + "/video", "http://169.254.169.254/latest/meta-data/"} {
		t.Run(src, func(t *testing.T) {
			_, err := Open(Options{Source: src, Access: &Access{}})
			if msg, _ := facegate.UserMessage(err); !strings.Contains(msg, "--allow-private-networks") {
				t.Errorf("Open: %v", err)
			}
			if src == "http://169.254.169.254/latest/meta-data/" {
				return
			}
			s, err := Open(Options{Source: src, Access: &Access{PrivateNetworks: true}, MinBackoff: 50 * time.Millisecond,
				MaxBackoff: 100 * time.Millisecond, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			s.client = httpClient(false) // the dial-time guard of a deployment without private networks
			r := run(t, s)
			waitFor(t, "a reconnect", func() bool { return r.Status().Reconnects >= 1 })
			if st := r.Status(); !strings.Contains(st.LastError, "--allow-private-networks") {
				t.Errorf("LastError %q", st.LastError)
			}
		})
	}
	if n := cam.conns.Load(); n != 0 {
		t.Errorf("the camera got %d requests", n)
	}
}

// TestChildEnv: ffmpeg gets only the variables it needs; the server's secrets stay behind. The real child is a
// script run through the same code path as ffmpeg, which writes its environment to a file.
func TestChildEnv(t *testing.T) {
	environ := []string{"FACEGATE_ADMIN_KEY=fg_secret", "PATH=/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY=x", "HOME=/home/fg",
		"LANG=C.UTF-8", "HTTP_PROXY=http://evil", "LD_PRELOAD=/tmp/x.so", "TMPDIR=/tmp"}
	if got, want := childEnv(environ), []string{"PATH=/usr/bin:/bin", "HOME=/home/fg", "TMPDIR=/tmp", "LANG=C.UTF-8"}; !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}

	t.Setenv("FACEGATE_ADMIN_KEY", "fg_admin_secret")
	t.Setenv("FACEGATE_TEMPLATE_KEYS", "k1")
	t.Setenv("SOME_API_KEY", "s3cret")
	out := filepath.Join(t.TempDir(), "env")
	anyFile := filepath.Join(t.TempDir(), "video.mp4")
	if err := os.WriteFile(anyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, Options{Source: anyFile, FFmpeg: fakeFFmpeg(t, "env > "+out+"; printf 'P6\\n1 1\\n255\\nabc'")})
	r.drain(t)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	for _, secret := range []string{"FACEGATE_", "fg_admin_secret", "SOME_API_KEY", "s3cret"} {
		if strings.Contains(env, secret) {
			t.Errorf("the child's environment holds %q:\n%s", secret, env)
		}
	}
	if !strings.Contains(env, "PATH=") {
		t.Errorf("the child has no PATH:\n%s", env)
	}
}

// TestMJPEGType: the response's Content-Type decides the mpjpeg demuxer.
func TestMJPEGType(t *testing.T) {
	for ct, want := range map[string]bool{
		"multipart/x-mixed-replace; boundary=frame": true, "Multipart/X-Mixed-Replace;boundary=x": true,
		"video/mp2t": false, "image/jpeg": false, "": false, "multipart/x-mixed-replace; boundary=\"": false,
	} {
		if got := mjpegType(ct); got != want {
			t.Errorf("mjpegType(%q) = %v, want %v", ct, got, want)
		}
	}
}
